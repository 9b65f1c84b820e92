"""The rules of a candidate's fields, in one place: the form and the Excel import both use them.

`check_fields` takes raw values (typed in a form or read from a sheet) and returns clean
values with every problem found, each named by its field, so that an import can report all
problems of a row at once.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from ..catalog.models import Major, School
from ..core import clock, idcard
from ..core.excel import plain_text
from ..extensions import db
from .models import CandidateKind, IdType

#: the 56 ethnic groups, as 民族 is filled in on Chinese forms
ETHNICITIES = (
    "汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 傣族 黎族 "
    "傈僳族 佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 撒拉族 "
    "毛南族 仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 京族 塔塔尔族 "
    "独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族"
).split() + ["其他", "外国血统中国籍人士"]
MOBILE = re.compile(r"^1[3-9][0-9]{9}$", re.ASCII)
GENDERS = ("男", "女")

#: field name -> the column header users see (also the labels of the form)
LABELS = {
    "name": "姓名", "id_type": "证件类型", "id_number": "证件号码", "gender": "性别", "ethnicity": "民族",
    "phone": "手机号码", "kind": "考生类型", "major_code": "专业代码", "major_name": "专业名称",
    "class_name": "班级", "student_number": "学号", "enrolment_year": "入学年份",
}
#: fields a school may still change after 信息准确 (name and ID number are locked then)
EDITABLE_WHEN_LOCKED = ("gender", "ethnicity", "phone", "kind", "major_id", "class_name", "student_number",
                        "enrolment_year")


@dataclass
class Checked:
    values: dict[str, Any] = field(default_factory=dict)
    #: (field, message)
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)


class SchoolContext:
    """What checking a school's rows needs, loaded once per form or import."""

    def __init__(self, school: School):
        self.school = school
        self.majors_by_code: dict[str, Major] = {
            m.code.upper(): m for m in db.session.scalars(select(Major).where(Major.school_type == school.type))
        }
        self.declared_major_ids, self.declares_all = _declared_majors(school.id)
        self.today = clock.now().date()


def _declared_majors(school_id: int) -> tuple[set[int], bool]:
    """Majors of the school's approved pilot applications (a 不分专业 line declares them all)."""
    from ..pilots.models import Application, ApplicationLine
    from ..pilots.states import ApplicationState

    rows = db.session.execute(
        select(ApplicationLine.major_id).join(Application)
        .where(Application.school_id == school_id, Application.state == ApplicationState.APPROVED)
    ).scalars().all()
    return {r for r in rows if r is not None}, any(r is None for r in rows)


#: Han characters (the basic block, extension A, compatibility ideographs, the supplementary planes)
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
#: a space beside a Han character or a name dot is no part of a name: 李 丽 is 李丽
_SPACE_IN_NAME = re.compile(rf"(?<=[{_HAN}·]) (?=[{_HAN}·])|(?<=·) | (?=·)")
#: the dots people type between the parts of a name (阿依古丽•买买提): the ID card's is U+00B7
_NAME_DOTS = str.maketrans({"•": "·", "・": "·", "‧": "·", "∙": "·", "⋅": "·", "．": "·"})


def person_name(raw: Any) -> str:
    """A person's name as stored and compared: no control characters, one space at most, none
    beside a Han character (李 丽 is 李丽; John Smith keeps his), the name dot as on ID cards.
    Imports compare a sheet's name with the stored one through this, so that 赵 强 is 赵强."""
    # NFKC: full-width Ｊｏｈｎ is John, a Kangxi radical ⼈ the character 人 it looks like
    name = unicodedata.normalize("NFKC", plain_text(raw).translate(_NAME_DOTS))
    name = " ".join(name.translate(_NAME_DOTS).split())
    return _SPACE_IN_NAME.sub("", name)


def mobile_number(text: str) -> str:
    """A mobile number as stored: typed in groups (139 0000 0000, 139-0000-0000), full-width or
    with +86 in front, it is the same 11 digits. Check the result with MOBILE."""
    digits = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", text or ""))
    # other scripts' digits (١٣٩, ۱۳۹) are the same number; NFKC leaves them as they are
    digits = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in digits)
    return digits[3:] if digits.startswith("+86") else digits


def _text(raw: dict, name: str) -> str:
    return plain_text(raw.get(name))


def check_fields(ctx: SchoolContext, raw: dict[str, Any]) -> Checked:
    """Check one candidate's raw values; return clean values, errors and warnings."""
    out = Checked()
    v = out.values
    name = person_name(raw.get("name"))
    if not name:
        out.errors.append(("name", "姓名不能为空"))
    elif not any(unicodedata.category(ch).startswith("L") for ch in name):
        out.errors.append(("name", f"姓名「{name[:20]}」中没有文字"))
    elif len(name) > 50:
        out.errors.append(("name", "姓名过长（最多 50 个字）"))
    v["name"] = name

    id_type_text = _text(raw, "id_type") or IdType.RESIDENT.value
    if id_type_text in ("身份证", "二代身份证"):
        id_type_text = IdType.RESIDENT.value
    try:
        v["id_type"] = IdType(id_type_text)
    except ValueError:
        out.errors.append(("id_type", f"证件类型「{id_type_text}」无效，应为：{'、'.join(t.value for t in IdType)}"))
        v["id_type"] = None
    _check_id_and_gender(raw, out)

    ethnicity = _text(raw, "ethnicity")
    if ethnicity and not ethnicity.endswith("族") and ethnicity + "族" in ETHNICITIES:
        ethnicity += "族"  # "汉" for "汉族"
    if ethnicity and ethnicity not in ETHNICITIES:
        out.errors.append(("ethnicity", f"民族「{ethnicity}」无效，请填写如「汉族」"))
    v["ethnicity"] = ethnicity

    phone = mobile_number(_text(raw, "phone"))
    if phone and not MOBILE.match(phone):
        out.errors.append(("phone", f"手机号码「{phone}」应为 11 位手机号"))
    v["phone"] = phone

    kind_text = _text(raw, "kind") or CandidateKind.STUDENT.value
    try:
        v["kind"] = CandidateKind(kind_text)
    except ValueError:
        out.errors.append(("kind", f"考生类型「{kind_text}」无效，应为「本校考生」或「社会考生」"))
        v["kind"] = CandidateKind.STUDENT
    _check_student_fields(ctx, raw, out)
    return out


def _check_id_and_gender(raw: dict, out: Checked) -> None:
    v = out.values
    value = raw.get("id_number")
    gender = _text(raw, "gender")
    if gender and gender not in GENDERS:
        out.errors.append(("gender", f"性别「{gender}」无效，应为「男」或「女」"))
        gender = ""
    v["gender"], v["birth_date"] = gender, None
    if isinstance(value, float) or isinstance(value, int) and not isinstance(value, bool):
        # Excel kept only 15 significant digits of an 18-digit number: the digits are gone.
        out.errors.append(("id_number", "证件号码被 Excel 存成了数字，后几位已丢失：请把该列设为「文本」格式后重新输入"))
        v["id_number"] = ""
        return
    number = idcard.normalise(value)
    v["id_number"] = number
    if not number:
        out.errors.append(("id_number", "证件号码不能为空"))
        return
    if v.get("id_type") != IdType.RESIDENT:
        if not re.fullmatch(r"[A-Z0-9]{5,30}", number):
            out.errors.append(("id_number", "证件号码只能包含字母和数字"))
        if not gender:
            out.errors.append(("gender", "请填写性别"))
        return
    try:
        info = idcard.parse(number)
    except idcard.IdCardError as exc:
        out.errors.append(("id_number", str(exc)))
        return
    if gender and gender != info.gender:
        out.errors.append(("gender", f"性别「{gender}」与身份证号码不符（号码显示为{info.gender}）"))
    v["gender"], v["birth_date"] = info.gender, info.birth_date
    birth = raw.get("birth_date")
    if isinstance(birth, date) and birth != info.birth_date:
        out.errors.append(("birth_date", f"出生日期与身份证号码不符（号码显示为 {info.birth_date.isoformat()}）"))


def _check_student_fields(ctx: SchoolContext, raw: dict, out: Checked) -> None:
    v = out.values
    v.update(major_id=None, class_name="", student_number="", enrolment_year=None)
    if v["kind"] != CandidateKind.STUDENT:
        return  # social candidates have no major, class or student number
    code, major_name = _text(raw, "major_code").upper(), _text(raw, "major_name")
    major = ctx.majors_by_code.get(code) if code else None
    if not code and not major_name:
        out.errors.append(("major_code", "本校考生须填写专业代码和专业名称"))
    elif major is None:
        out.errors.append(("major_code", f"专业代码「{code or major_name}」不在{ctx.school.type.value}的专业目录中"))
    elif major_name and major_name != major.name:
        out.errors.append(("major_name", f"专业名称「{major_name}」与专业代码 {major.code} 的名称「{major.name}」不符"))
    else:
        v["major_id"] = major.id
        if not ctx.declares_all and major.id not in ctx.declared_major_ids:
            out.warnings.append(("major_code", f"本校未在已审核通过的试点申报中申报专业「{major.name}」："
                                               "此类学生报考时不能使用指标，可作为社会考生报考"))
    v["class_name"] = _text(raw, "class_name")[:50]
    v["student_number"] = _text(raw, "student_number")[:30]
    year = _text(raw, "enrolment_year")
    if year:
        if not year.isdigit() or not 1990 <= int(year) <= ctx.today.year + 1:
            out.errors.append(("enrolment_year", f"入学年份「{year}」应为 4 位年份"))
        else:
            v["enrolment_year"] = int(year)

