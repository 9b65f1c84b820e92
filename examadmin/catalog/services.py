"""Master data operations: every rule about provinces, schools, majors and certificates."""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ..core import audit, permissions
from ..core.errors import DomainError
from ..core.unique import unique_writes
from ..extensions import db
from .models import (LEVEL_RANK, Certificate, CertificateLevel, City, Level, Major, Province,
                     School, SchoolType)
from .states import CERTIFICATE

PROVINCE_FIELDS = ["code", "name", "authority"]
CITY_FIELDS = ["province_id", "code", "name"]
SCHOOL_FIELDS = ["code", "name", "type", "province_id", "city_id", "address"]
MAJOR_FIELDS = ["school_type", "level", "catalogue_version", "code", "name"]
CERTIFICATE_FIELDS = ["code", "name", "org_name"]


def _clean(value: str | None) -> str:
    return (value or "").strip()


def _unique(model, column, value, current_id, message, field):
    query = select(model.id).where(column == value)
    if current_id is not None:
        query = query.where(model.id != current_id)
    if db.session.scalar(query) is not None:
        raise DomainError(message, field=field)


# ---- provinces and cities -------------------------------------------------------------

def save_province(actor: Any, data: dict, province_id: int | None = None) -> Province:
    """Create or change a province (two-digit division code, unique name)."""
    permissions.require(actor, "catalog.manage_places")
    code, name = _clean(data.get("code")), _clean(data.get("name"))
    if not re.fullmatch(r"\d{2}", code):
        raise DomainError("省份代码应为 2 位数字（行政区划代码前两位）", field="code")
    if not name:
        raise DomainError("请填写省份名称", field="name")

    def check_unique() -> None:
        _unique(Province, Province.code, code, province_id, f"省份代码 {code} 已存在", "code")
        _unique(Province, Province.name, name, province_id, f"省份「{name}」已存在", "name")

    check_unique()
    province = permissions.get_for(actor, Province, province_id) if province_id else Province()
    before = audit.snapshot(province, PROVINCE_FIELDS) if province_id else None
    with unique_writes(check_unique):
        province.code, province.name, province.authority = code, name, _clean(data.get("authority"))
        db.session.add(province)
    audit.record(actor, "province.update" if province_id else "province.create", province,
                 before=before, after=audit.snapshot(province, PROVINCE_FIELDS))
    return province


def save_city(actor: Any, data: dict, city_id: int | None = None) -> City:
    """Create or change a city or district of a province."""
    permissions.require(actor, "catalog.manage_places")
    code, name = _clean(data.get("code")), _clean(data.get("name"))
    province = db.session.get(Province, data.get("province_id") or 0)
    if province is None:
        raise DomainError("请选择所属省份", field="province_id")
    if not re.fullmatch(r"\d{6}", code) or not code.startswith(province.code):
        raise DomainError(f"地市代码应为 6 位数字，并以省份代码 {province.code} 开头", field="code")
    if not name:
        raise DomainError("请填写地市名称", field="name")

    def check_unique() -> None:
        _unique(City, City.code, code, city_id, f"地市代码 {code} 已存在", "code")
        duplicate = select(City.id).where(City.province_id == province.id, City.name == name)
        if city_id:
            duplicate = duplicate.where(City.id != city_id)
        if db.session.scalar(duplicate):
            raise DomainError(f"{province.name}已有「{name}」", field="name")

    check_unique()
    city = permissions.get_for(actor, City, city_id) if city_id else City()
    before = audit.snapshot(city, CITY_FIELDS) if city_id else None
    with unique_writes(check_unique):
        city.province_id, city.code, city.name = province.id, code, name
        db.session.add(city)
    audit.record(actor, "city.update" if city_id else "city.create", city,
                 before=before, after=audit.snapshot(city, CITY_FIELDS))
    return city


# ---- schools ---------------------------------------------------------------------------

def save_school(actor: Any, data: dict, school_id: int | None = None) -> School:
    """Create or change a school: 10-digit code, unique name, type, province and city."""
    permissions.require(actor, "catalog.manage_places")
    code, name = _clean(data.get("code")), _clean(data.get("name"))
    if not re.fullmatch(r"\d{10}", code):
        raise DomainError("学校标识码应为 10 位数字", field="code")
    if not name:
        raise DomainError("请填写院校名称", field="name")
    try:
        school_type = SchoolType(data.get("type"))
    except ValueError:
        raise DomainError("请选择院校类型", field="type")
    province = db.session.get(Province, data.get("province_id") or 0)
    if province is None:
        raise DomainError("请选择所属省份", field="province_id")
    city = db.session.get(City, data.get("city_id")) if data.get("city_id") else None
    if city is not None and city.province_id != province.id:
        raise DomainError(f"「{city.name}」不属于{province.name}", field="city_id")

    def check_unique() -> None:
        _unique(School, School.code, code, school_id, f"学校标识码 {code} 已被使用", "code")
        _unique(School, School.name, name, school_id, f"院校「{name}」已存在", "name")

    check_unique()
    school = permissions.get_for(actor, School, school_id) if school_id else School()
    before = audit.snapshot(school, SCHOOL_FIELDS) if school_id else None
    with unique_writes(check_unique):
        school.code, school.name, school.type = code, name, school_type
        school.province_id, school.city_id = province.id, city.id if city else None
        school.address = _clean(data.get("address"))
        db.session.add(school)
    audit.record(actor, "school.update" if school_id else "school.create", school,
                 before=before, after=audit.snapshot(school, SCHOOL_FIELDS))
    return school


def list_schools(actor: Any, *, q: str = "", province_id: int | None = None, school_type: str = ""):
    """Schools in the actor's scope, filtered, with province and city loaded for the table."""
    permissions.require(actor, "catalog.view")
    query = (permissions.scoped(actor, select(School))
             .options(selectinload(School.province), selectinload(School.city))
             .order_by(School.code))
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(School.name.ilike(like), School.code.like(like)))
    if province_id:
        query = query.where(School.province_id == province_id)
    if school_type:
        query = query.where(School.type == SchoolType(school_type))
    return query


def find_school(code: str) -> School:
    """The school with this 10-digit code (for CLI commands)."""
    school = db.session.scalar(select(School).where(School.code == code.strip()))
    if school is None:
        raise DomainError(f"找不到学校标识码为 {code} 的院校")
    return school


# ---- majors ----------------------------------------------------------------------------

def save_major(actor: Any, data: dict, major_id: int | None = None) -> Major:
    """Create or change one catalogue row; type, edition and code together are unique."""
    permissions.require(actor, "catalog.manage_places")
    values = {f: _clean(data.get(f)) for f in MAJOR_FIELDS}
    for field, label in (("level", "专业层次"), ("catalogue_version", "目录版本"),
                         ("code", "专业代码"), ("name", "专业名称")):
        if not values[field]:
            raise DomainError(f"请填写{label}", field=field)
    try:
        school_type = SchoolType(values["school_type"])
    except ValueError:
        raise DomainError("请选择适用院校类型", field="school_type")

    def check_unique() -> None:
        duplicate = select(Major.id).where(Major.school_type == school_type,
                                           Major.catalogue_version == values["catalogue_version"],
                                           Major.code == values["code"])
        if major_id:
            duplicate = duplicate.where(Major.id != major_id)
        if db.session.scalar(duplicate):
            raise DomainError(f"{school_type.value} {values['catalogue_version']} 版目录中已有专业代码 "
                              f"{values['code']}", field="code")

    check_unique()
    major = permissions.get_for(actor, Major, major_id) if major_id else Major()
    before = audit.snapshot(major, MAJOR_FIELDS) if major_id else None
    with unique_writes(check_unique, field="code"):
        major.school_type = school_type
        major.level, major.catalogue_version = values["level"], values["catalogue_version"]
        major.code, major.name = values["code"], values["name"]
        db.session.add(major)
    audit.record(actor, "major.update" if major_id else "major.create", major,
                 before=before, after=audit.snapshot(major, MAJOR_FIELDS))
    return major


def load_majors_csv(actor: Any, path: str | Path) -> dict[str, int]:
    """Load catalogue rows from a CSV (school_type, major_level, catalogue_version,
    major_code, major_name); rows already present are left as they are."""
    permissions.require(actor, "catalog.manage_places")
    existing = {(m.school_type, m.catalogue_version, m.code) for m in db.session.scalars(select(Major))}
    new_rows, errors = [], []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            try:
                school_type = SchoolType(_clean(row.get("school_type")))
            except ValueError:
                errors.append(f"第 {line_no} 行：院校类型「{row.get('school_type')}」无效")
                continue
            key = (school_type, _clean(row.get("catalogue_version")), _clean(row.get("major_code")))
            if not all(key[1:]) or not _clean(row.get("major_name")):
                errors.append(f"第 {line_no} 行：目录版本、专业代码、专业名称不能为空")
                continue
            if key in existing:
                continue
            existing.add(key)
            new_rows.append({"school_type": school_type, "level": _clean(row.get("major_level")),
                             "catalogue_version": key[1], "code": key[2], "name": _clean(row["major_name"])})
    if errors:
        raise DomainError("专业目录有误，未导入任何数据：" + "；".join(errors[:20]))
    if new_rows:
        db.session.execute(Major.__table__.insert(), [
            {**r, "school_type": r["school_type"].value} for r in new_rows
        ])
    audit.record(actor, "major.load", None, after={"file": Path(path).name, "added": len(new_rows)},
                 entity_type="major")
    return {"added": len(new_rows)}


def majors_for_school_type(school_type: SchoolType) -> list[Major]:
    """The catalogue rows a school of this type may declare (for drop-downs)."""
    return list(db.session.scalars(
        select(Major).where(Major.school_type == school_type).order_by(Major.code)
    ))


def list_majors(actor: Any, *, q: str = "", school_type: str = "", version: str = ""):
    permissions.require(actor, "catalog.view")
    query = permissions.scoped(actor, select(Major)).order_by(Major.school_type, Major.code)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(Major.name.ilike(like), Major.code.ilike(like)))
    if school_type:
        query = query.where(Major.school_type == SchoolType(school_type))
    if version:
        query = query.where(Major.catalogue_version == version)
    return query


# ---- certificates and levels -----------------------------------------------------------

def save_certificate(actor: Any, data: dict, certificate_id: int | None = None) -> Certificate:
    """Create or change a certificate's code, name and owning organisation."""
    permissions.require(actor, "catalog.manage_certificates")
    code, name, org_name = (_clean(data.get(f)) for f in CERTIFICATE_FIELDS)
    if not re.fullmatch(r"[A-Za-z0-9-]{2,20}", code):
        raise DomainError("证书代码为 2-20 位字母、数字或 -", field="code")
    if not name:
        raise DomainError("请填写证书名称", field="name")
    if not org_name:
        raise DomainError("请填写培训评价组织名称", field="org_name")

    def check_unique() -> None:
        _unique(Certificate, Certificate.code, code, certificate_id, f"证书代码 {code} 已存在", "code")
        _unique(Certificate, Certificate.name, name, certificate_id, f"证书「{name}」已存在", "name")

    check_unique()
    certificate = permissions.get_for(actor, Certificate, certificate_id) if certificate_id else Certificate()
    before = audit.snapshot(certificate, CERTIFICATE_FIELDS) if certificate_id else None
    with unique_writes(check_unique):
        certificate.code, certificate.name, certificate.org_name = code, name, org_name
        db.session.add(certificate)
    audit.record(actor, "certificate.update" if certificate_id else "certificate.create", certificate,
                 before=before, after=audit.snapshot(certificate, CERTIFICATE_FIELDS))
    return certificate


def add_level(actor: Any, certificate_id: int, level: Level | str, description: str = "") -> CertificateLevel:
    """Open one more level (初级 / 中级 / 高级) of a certificate."""
    permissions.require(actor, "catalog.manage_certificates")
    certificate = permissions.get_for(actor, Certificate, certificate_id)
    try:
        level = Level(level)
    except ValueError:
        raise DomainError("请选择等级", field="level")

    def check_unique() -> None:
        taken = select(CertificateLevel.id).where(CertificateLevel.certificate_id == certificate.id,
                                                  CertificateLevel.level == level)
        if db.session.scalar(taken):
            raise DomainError(f"{certificate.name}已有{level.value}", field="level")

    check_unique()
    with unique_writes(check_unique, field="level"):
        row = CertificateLevel(certificate=certificate, level=level, rank=LEVEL_RANK[level],
                               description=_clean(description))
        db.session.add(row)
    audit.record(actor, "certificate_level.create", row, after={"certificate": certificate.name,
                                                                "level": level.value})
    return row


def set_certificate_enabled(actor: Any, certificate_id: int, enabled: bool) -> Certificate:
    """Disable a certificate (no new applications) or enable it again."""
    permissions.require(actor, "catalog.manage_certificates")
    certificate = permissions.get_for(actor, Certificate, certificate_id)
    CERTIFICATE.move(certificate, "enable" if enabled else "disable", actor)
    return certificate


def list_certificates(actor: Any):
    permissions.require(actor, "catalog.view")
    return (permissions.scoped(actor, select(Certificate))
            .options(selectinload(Certificate.levels)).order_by(Certificate.code))


def provinces() -> list[Province]:
    return list(db.session.scalars(select(Province).order_by(Province.code)))


def cities(province_id: int | None = None) -> list[City]:
    query = select(City).options(selectinload(City.province)).order_by(City.code)
    if province_id:
        query = query.where(City.province_id == province_id)
    return list(db.session.scalars(query))


# ---- reference data shipped with the app ---------------------------------------------

SOCIAL_PSYCHOLOGY = {
    "code": "SXL-SHXL", "name": "社会心理服务职业技能等级证书",
    "org_name": "社会心理服务职业技能等级证书培训评价组织",
}


def seed_reference_data(actor: Any, data_dir: str | Path) -> dict[str, int]:
    """Provinces, the majors catalogue and the certificate with its three levels; idempotent."""
    permissions.require(actor, "catalog.manage_places")
    data_dir = Path(data_dir)
    added = {"provinces": 0, "majors": 0, "certificates": 0}
    known = {p.code for p in provinces()}
    with open(data_dir / "provinces.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["code"] not in known:
                save_province(actor, row)
                added["provinces"] += 1
    added["majors"] = load_majors_csv(actor, data_dir / "majors.csv")["added"]
    certificate = db.session.scalar(select(Certificate).where(Certificate.code == SOCIAL_PSYCHOLOGY["code"]))
    if certificate is None:
        certificate = save_certificate(actor, SOCIAL_PSYCHOLOGY)
        added["certificates"] = 1
    for level in Level:
        if not any(existing.level == level for existing in certificate.levels):
            add_level(actor, certificate.id, level)
    return added
