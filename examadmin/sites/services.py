"""Exam-site operations: application by a school, review by the org, and the one check
later areas ask before they put rooms or registrations on a site."""
from __future__ import annotations

import re
from typing import Any, Callable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from ..catalog.models import Certificate, CertificateLevel, School
from ..catalog.states import CertificateState
from ..core import audit, clock, permissions
from ..core.errors import DomainError
from ..core.locks import lock_row
from ..core.unique import unique_writes
from ..extensions import db
from .models import FACILITIES, REQUIRED_FOR_COMPUTER_EXAMS, ExamSite
from .states import EXAM_SITE, SiteState

SITE_FIELDS = ["name", "address", "contact_name", "contact_phone", "computer_rooms", "seats",
               *FACILITIES.keys()]
#: a mobile number or a landline with area code (and optional extension)
PHONE_RE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$")
MAX_REASON = 500

#: Functions site -> [{"plan_id", "plan", "registrations", "rooms"}]: what plans whose exam is not
#: over still have at the site (the registrations area registers one). Asked before a disable.
DISABLE_IMPACT: list[Callable[[ExamSite], list[dict[str, Any]]]] = []


def _clean(value: Any) -> str:
    return str(value or "").strip()


def _int(data: dict, field: str, label: str, minimum: int, maximum: int) -> int:
    raw = data.get(field)
    try:
        value = int(raw) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        value = None
    if value is None:
        raise DomainError(f"请填写{label}（整数）", field=field)
    if not minimum <= value <= maximum:
        raise DomainError(f"{label}应在 {minimum} 到 {maximum} 之间", field=field)
    return value


def site_name(school: School, level: CertificateLevel) -> str:
    """The generated name: school name + certificate name (without 职业技能等级证书) + level."""
    certificate = level.certificate.name.removesuffix("职业技能等级证书")
    return f"{school.name}{certificate}{level.level.value}"


def computer_exam_required(level: CertificateLevel) -> bool:
    """True unless the level has subjects and none of them is a computer-based exam."""
    from ..exams.models import ExamMode, Subject

    modes = set(db.session.scalars(select(Subject.mode).where(Subject.certificate_level_id == level.id)))
    return not modes or ExamMode.COMPUTER in modes


def _validated(data: dict, level: CertificateLevel) -> dict[str, Any]:
    """The cleaned values of an application, or a DomainError naming the first bad field."""
    values: dict[str, Any] = {}
    for field, label, limit in (("address", "站点地址", 200), ("contact_name", "联系人", 40)):
        values[field] = _clean(data.get(field))
        if not values[field]:
            raise DomainError(f"请填写{label}", field=field)
        if len(values[field]) > limit:
            raise DomainError(f"{label}不能超过 {limit} 个字", field=field)
    phone = _clean(data.get("contact_phone")).replace(" ", "")
    if not PHONE_RE.match(phone):
        raise DomainError("联系电话应为 11 位手机号或带区号的固定电话（如 023-12345678）", field="contact_phone")
    values["contact_phone"] = phone
    values["computer_rooms"] = _int(data, "computer_rooms", "计算机机房数量", 0, 500)
    values["seats"] = _int(data, "seats", "考位总数", 1, 100000)
    for field in FACILITIES:
        values[field] = bool(data.get(field))
    if computer_exam_required(level):
        missing = [f for f in REQUIRED_FOR_COMPUTER_EXAMS if not values[f]]
        if missing:
            names = "、".join(FACILITIES[f] for f in missing)
            raise DomainError(f"{level.label}有机考科目，站点必须具备：{names}（缺少{names}）", field=missing[0])
        if values["computer_rooms"] < 1:
            raise DomainError(f"{level.label}有机考科目，计算机机房数量至少为 1", field="computer_rooms")
    return values


def apply_site(actor: Any, data: dict) -> ExamSite:
    """A school applies for an exam site for one certificate level (state 待审核)."""
    permissions.require(actor, "sites.apply")
    school = permissions.get_for(actor, School, actor.school_id)
    level = db.session.get(CertificateLevel, data.get("certificate_level_id") or 0)
    if level is None:
        raise DomainError("请选择证书与等级", field="certificate_level_id")
    if not level.certificate.enabled:
        raise DomainError(f"证书「{level.certificate.name}」已停用，不能申报考核站点", field="certificate_level_id")

    def check_not_applied() -> None:
        existing = db.session.scalar(select(ExamSite).where(ExamSite.school_id == school.id,
                                                            ExamSite.certificate_level_id == level.id))
        if existing is not None:
            raise DomainError(f"本校已申报过{level.label}的考核站点（{existing.state.value}），"
                              "请在原申报上修改", field="certificate_level_id")

    check_not_applied()
    site = ExamSite(school=school, certificate_level=level, name=site_name(school, level),
                    state=SiteState.PENDING, submitted_at=clock.now(), **_validated(data, level))
    with unique_writes(check_not_applied, field="certificate_level_id"):  # a second request got there first
        db.session.add(site)
    audit.record(actor, "exam_site.apply", site, after=audit.snapshot(site, SITE_FIELDS + ["state"]))
    return site


def update_site(actor: Any, site_id: int, data: dict) -> ExamSite:
    """The school changes its application while it waits or after a rejection; a rejected
    application is resubmitted by the same save (the same record, back to 待审核)."""
    permissions.require(actor, "sites.apply")
    site = permissions.get_for(actor, ExamSite, site_id)
    if site.state not in (SiteState.PENDING, SiteState.REJECTED):
        raise DomainError(f"站点状态为「{site.state.value}」，不能再修改申报内容；如需变更请联系评价组织")
    before = audit.snapshot(site, SITE_FIELDS)
    for field, value in _validated(data, site.certificate_level).items():
        setattr(site, field, value)
    site.name = site_name(site.school, site.certificate_level)
    db.session.flush()
    audit.record(actor, "exam_site.update", site, before=before, after=audit.snapshot(site, SITE_FIELDS))
    if site.state == SiteState.REJECTED:
        EXAM_SITE.move(site, "resubmit", actor)
        site.submitted_at = clock.now()
    return site


def _decided(actor: Any, site_id: int) -> ExamSite:
    """The site, locked: two decisions at once (two tabs, two staff) make one move, the other
    sees its state; a registration checking the site waits for the decision (shared lock)."""
    return lock_row(permissions.get_for(actor, ExamSite, site_id))


def approve_site(actor: Any, site_id: int) -> ExamSite:
    """The org approves a waiting application; the site may then host rooms and registrations."""
    permissions.require(actor, "sites.review")
    site = _decided(actor, site_id)
    EXAM_SITE.move(site, "approve", actor)
    site.reason, site.reviewed_at = "", clock.now()
    return site


def _reason(reason: str | None, label: str) -> str:
    reason = _clean(reason)
    if not reason:
        raise DomainError(f"请填写{label}原因", field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(f"{label}原因不能超过 {MAX_REASON} 个字", field="reason")
    return reason


def reject_site(actor: Any, site_id: int, reason: str | None) -> ExamSite:
    """The org rejects a waiting application with a reason the school sees."""
    permissions.require(actor, "sites.review")
    site = _decided(actor, site_id)
    reason = _reason(reason, "驳回")
    EXAM_SITE.move(site, "reject", actor, reason=reason)
    site.reason, site.reviewed_at = reason, clock.now()
    return site


def _impact(site: ExamSite) -> list[dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    for source in DISABLE_IMPACT:
        for row in source(site):
            merged = rows.setdefault(row["plan_id"], {"plan_id": row["plan_id"], "plan": row["plan"],
                                                      "registrations": 0, "rooms": 0})
            merged["registrations"] += row.get("registrations", 0)
            merged["rooms"] += row.get("rooms", 0)
    return list(rows.values())


def disable_impact(actor: Any, site_id: int) -> list[dict[str, Any]]:
    """What disabling the site strands, per plan whose exam is not over: its live registrations
    and rooms there (scheduling refuses a disabled site), for the org's confirmation."""
    permissions.require(actor, "sites.review")
    return _impact(permissions.get_for(actor, ExamSite, site_id))


def disable_site(actor: Any, site_id: int, reason: str | None) -> ExamSite:
    """The org disables an approved site: no new rooms, registrations or scheduling until
    enabled. It may go ahead with live registrations there; the audit keeps what it stranded."""
    permissions.require(actor, "sites.review")
    site = _decided(actor, site_id)
    reason = _reason(reason, "停用")
    impact = _impact(site)
    EXAM_SITE.move(site, "disable", actor, reason=reason)
    site.reason = reason
    if impact:
        audit.record(actor, "exam_site.disable_impact", site, after={
            "stranded": "；".join(f"{row['plan']}：报考 {row['registrations']} 人，考场 {row['rooms']} 个"
                                  for row in impact)})
    return site


def enable_site(actor: Any, site_id: int) -> ExamSite:
    """The org enables a disabled site again."""
    permissions.require(actor, "sites.review")
    site = _decided(actor, site_id)
    EXAM_SITE.move(site, "enable", actor)
    site.reason = ""
    return site


def require_usable_site(site: ExamSite, purpose: str = "使用") -> ExamSite:
    """Refuse unless the site is approved and enabled (for rooms, registrations, ...)."""
    if not site.usable:
        raise DomainError(f"考核站点「{site.name}」当前状态为「{site.state.value}」，"
                          f"只有审核通过且未停用的站点才能{purpose}", field="site_id")
    return site


def get_site(actor: Any, site_id: int) -> ExamSite:
    permissions.require(actor, "sites.view")
    return permissions.get_for(actor, ExamSite, site_id)


def list_sites(actor: Any, *, state: str = "", province_id: int | None = None,
               certificate_level_id: int | None = None, q: str = ""):
    """Sites in the actor's scope (the org's review queue), newest application first."""
    permissions.require(actor, "sites.view")
    query = (permissions.scoped(actor, select(ExamSite))
             .join(ExamSite.school)
             .options(joinedload(ExamSite.school).joinedload(School.province),
                      joinedload(ExamSite.certificate_level).joinedload(CertificateLevel.certificate))
             .order_by(ExamSite.submitted_at.desc(), ExamSite.id.desc()))
    if state:
        try:
            query = query.where(ExamSite.state == SiteState(state))
        except ValueError:
            raise DomainError("状态筛选无效", field="state")
    if province_id:
        query = query.where(School.province_id == province_id)
    if certificate_level_id:
        query = query.where(ExamSite.certificate_level_id == certificate_level_id)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(ExamSite.name.ilike(like), School.code.like(like)))
    return query


def count_by_state(actor: Any) -> dict[SiteState, int]:
    """How many sites of the actor's scope are in each state (one query, for the tabs)."""
    permissions.require(actor, "sites.view")
    rows = db.session.execute(permissions.scoped(
        actor, select(ExamSite.state, func.count(ExamSite.id)).group_by(ExamSite.state), ExamSite))
    counts = dict.fromkeys(SiteState, 0)
    counts.update({state: n for state, n in rows})
    return counts


def usable_sites(actor: Any, certificate_id: int | None = None) -> list[ExamSite]:
    """The approved, enabled sites of the actor's scope (for choosing a room's site)."""
    permissions.require(actor, "sites.view")
    query = (permissions.scoped(actor, select(ExamSite))
             .join(ExamSite.certificate_level)
             .options(joinedload(ExamSite.certificate_level).joinedload(CertificateLevel.certificate))
             .where(ExamSite.state == SiteState.APPROVED)
             .order_by(CertificateLevel.rank, ExamSite.name))
    if certificate_id:
        query = query.where(CertificateLevel.certificate_id == certificate_id)
    return list(db.session.scalars(query))


def levels_open_for_application() -> list[CertificateLevel]:
    """Levels of enabled certificates (the choices of a new application)."""
    return list(db.session.scalars(
        select(CertificateLevel).join(CertificateLevel.certificate)
        .options(joinedload(CertificateLevel.certificate))
        .where(Certificate.state == CertificateState.ENABLED)
        .order_by(Certificate.code, CertificateLevel.rank)))
