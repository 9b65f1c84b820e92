"""The hours registering for a level asks (报考学时要求), set by the org per certificate level, and
the registration rule that checks them: the person's verified 督导 and 实践 hours against the
level's minimums; mode 拒绝 refuses naming what is missing, 提醒 registers and warns."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..catalog.models import Certificate, CertificateLevel, Level
from ..core import audit, permissions
from ..core.errors import DomainError
from ..extensions import db
from ..registrations import services as registration_services
from ..registrations.services import Eligibility
from .models import DEFAULT_REQUIREMENTS, HoursKind, HoursRecord, HoursRequirement, RequirementMode
from .services import counting_clause
from .states import HoursState

#: a bound on what the org may type (the standard asks at most 250)
MAX_HOURS = 10000


@dataclass
class Requirement:
    level: CertificateLevel
    min_supervision: int
    min_practice: int
    mode: RequirementMode
    #: False while the level uses the standard's defaults (no row saved yet)
    saved: bool = False

    @property
    def any(self) -> bool:
        return self.min_supervision > 0 or self.min_practice > 0


def _default(level: CertificateLevel) -> Requirement:
    supervision, practice = DEFAULT_REQUIREMENTS.get(level.level, (0, 0))
    return Requirement(level, supervision, practice, RequirementMode.REFUSE)


def standard_of(level: CertificateLevel) -> Requirement:
    """The standard's requirement of a level (what an empty figure means)."""
    return _default(level)


def requirement_for(level: CertificateLevel) -> Requirement:
    """The level's requirement: the org's saved one, else the standard's default (初级: none)."""
    row = db.session.scalar(select(HoursRequirement).where(HoursRequirement.certificate_level_id == level.id))
    if row is None:
        return _default(level)
    return Requirement(level, row.min_supervision, row.min_practice, row.mode, True)


def list_requirements(actor: Any) -> list[Requirement]:
    """Every level of every certificate with its requirement, for the org's settings page."""
    permissions.require(actor, "hours.requirements")
    levels = db.session.scalars(select(CertificateLevel).join(Certificate)
                                .options(joinedload(CertificateLevel.certificate))
                                .order_by(Certificate.id, CertificateLevel.rank)).all()
    rows = {r.certificate_level_id: r for r in db.session.scalars(select(HoursRequirement))}
    found = []
    for level in levels:
        row = rows.get(level.id)
        found.append(_default(level) if row is None else
                     Requirement(level, row.min_supervision, row.min_practice, row.mode, True))
    return found


def _whole_hours(raw: Any, level: CertificateLevel, kind: str, field: str, default: int) -> int | None:
    """A whole number of hours 0..MAX_HOURS, or None when left empty (the standard's default)."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 6 or int(text) > MAX_HOURS:
        raise DomainError(f"{level.label}的{kind}学时要求「{text[:20]}」无效：请填写 0 到 {MAX_HOURS} 之间的整数小时数"
                          f"（不带小数、单位或负号；0 表示不要求），留空则按证书标准（{default} 小时）", field=field)
    return int(text)


def save_requirement(actor: Any, level_id: Any, min_supervision: Any, min_practice: Any, mode: Any) -> Requirement:
    """The org sets a level's minimum verified supervision and practice hours and the mode.

    An empty figure means the standard's default for that kind (中级 50/125, 高级 100/250, 初级 0);
    both empty with 拒绝 removes the saved requirement: the level follows the standard again."""
    permissions.require(actor, "hours.requirements")
    level = permissions.get_for(actor, CertificateLevel, level_id)
    standard = _default(level)
    supervision = _whole_hours(min_supervision, level, "督导", "min_supervision", standard.min_supervision)
    practice = _whole_hours(min_practice, level, "实践", "min_practice", standard.min_practice)
    try:
        mode = RequirementMode(str(mode or "").strip())
    except ValueError:
        raise DomainError(f"请选择{level.label}未达要求时的处理方式：拒绝报考或提醒", field="mode") from None
    # The level's row makes two saves take turns (the requirement's own row may not exist yet,
    # and FOR UPDATE locks nothing then): the second finds the first's row and updates it.
    db.session.execute(select(CertificateLevel.id).where(CertificateLevel.id == level.id).with_for_update())
    before = requirement_for(level)
    row = db.session.scalar(select(HoursRequirement).where(HoursRequirement.certificate_level_id == level.id)
                            .with_for_update())
    audit_before = {"level": level.label, "min_supervision": before.min_supervision,
                    "min_practice": before.min_practice, "mode": before.mode.value}
    if supervision is None and practice is None and mode == standard.mode:
        if row is not None:
            audit.record(actor, "hours_requirement.save", row, before=audit_before, after={
                "level": level.label, "min_supervision": standard.min_supervision,
                "min_practice": standard.min_practice, "mode": standard.mode.value, "standard": "按证书标准"})
            db.session.delete(row)
            db.session.flush()
        return standard
    supervision = standard.min_supervision if supervision is None else supervision
    practice = standard.min_practice if practice is None else practice
    if row is None:
        row = HoursRequirement(certificate_level_id=level.id)
        db.session.add(row)
    row.min_supervision, row.min_practice, row.mode = supervision, practice, mode
    row.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "hours_requirement.save", row, before=audit_before, after={
        "level": level.label, "min_supervision": supervision, "min_practice": practice, "mode": mode.value})
    return Requirement(level, supervision, practice, mode, True)


def verified_by_kind(persons: list[tuple], kinds: list[HoursKind]) -> dict[tuple, dict[HoursKind, Decimal]]:
    """(id_type, id_number) -> kind -> verified hours, for many people in a few grouped queries."""
    found: dict[tuple, dict[HoursKind, Decimal]] = {}
    numbers = sorted({number for _, number in persons})
    for start in range(0, len(numbers), 900):  # SQLite's bound-parameter limit
        rows = db.session.execute(
            select(HoursRecord.id_type, HoursRecord.id_number, HoursRecord.kind, func.sum(HoursRecord.hours))
            .where(HoursRecord.id_number.in_(numbers[start:start + 900]), HoursRecord.kind.in_(kinds),
                   HoursRecord.state == HoursState.VERIFIED, counting_clause())
            .group_by(HoursRecord.id_type, HoursRecord.id_number, HoursRecord.kind))
        for id_type, number, kind, total in rows:
            found.setdefault((id_type, number), {})[kind] = Decimal(total)
    return found


def _shown(value: Decimal | int) -> str:
    value = Decimal(value)
    return f"{value:.0f}" if value == value.to_integral_value() else f"{value:.1f}"


def shortfall_message(level: Level, kind_label: str, have: Decimal, need: int) -> str:
    """e.g. 督导学时已核验 20 小时，中级报考要求 50 小时，尚差 30 小时"""
    return (f"{kind_label}学时已核验 {_shown(have)} 小时，{level.value}报考要求 {need} 小时，"
            f"尚差 {_shown(need - have)} 小时")


def shortfalls(plan: Any, certificate_level_id: int, persons: list[tuple]) -> dict[tuple, Eligibility]:
    """The registration rule: those whose verified supervision or practice hours fall short of
    the level's requirement, with the missing hours named (ELIGIBILITY_SOURCES)."""
    level = db.session.get(CertificateLevel, certificate_level_id)
    if level is None or not persons:
        return {}
    requirement = requirement_for(level)
    if not requirement.any:
        return {}
    have = verified_by_kind(persons, [HoursKind.SUPERVISION, HoursKind.PRACTICE])
    refuse = requirement.mode == RequirementMode.REFUSE
    found: dict[tuple, Eligibility] = {}
    for person in set(persons):
        hours = have.get(person, {})
        missing = []
        for kind, need in ((HoursKind.SUPERVISION, requirement.min_supervision),
                           (HoursKind.PRACTICE, requirement.min_practice)):
            got = hours.get(kind, Decimal(0))
            if need and got < need:
                missing.append(shortfall_message(level.level, kind.value, got, need))
        if missing:
            message = "；".join(missing)
            if not refuse:
                message += "（评价组织设置为提醒，仍可报考）"
            found[person] = Eligibility(refuse, message)
    return found


# Registration asks the hours who falls short (an earlier area never imports a later one).
registration_services.ELIGIBILITY_SOURCES.append(shortfalls)
