"""Registering candidates (报考) for a plan's certificate level, and cancelling (DOMAIN.md §6).

Every rule lives in `check_entries`, which the candidate list's 报考 action and the Excel
import both use. Writing is set-based: the quota places of each line are taken in one
conditional UPDATE (`quota.take_places`), the registrations inserted in one INSERT and
their audit records in another, so that 10,000 rows register in about a second.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable, Iterable

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..candidates.models import Candidate, CandidateKind
from ..candidates.states import CandidateState
from ..catalog.models import CertificateLevel, Level, School
from ..core import audit, clock, idcard, permissions
from ..core.audit import AuditLog
from ..core.errors import DomainError
from ..core.locks import lock_row
from ..exams.models import PLAN_ORDER, ExamPlan, ExamSession, Subject
from ..exams.services import plans as plan_services
from ..extensions import db
from ..pilots import quota
from ..pilots.models import Application, ApplicationLine
from ..pilots.states import ApplicationState
from ..sites.models import ExamSite
from ..sites.services import require_usable_site
from ..sites.states import SiteState
from . import lapse
from .models import Registration, RetakeBasis
from .states import LIVE, REGISTRATION, PaymentState, RegistrationState

#: the platform's own warning, shown on the pages and in the refusals it explains
PLATFORM_WARNING = "请确保考生信息准确、考核站点正常开启后，再操作报考"
#: candidates one 报考 action of the list may carry (the import takes a sheet instead)
MAX_SELECTED = 1000
MAX_REASON = 500

audit.ACTION_LABELS.update({
    "registration.create": "报考", "registration.import": "批量导入报考", "registration.cancel": "取消报考",
    "registration.lapse": "逾期未缴费自动放弃", "registration.pay": "确认缴费", "registration.schedule": "排考",
})
audit.ENTITY_LABELS.setdefault("registration", "报考")

#: Functions (plan, certificate_level_id, [(id_type, id_number)]) -> set of (id_type, id_number)
#: of people with a final failed result of that level. The scores area registers one; until
#: then a retake is known only by the school's 是否补考 mark.
RETAKE_SOURCES: list[Callable[[ExamPlan, int, list[tuple]], set[tuple]]] = []

#: Functions (plan, certificate_level_id, [(id_type, id_number)]) -> set of (id_type, id_number)
#: of people who already passed that level (a final result): they are not registered again.
#: The scores area registers one.
PASSED_SOURCES: list[Callable[[ExamPlan, int, list[tuple]], set[tuple]]] = []

#: Functions (plan, certificate_level_id, [(id_type, id_number)]) -> {(id_type, id_number): Eligibility}
#: for the people who fall short of what registering for that level asks (the hours area registers
#: one: verified supervision and practice hours for 中级 and 高级). Those not returned are eligible.
ELIGIBILITY_SOURCES: list[Callable[[ExamPlan, int, list[tuple]], dict[tuple, "Eligibility"]]] = []

#: Functions (actor, registration) called when a scheduled registration is cancelled: the
#: scheduling area registers the one that frees its seats (an earlier area never imports a later one).
ON_CANCEL_SCHEDULED: list[Callable[[Any, Registration], Any]] = []


def plan_year(plan: ExamPlan) -> int:
    """The pilot year whose quota a plan's registrations use: the year its registration opens."""
    return plan.registration_start.year


def _window(plan: ExamPlan) -> str:
    return f"{plan.registration_start:%Y-%m-%d %H:%M} 至 {plan.registration_end:%Y-%m-%d %H:%M}"


def _require_open(plan: ExamPlan, at: datetime | None = None) -> None:
    # A shared lock of the plan until the commit: the fee read next is the one the plan keeps
    # (the org's save of the plan takes it FOR UPDATE and refuses a change once anyone registered).
    lock_row(plan, shared=True)
    if not plan.published:
        raise DomainError(f"考试计划「{plan.name}」尚未发布，不能报考")
    if not plan.registration_open(at):
        raise DomainError(f"不在考试计划「{plan.name}」的报考期间内（报考期间：{_window(plan)}），不能报考")


def _usable(seen: dict[int, bool], site: ExamSite) -> bool:
    """Whether a site may take registrations, read once per request under a shared lock of its
    row: a 停用 at the same moment waits for this registration (and then counts it among what it
    strands) or has happened (and this one is refused)."""
    if site.id not in seen:
        lock_row(site, shared=True)
        seen[site.id] = site.usable
    return seen[site.id]


def plan_levels(plan: ExamPlan) -> dict[Level, Decimal]:
    """The levels a plan holds (it has sessions of them) with their fees."""
    levels = set(db.session.scalars(
        select(CertificateLevel.level).join(Subject, Subject.certificate_level_id == CertificateLevel.id)
        .join(ExamSession, ExamSession.subject_id == Subject.id).where(ExamSession.plan_id == plan.id)))
    return {lv: plan.fee_for(lv) for lv in sorted(levels, key=_rank) if plan.fee_for(lv) is not None}


def level_subjects(plan: ExamPlan, certificate_level_id: int) -> list[ExamSession]:
    """The sessions (and so the subjects) of one level in a plan, in time order."""
    return list(db.session.scalars(
        select(ExamSession).join(Subject).where(ExamSession.plan_id == plan.id,
                                                Subject.certificate_level_id == certificate_level_id)
        .options(joinedload(ExamSession.subject)).order_by(ExamSession.date, ExamSession.start_time)))


def get_plan(actor: Any, plan_id: int) -> ExamPlan:
    permissions.require(actor, "registrations.view")
    return permissions.get_for(actor, ExamPlan, plan_id)


def open_plans(actor: Any) -> list[ExamPlan]:
    """Published plans whose registration window is open now, for the 报考 form."""
    permissions.require(actor, "registrations.view")
    now = clock.now()
    return list(db.session.scalars(permissions.scoped(actor, select(ExamPlan)).where(
        ExamPlan.registration_start <= now, ExamPlan.registration_end >= now).order_by(*PLAN_ORDER)))


def usable_sites(actor: Any, school_id: int | None = None, *,
                 certificate_ids: Iterable[int] | None = None) -> list[ExamSite]:
    """The school's approved, enabled sites (each is for one certificate level); with
    `certificate_ids`, only those of these certificates (the plans' being registered for)."""
    school_id = school_id or actor.school_id
    query = (select(ExamSite).where(ExamSite.school_id == school_id, ExamSite.state == SiteState.APPROVED)
             .options(joinedload(ExamSite.certificate_level).joinedload(CertificateLevel.certificate))
             .order_by(ExamSite.certificate_level_id))
    if certificate_ids is not None:
        query = query.where(ExamSite.certificate_level_id.in_(
            select(CertificateLevel.id).where(CertificateLevel.certificate_id.in_(set(certificate_ids)))))
    return list(db.session.scalars(query))


def lapse_before_registering(plan: ExamPlan, school: School) -> None:
    """Lapse what is overdue before the rules are checked: the plan's unpaid registrations (they
    still block the same person's registration for the level) and every overdue unpaid one of the
    school, whatever its plan, because a quota line covers a year and all plans of that year
    draw on it: a place held past another plan's deadline must not refuse this registration."""
    lapse.lapse_overdue(plan_id=plan.id)
    lapse.lapse_overdue(school_id=school.id)


def _school_of(actor: Any) -> School:
    permissions.require(actor, "registrations.manage")
    school = db.session.get(School, actor.school_id) if actor.school_id else None
    if school is None:
        raise DomainError("只有院校用户可以为本校考生报考")
    return school


def _registration_counts(plan_id: int) -> dict[Level, int]:
    """The plan's registrations per level, in any state: the exam-plan service fixes their fees."""
    rows = db.session.execute(
        select(CertificateLevel.level, func.count()).select_from(Registration)
        .join(CertificateLevel, CertificateLevel.id == Registration.certificate_level_id)
        .where(Registration.plan_id == plan_id).group_by(CertificateLevel.level))
    return {level: count for level, count in rows}


plan_services.REGISTRATION_COUNTS.append(_registration_counts)


# ---- checking -----------------------------------------------------------------------------

@dataclass
class Entry:
    """One candidate to register: from the list's selection or one row of a sheet."""

    candidate: Candidate | None
    site: ExamSite | None
    is_retake: bool = False
    #: the sheet row (None for the list's selection)
    row: int | None = None
    #: problems found while reading the row (unknown ID number, unknown site, ...)
    problems: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Problem:
    row: int | None
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class Eligibility:
    """A shortfall found by an ELIGIBILITY_SOURCES function: refuse the registration, or register
    and warn; `message` names what is missing."""

    refuse: bool
    message: str


@dataclass
class Checked:
    """Entries that passed every rule, ready to write, and the refusals of the others."""

    plan: ExamPlan
    good: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def warnings(self) -> list[Problem]:
        """What the registrations about to be written should tell the user (e.g. hours short, mode 提醒)."""
        return [Problem(item["row"], "证件号码", item["warning"]) for item in self.good if item.get("warning")]


def _who(candidate: Candidate) -> str:
    return f"{candidate.name}（{idcard.mask(candidate.id_number)}）"


def check_entries(actor: Any, school: School, plan: ExamPlan, entries: list[Entry]) -> Checked:
    """Apply every registration rule to every entry; nothing is written."""
    checked = Checked(plan)
    levels = plan_levels(plan)
    year = plan_year(plan)
    persons = [(e.candidate.id_type, e.candidate.id_number) for e in entries if e.candidate is not None]
    existing = _live_registrations(plan.id, persons)
    retakers_by_level: dict[int, set[tuple]] = {}
    passed_by_level: dict[int, set[tuple]] = {}
    eligibility_by_level: dict[int, dict[tuple, Eligibility]] = {}
    lines = _quota_lines(school.id, year)
    seen: dict[tuple, int | str] = {}
    usable: dict[int, bool] = {}
    for entry in entries:
        problems = list(entry.problems)
        c, site = entry.candidate, entry.site

        def refuse(column: str, message: str) -> None:
            problems.append((column, message))

        if c is not None:
            if c.school_id != school.id or c.hidden:
                refuse("证件号码", "本校没有该考生")
            elif c.state != CandidateState.ACCURATE:
                refuse("证件号码", f"{_who(c)}的认证状态为「{c.state.value}」，须为「信息准确」才能报考"
                                  f"（{PLATFORM_WARNING}）")
        if site is not None:
            level = site.certificate_level
            if site.school_id != school.id:
                refuse("考核站点", f"考核站点「{site.name}」不是本校的站点")
            elif not _usable(usable, site):
                try:
                    require_usable_site(site, "报考")
                except DomainError as exc:
                    refuse("考核站点", exc.message)
            elif level.certificate_id != plan.certificate_id:
                refuse("考核站点", f"考核站点「{site.name}」不是考试计划「{plan.name}」的证书的站点")
            elif level.level not in levels:
                refuse("等级", f"考试计划「{plan.name}」没有{level.level.value}的考试"
                              f"（本计划的等级：{'、'.join(lv.value for lv in sorted(levels, key=_rank)) or '无'}）")
        if problems or c is None or site is None:
            _add(checked, entry, c, problems)
            continue
        level_id = site.certificate_level_id
        person = (c.id_type, c.id_number)
        key = (person, level_id)
        if key in seen:
            where = f"第 {seen[key]} 行" if entry.row is not None else "所选考生中"
            refuse("证件号码", f"{_who(c)}在{where}已出现过（同一考生同一等级只能报考一次）")
        else:
            seen[key] = entry.row if entry.row is not None else "list"
        other = existing.get(key)
        if other is not None:
            where = "本校" if other[0] == school.id else "其他院校"
            refuse("证件号码", f"{_who(c)}已在{where}报考本计划的{site.certificate_level.level.value}"
                              f"（{other[1].value}），同一考生同一计划同一等级只能报考一次")
        if level_id not in retakers_by_level:
            retakers_by_level[level_id] = _known_retakers(plan, level_id, persons)
            passed_by_level[level_id] = _known_passers(plan, level_id, persons)
            eligibility_by_level[level_id] = _eligibility(plan, level_id, persons)
        shortfall = eligibility_by_level[level_id].get(person)
        warning = ""
        if shortfall is not None and shortfall.refuse:
            refuse("证件号码", f"{_who(c)}：{shortfall.message}")
        elif shortfall is not None:
            warning = f"{_who(c)}：{shortfall.message}"
        if person in passed_by_level[level_id]:
            refuse("证件号码", f"{_who(c)}已通过{site.certificate_level.level.value}考核（成绩已发布），"
                              "无需再次报考该等级")
        is_retake = entry.is_retake
        basis = RetakeBasis.MARKED if is_retake else None
        if person in retakers_by_level[level_id]:
            is_retake, basis = True, RetakeBasis.RESULT
        line_id = None
        if c.kind == CandidateKind.STUDENT and not is_retake:
            line = _line_for(lines, level_id, c.major_id)
            if c.major_id is None:
                refuse("证件号码", f"{_who(c)}是本校考生但没有填写专业，不能使用指标报考（可作为社会考生报考）")
            elif line is None:
                refuse("证件号码", f"{_who(c)}的专业「{c.major.code} {c.major.name}（{c.major.catalogue_version}版，"
                                  f"{c.major.level}）」在本校 {year} 年{site.certificate_level.level.value}"
                                  "已审核通过的试点申报中没有完全一致的专业（专业代码、版本号、名称、层次须一致），"
                                  "不能使用指标报考（可作为社会考生报考）")
            else:
                line_id = line.id
        if problems:
            _add(checked, entry, c, problems)
            continue
        checked.good.append({
            "row": entry.row, "candidate": c, "site": site, "certificate_level_id": level_id,
            "is_retake": is_retake, "retake_basis": basis, "quota_line_id": line_id,
            "fee": levels[site.certificate_level.level], "warning": warning,
        })
    _check_places(checked, lines)
    return checked


def _rank(level: Level) -> int:
    return list(Level).index(level)


def _add(checked: Checked, entry: Entry, candidate: Candidate | None, problems: list[tuple[str, str]]) -> None:
    for column, message in problems:
        if entry.row is None and candidate is not None and candidate.name not in message:
            message = f"{_who(candidate)}：{message}"
        checked.problems.append(Problem(entry.row, column, message))


def _live_registrations(plan_id: int, persons: list[tuple]) -> dict[tuple, tuple[int, RegistrationState]]:
    """(person, level id) -> (school id, state) of the live registrations of these people in the plan."""
    numbers = {number for _, number in persons}
    found: dict[tuple, tuple[int, RegistrationState]] = {}
    numbers_list = sorted(numbers)
    for start in range(0, len(numbers_list), 900):  # SQLite's bound-parameter limit
        chunk = numbers_list[start:start + 900]
        rows = db.session.execute(select(
            Registration.id_type, Registration.id_number, Registration.certificate_level_id,
            Registration.school_id, Registration.state).where(
            Registration.plan_id == plan_id, Registration.state.in_(LIVE), Registration.id_number.in_(chunk)))
        for id_type, number, level_id, school_id, state in rows:
            found[((id_type, number), level_id)] = (school_id, state)
    return found


def _known_passers(plan: ExamPlan, level_id: int, persons: list[tuple]) -> set[tuple]:
    known: set[tuple] = set()
    for source in PASSED_SOURCES:
        known |= source(plan, level_id, persons)
    return known


def _known_retakers(plan: ExamPlan, level_id: int, persons: list[tuple]) -> set[tuple]:
    known: set[tuple] = set()
    for source in RETAKE_SOURCES:
        known |= source(plan, level_id, persons)
    return known


def _eligibility(plan: ExamPlan, level_id: int, persons: list[tuple]) -> dict[tuple, Eligibility]:
    found: dict[tuple, Eligibility] = {}
    for source in ELIGIBILITY_SOURCES:
        for person, shortfall in source(plan, level_id, persons).items():
            if person not in found or (shortfall.refuse and not found[person].refuse):
                found[person] = shortfall
    return found


def _quota_lines(school_id: int, year: int) -> dict[tuple[int, int | None], ApplicationLine]:
    """(certificate level id, major id or None) -> the approved line of the school's year."""
    rows = db.session.scalars(
        select(ApplicationLine).join(Application)
        .where(Application.school_id == school_id, Application.year == year,
               Application.state == ApplicationState.APPROVED, ApplicationLine.approved.is_not(None))
        .options(joinedload(ApplicationLine.application), joinedload(ApplicationLine.major)))
    return {(line.application.certificate_level_id, line.major_id): line for line in rows}


def _line_for(lines: dict, level_id: int, major_id: int | None) -> ApplicationLine | None:
    """The major's own line (same catalogue row: code, version, name and level), or a 不分专业 line."""
    if major_id is None:
        return None
    return lines.get((level_id, major_id)) or lines.get((level_id, None))


def _check_places(checked: Checked, lines: dict) -> None:
    """Rows beyond a line's remaining places are refused by name, in the order given."""
    by_id = {line.id: line for line in lines.values()}
    wanted: dict[int, list[dict]] = defaultdict(list)
    for item in checked.good:
        if item["quota_line_id"] is not None:
            wanted[item["quota_line_id"]].append(item)
    refused: list[dict] = []
    for line_id, items in wanted.items():
        line = by_id[line_id]
        remaining = (line.approved or 0) - line.used
        if len(items) > remaining:
            refused.extend(items[max(remaining, 0):])
            for item in items[max(remaining, 0):]:
                checked.problems.append(Problem(item["row"], "证件号码", _no_place(item["candidate"], line)))
    if refused:
        ids = {id(item) for item in refused}
        checked.good = [item for item in checked.good if id(item) not in ids]


def _no_place(candidate: Candidate, line: ApplicationLine) -> str:
    return (f"{_who(candidate)}：「{line.major_label}」的指标已用完（批准 {line.approved} 人，"
            f"已使用 {line.used} 人，剩余 {line.remaining} 人），不能以本校考生身份报考（可作为社会考生报考）")


# ---- writing ----------------------------------------------------------------------------------

def _registered_meanwhile(plan_id: int, values: list[dict]) -> list[str]:
    """Names of those among `values` who now hold a live registration of their level in the plan."""
    wanted = {(v["id_type"], v["id_number"], v["certificate_level_id"]): v for v in values}
    rows = db.session.execute(
        select(Registration.id_type, Registration.id_number, Registration.certificate_level_id, Candidate.name)
        .join(Candidate, Candidate.id == Registration.candidate_id)
        .where(Registration.plan_id == plan_id, Registration.state.in_(LIVE),
               Registration.id_number.in_(sorted({v["id_number"] for v in values})))).all()
    return [name for id_type, number, level_id, name in rows if (id_type, number, level_id) in wanted]


def write_checked(actor: Any, school: School, checked: Checked, *, source: str = "") -> list[int]:
    """Take the places line by line, insert the registrations and their audit records in bulk.

    A line that another request emptied in the meantime refuses the rows beyond what it still
    has (by name, in `checked.problems`); the caller decides whether to keep the rest.
    """
    if not checked.good:
        return []
    _take_places(checked)
    if not checked.good:
        return []
    now = clock.now()
    actor_id = getattr(actor, "id", None)
    values = [{
        "plan_id": checked.plan.id, "candidate_id": item["candidate"].id, "school_id": school.id,
        "site_id": item["site"].id, "certificate_level_id": item["certificate_level_id"],
        "id_type": item["candidate"].id_type, "id_number": item["candidate"].id_number,
        "kind": item["candidate"].kind, "is_retake": item["is_retake"], "retake_basis": item["retake_basis"],
        "quota_line_id": item["quota_line_id"], "fee": item["fee"], "state": RegistrationState.UNPAID,
        "cancel_reason": "", "created_at": now, "created_by_id": actor_id,
    } for item in checked.good]
    try:
        with db.session.begin_nested():
            # A plain executemany (RETURNING with ordered rows would go one row per statement
            # on SQLite), then the new ids read back by the live (candidate, level) they hold.
            db.session.execute(insert(Registration.__table__), values)  # Core: 1.8x the ORM's bulk insert
            ids = _new_ids(checked.plan.id, values)
    except IntegrityError:
        # Another request registered one of these people for the same level at the same moment:
        # it has committed, so who it was can be read now and named, as a later request is told.
        who = "、".join(_registered_meanwhile(checked.plan.id, values)[:10]) or "所选考生中有人"
        raise DomainError(f"{who}刚刚已被报考本计划的同一等级（同一考生同一计划同一等级只能报考一次），"
                          "请刷新后重试") from None
    _audit_created(actor, school, checked, ids, now, source)
    return ids


def _new_ids(plan_id: int, values: list[dict]) -> list[int]:
    found: dict[tuple[int, int], int] = {}
    candidate_ids = sorted({v["candidate_id"] for v in values})
    for start in range(0, len(candidate_ids), 900):
        rows = db.session.execute(select(Registration.id, Registration.candidate_id, Registration.certificate_level_id)
                                  .where(Registration.plan_id == plan_id, Registration.state.in_(LIVE),
                                         Registration.candidate_id.in_(candidate_ids[start:start + 900])))
        for reg_id, candidate_id, level_id in rows:
            found[(candidate_id, level_id)] = reg_id
    return [found[(v["candidate_id"], v["certificate_level_id"])] for v in values]


def _take_places(checked: Checked) -> None:
    counts: dict[int, list[dict]] = defaultdict(list)
    for item in checked.good:
        if item["quota_line_id"] is not None:
            counts[item["quota_line_id"]].append(item)
    dropped: set[int] = set()
    for line_id, items in counts.items():
        granted = _take_up_to(line_id, len(items))
        if granted < len(items):
            line = db.session.get(ApplicationLine, line_id)
            db.session.refresh(line)
            for item in items[granted:]:
                checked.problems.append(Problem(item["row"], "证件号码", _no_place(item["candidate"], line)))
                dropped.add(id(item))
    if dropped:
        checked.good = [item for item in checked.good if id(item) not in dropped]


def _take_up_to(line_id: int, count: int) -> int:
    """Take `count` places of a line, or as many as are left: the conditional UPDATE decides."""
    for _ in range(5):
        if quota.take_places(line_id, count):
            return count
        row = db.session.execute(select(ApplicationLine.approved, ApplicationLine.used)
                                 .where(ApplicationLine.id == line_id)).one()
        left = max((row.approved or 0) - row.used, 0)
        if left == 0:
            return 0
        count = min(count, left)
    return 0


def _audit_created(actor, school: School, checked: Checked, ids: list[int], now, source: str) -> None:
    scope = {"school_id": school.id, "city_id": school.city_id, "province_id": school.province_id}
    base = {"at": now, "actor_id": getattr(actor, "id", None), "actor_name": getattr(actor, "name", None) or "系统",
            "actor_role": str(getattr(actor, "role", None) or "system"), "entity_type": "registration",
            "ip": "", "before": None, "action": "registration.create", **scope}
    records = []
    labels = {item["certificate_level_id"]: item["site"].certificate_level.label for item in checked.good}
    for reg_id, item in zip(ids, checked.good):
        c = item["candidate"]
        after = {"plan": checked.plan.name, "site": item["site"].name, "id_number": idcard.mask(c.id_number),
                 "kind": c.kind.value, "is_retake": item["is_retake"], "quota_line_id": item["quota_line_id"],
                 "fee": str(item["fee"]), "state": RegistrationState.UNPAID.value}
        if source:
            after["source"] = source
        if item.get("warning"):  # registered despite a shortfall (提醒): the mark stays in its history
            after["warning"] = item["warning"]
        records.append({**base, "entity_id": reg_id, "after": after,
                        "entity_label": f"{c.name} 报考 {labels[item['certificate_level_id']]}"[:200]})
    if records:
        db.session.execute(insert(AuditLog.__table__), records)


# ---- the list's 报考 action ---------------------------------------------------------------

#: what the 报考 page and the service say when no candidate was ticked
NO_CANDIDATE = "请至少选择一名考生"


def register_candidates(actor: Any, plan_id: int, site_id: int, candidate_ids: Iterable[int],
                        retake_ids: Iterable[int] = (), warnings: list[str] | None = None) -> list[int]:
    """报考 the selected candidates at one site (which fixes the level); all or none. The warnings of
    the registered (e.g. hours short where the level only warns) are appended to `warnings`."""
    school = _school_of(actor)
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    lapse_before_registering(plan, school)
    _require_open(plan)
    site = db.session.get(ExamSite, int(site_id)) if site_id and 0 < int(site_id) < 2**31 else None
    if site is None or site.school_id != school.id:
        raise DomainError("请选择本校的考核站点", field="site_id")
    ids = sorted({int(i) for i in candidate_ids})
    if not ids:
        raise DomainError(NO_CANDIDATE)
    if not all(0 < i < 2**31 for i in ids):
        raise permissions.NotInScope()
    if len(ids) > MAX_SELECTED:
        raise DomainError(f"一次最多报考 {MAX_SELECTED} 名考生；更多考生请用 Excel 批量导入报考")
    retakes = {int(i) for i in retake_ids}
    candidates = {c.id: c for c in db.session.scalars(
        select(Candidate).where(Candidate.id.in_(ids), Candidate.school_id == school.id)
        .options(joinedload(Candidate.major)))}
    entries = []
    for cid in ids:
        entry = Entry(candidates.get(cid), site, cid in retakes)
        if entry.candidate is None:
            raise permissions.NotInScope()
        entries.append(entry)
    checked = check_entries(actor, school, plan, entries)
    if checked.problems:
        raise DomainError("以下考生不能报考，未报考任何考生：" + "；".join(p.message for p in checked.problems))
    ids_written = write_checked(actor, school, checked)
    if checked.problems:  # a place went to another request between the check and the write
        raise DomainError("以下考生不能报考，未报考任何考生：" + "；".join(p.message for p in checked.problems))
    if warnings is not None:
        warnings.extend(p.message for p in checked.warnings)
    return ids_written


# ---- cancelling ---------------------------------------------------------------------------

#: payment states in which an order still counts its registrations (the school withdraws it first)
_OPEN_ORDER = (PaymentState.DRAFT, PaymentState.SUBMITTED, PaymentState.REJECTED)


def order_holding(registration: Registration):
    """The open payment order an unpaid registration sits in, which must be withdrawn before the
    registration can be cancelled; None when there is none (the page then offers 取消报考)."""
    order = registration.payment_order
    if registration.state == RegistrationState.UNPAID and order is not None and order.state in _OPEN_ORDER:
        return order
    return None


def cancel_registration(actor: Any, registration_id: int, reason: str = "") -> Registration:
    """取消报考: before scheduling the school (or the org); after it only the org, with a reason.
    The place goes back to its quota line."""
    permissions.require(actor, "registrations.view")
    registration = permissions.get_for(actor, Registration, registration_id)
    lapse.lapse_overdue(plan_id=registration.plan_id)
    lock_row(registration)
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise DomainError(f"取消原因过长（最多 {MAX_REASON} 个字）", field="reason")
    if registration.state == RegistrationState.SCHEDULED:
        if not permissions.can(actor, "registrations.cancel_scheduled"):
            raise DomainError(f"{registration.candidate.name}的报考已排考，只有评价组织可以取消（须填写原因）")
        if not reason:
            raise DomainError("已排考的报考取消时须填写原因", field="reason")
    elif not (permissions.can(actor, "registrations.manage") or permissions.can(actor, "registrations.cancel_scheduled")):
        raise permissions.ForbiddenAction()
    held = order_holding(registration)
    if held is not None:
        raise DomainError(f"{registration.candidate.name}的报考在缴费订单 {held.reference}（{held.state.value}）中，"
                          "请先撤销该订单再取消报考")
    was_scheduled = registration.state == RegistrationState.SCHEDULED
    REGISTRATION.move(registration, "cancel", actor, reason=reason or None)
    if was_scheduled:
        for hook in ON_CANCEL_SCHEDULED:
            hook(actor, registration)
    registration.cancel_reason = reason
    registration.ended_at = clock.now()
    if registration.quota_line_id is not None:
        quota.give_back_place(registration.quota_line_id)
        registration.quota_line_id = None
    db.session.flush()
    return registration
