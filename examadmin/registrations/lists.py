"""Reading registrations: the lists and figures per plan, level and site, the export, and
what other pages show of them (the candidate list's column, the quota ledger's column).

Pages only read: an unpaid registration past its plan's payment deadline is shown as lapsed
(`lapse.overdue_clause`) whether or not the lapse has been written yet.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import joinedload

from ..candidates.models import Candidate, CandidateKind
from ..catalog.models import CertificateLevel, Level, School
from ..core import idcard, permissions
from ..core.counts import is_wide_scope, wide_scope_cached
from ..core.personal import mask_text
from ..exams.models import PLAN_ORDER, ExamPlan
from ..exams.states import PlanState
from ..extensions import db
from ..pilots.models import ApplicationLine
from ..sites.models import ExamSite
from . import lapse, outcomes, stranded
from .models import Registration
from .services import _rank
from .states import LIVE, RegistrationState


def get_registration(actor: Any, registration_id: int) -> Registration:
    permissions.require(actor, "registrations.view")
    return permissions.get_for(actor, Registration, registration_id)


#: what the lists show as the state: an overdue unpaid registration already counts as lapsed
#: (the job may not have written it yet, and a GET request writes nothing)
def shown_state_clause():
    overdue = lapse.overdue_clause()
    return case((overdue, RegistrationState.LAPSED.value), else_=Registration.state)


def shown_state(registration: Registration) -> RegistrationState:
    if lapse.is_overdue(registration):
        return RegistrationState.LAPSED
    return registration.state


@dataclass
class Filters:
    plan_id: int | None = None
    state: str = ""
    level: str = ""
    site_id: int | None = None
    school_id: int | None = None
    kind: str = ""
    retake: str = ""
    q: str = ""
    #: 学校标识码, for the roles that see many schools
    school_code: str = ""
    #: only registrations stranded at a disabled site (站点已停用的报考; the to-do's link)
    site_disabled: bool = False
    #: only registrations of a level their person passed in another plan (已通过该等级; the to-do's link)
    passed_level: bool = False
    #: not (yet) in a payment order: what the 待缴费的报考 to-do counts
    no_order: bool = False

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond the plan (and a school's own scope) narrows the list: an empty
        list then says 没有符合条件的报考 rather than how to register."""
        return any((self.state, self.level, self.site_id, self.kind, self.retake, self.q, self.school_code,
                    self.site_disabled, self.passed_level, self.no_order))

    @classmethod
    def from_args(cls, args) -> Filters:
        def as_int(name):
            try:
                value = int(args.get(name) or 0)
            except ValueError:
                return None
            return value if 0 < value < 2**31 else None
        state = args.get("state", "")
        level = args.get("level", "")
        kind = args.get("kind", "")
        return cls(plan_id=as_int("plan_id"), site_id=as_int("site_id"), school_id=as_int("school_id"),
                   state=state if state in {s.value for s in RegistrationState} else "",
                   level=level if level in {lv.value for lv in Level} else "",
                   kind=kind if kind in {k.value for k in CandidateKind} else "",
                   retake=args.get("retake", "") if args.get("retake") in ("1", "0") else "",
                   q=(args.get("q") or "").strip()[:40],
                   school_code=(args.get("school_code") or "").strip()[:10],
                   site_disabled=args.get("site_disabled") == "1",
                   passed_level=args.get("passed_level") == "1",
                   no_order=args.get("no_order") == "1")


def _filtered(actor: Any, query, filters: Filters, *, with_state: bool = True):
    query = query.where(permissions.scope_clause(actor, Registration))
    if filters.plan_id:
        query = query.where(Registration.plan_id == filters.plan_id)
    if filters.site_id:
        query = query.where(Registration.site_id == filters.site_id)
    if filters.school_id:
        query = query.where(Registration.school_id == filters.school_id)
    if filters.school_code:
        query = query.where(Registration.school_id.in_(select(School.id).where(School.code == filters.school_code)))
    if filters.level:
        query = query.where(Registration.certificate_level_id.in_(
            select(CertificateLevel.id).where(CertificateLevel.level == Level(filters.level))))
    if filters.kind:
        query = query.where(Registration.kind == CandidateKind(filters.kind))
    if filters.retake:
        query = query.where(Registration.is_retake.is_(filters.retake == "1"))
    if filters.q:  # a name or an ID number (posted and sealed in the session, never in a URL)
        query = query.where(Registration.candidate_id.in_(select(Candidate.id).where(or_(
            Candidate.name.contains(filters.q), Candidate.id_number == idcard.normalise(filters.q)))))
    if filters.site_disabled:
        query = query.where(stranded.stranded_clause())
    if filters.passed_level:
        query = query.where(outcomes.already_passed_clause())
    if filters.no_order:
        query = query.where(Registration.payment_order_id.is_(None))
    if with_state and filters.state:
        state = RegistrationState(filters.state)
        overdue = lapse.overdue_clause()
        if state == RegistrationState.LAPSED:
            query = query.where(or_(Registration.state == state, overdue))
        elif state == RegistrationState.UNPAID:
            query = query.where(Registration.state == state, ~overdue)
        else:
            query = query.where(Registration.state == state)
    return query


def list_registrations(actor: Any, filters: Filters):
    """A scoped, filtered select of registrations with what the list shows loaded."""
    permissions.require(actor, "registrations.view")
    query = (select(Registration)
             .options(joinedload(Registration.candidate), joinedload(Registration.site),
                      joinedload(Registration.school), joinedload(Registration.plan),
                      joinedload(Registration.certificate_level).joinedload(CertificateLevel.certificate),
                      joinedload(Registration.quota_line).joinedload(ApplicationLine.major),
                      joinedload(Registration.payment_order))
             .order_by(Registration.id.desc()))
    return _filtered(actor, query, filters)


#: the site cell of the per-level figures of the wide scopes (the export's 统计 sheet)
ALL_SITES = "全部考核站点合计"

#: the figures' columns: registered (all but cancelled and lapsed), then each state
FIGURE_COLUMNS = ["报考人数", "已缴费", "待缴费", "已排考", "已放弃（未缴费）", "已取消"]


def figures(actor: Any, filters: Filters) -> list[dict[str, Any]]:
    """Per level and site: registered, paid, unpaid, scheduled, lapsed and cancelled.

    For the org, a province or a city without a school or site chosen the rows are per
    level over every site (one row per site of a thousand schools says nothing), and the
    figures are those of the last minute (core.counts.wide_scope_cached)."""
    permissions.require(actor, "registrations.view")
    per_site = figures_per_site(actor, filters)
    key = ("registration-figures", per_site, filters.plan_id, filters.site_id, filters.school_id,
           filters.school_code, filters.level, filters.kind, filters.retake, filters.q, filters.site_disabled,
           filters.passed_level, filters.no_order)
    return wide_scope_cached(actor, key, lambda: _figures(actor, filters, per_site))


def figures_per_site(actor: Any, filters: Filters) -> bool:
    """Whether the figures have a row per level and site (a school, or a wider scope narrowed to a
    school or site), or only per level over every site (the page labels the table accordingly)."""
    return not is_wide_scope(actor) or bool(filters.site_id or filters.school_id or filters.school_code)


def _figures(actor: Any, filters: Filters, per_site: bool) -> list[dict[str, Any]]:
    shown = shown_state_clause().label("shown")
    if per_site:
        query = (select(CertificateLevel.level, ExamSite.id, ExamSite.name, shown, func.count())
                 .select_from(Registration)
                 .join(CertificateLevel, CertificateLevel.id == Registration.certificate_level_id)
                 .join(ExamSite, ExamSite.id == Registration.site_id)
                 .group_by(CertificateLevel.level, ExamSite.id, ExamSite.name, shown))
    else:
        query = (select(CertificateLevel.level, literal(None), literal(ALL_SITES), shown, func.count())
                 .select_from(Registration)
                 .join(CertificateLevel, CertificateLevel.id == Registration.certificate_level_id)
                 .group_by(CertificateLevel.level, shown))
    query = _filtered(actor, query, filters, with_state=False)
    table: dict[tuple, dict[str, Any]] = {}
    for level, site_id, site_name, state, count in db.session.execute(query):
        row = table.setdefault((_rank(level), site_name, site_id or 0), {
            "level": level.value, "site": site_name, "site_id": site_id, **{c: 0 for c in FIGURE_COLUMNS}})
        label = state.value if hasattr(state, "value") else str(state)
        row[label] = row.get(label, 0) + count
        if label in (RegistrationState.UNPAID.value, RegistrationState.PAID.value, RegistrationState.SCHEDULED.value):
            row["报考人数"] += count
    rows = [table[k] for k in sorted(table)]
    if rows:
        total = {"level": "合计", "site": "", "site_id": None,
                 **{c: sum(r[c] for r in rows) for c in FIGURE_COLUMNS}}
        rows.append(total)
    return rows


#: the export's 统计 sheet: the page's figures table
FIGURE_HEADERS = ["等级", "考核站点", *FIGURE_COLUMNS]


def figure_rows(actor: Any, filters: Filters) -> list[list]:
    """The export's 统计 sheet: the same figures as the page (same query, same filters), then the
    filters they were taken with."""
    rows: list[list] = [[r["level"], r["site"], *(r[c] for c in FIGURE_COLUMNS)] for r in figures(actor, filters)]
    rows.append([])
    rows.append(["筛选条件", describe_filters(actor, filters)])
    if filters.state:
        rows.append(["", f"状态筛选（{filters.state}）只作用于报考名单；统计列出各状态的人数"])
    return rows


def describe_filters(actor: Any, filters: Filters) -> str:
    """The filters in words, e.g. 考试计划：2026年第4次…；等级：初级 (names only from the actor's scope)."""
    parts = []
    def name_in_scope(model, record_id: int) -> str:
        return db.session.scalar(permissions.scoped(actor, select(model.name).where(model.id == record_id), model)) \
            or str(record_id)

    if filters.plan_id:
        parts.append(f"考试计划：{name_in_scope(ExamPlan, filters.plan_id)}")
    if filters.school_code:
        parts.append(f"学校标识码：{filters.school_code}")
    if filters.school_id:
        parts.append(f"院校：{name_in_scope(School, filters.school_id)}")
    if filters.level:
        parts.append(f"等级：{filters.level}")
    if filters.site_id:
        name = db.session.scalar(select(ExamSite.name).where(
            ExamSite.id == filters.site_id, ExamSite.id.in_(select(Registration.site_id).where(
                Registration.site_id == filters.site_id, permissions.scope_clause(actor, Registration)))))
        parts.append(f"考核站点：{name or filters.site_id}")
    if filters.kind:
        parts.append(f"考生类型：{filters.kind}")
    if filters.retake:
        parts.append(f"是否补考：{'是' if filters.retake == '1' else '否'}")
    if filters.state:
        parts.append(f"状态：{filters.state}")
    if filters.q:
        parts.append(f"姓名或证件号码：{mask_text(filters.q)}")
    if filters.site_disabled:
        parts.append("站点已停用的报考")
    if filters.passed_level:
        parts.append("已通过该等级、仍在其他计划报考")
    if filters.no_order:
        parts.append("未建缴费订单")
    return "；".join(parts) or "全部"


EXPORT_HEADERS = ["考试计划", "学校标识码", "院校", "姓名", "证件号码", "考生类型", "证书", "等级", "考核站点", "专业",
                  "是否补考", "补考依据", "报考费（元）", "状态", "缴费订单", "报考时间", "取消/放弃原因"]


def export_rows(actor: Any, filters: Filters) -> Iterable[list]:
    """The rows of the Excel export (ID numbers masked)."""
    for r in db.session.scalars(list_registrations(actor, filters)).unique():
        state = shown_state(r)
        reason = r.cancel_reason
        if state == RegistrationState.LAPSED:
            reason = f"缴费截止 {r.plan.payment_deadline:%Y-%m-%d %H:%M} 前未缴费"
        yield [r.plan.name, r.school.code, r.school.name, r.candidate.name, idcard.mask(r.id_number), r.kind.value,
               r.certificate_level.certificate.name, r.certificate_level.level.value, r.site.name,
               r.candidate.major.name if r.kind == CandidateKind.STUDENT and r.candidate.major else "",
               "是" if r.is_retake else "否", r.retake_basis.value if r.retake_basis else "", float(r.fee),
               state.value, r.payment_order.reference if r.payment_order else "", f"{r.created_at:%Y-%m-%d %H:%M}",
               reason]


def registrations_by_candidate(actor: Any, candidate_ids: list[int]) -> dict[int, list[Registration]]:
    """Each candidate's registrations (newest first), for the candidate list, in one query."""
    if not candidate_ids or not permissions.can(actor, "registrations.view"):
        return {}
    rows = db.session.scalars(
        select(Registration).where(Registration.candidate_id.in_(candidate_ids))
        .where(permissions.scope_clause(actor, Registration))
        .options(joinedload(Registration.plan), joinedload(Registration.certificate_level))
        .order_by(Registration.id.desc()))
    result: dict[int, list[Registration]] = defaultdict(list)
    for r in rows:
        result[r.candidate_id].append(r)
    return result


def places_by_line(line_ids: list[int]) -> dict[int, int]:
    """Places held by live registrations per quota line, for the ledger: an overdue unpaid one
    holds none (it has lapsed, whether or not the lapse has been written yet)."""
    if not line_ids:
        return {}
    rows = db.session.execute(
        select(Registration.quota_line_id, func.count()).where(Registration.quota_line_id.in_(line_ids))
        .where(Registration.state.in_(LIVE), ~lapse.overdue_clause()).group_by(Registration.quota_line_id))
    return {line_id: count for line_id, count in rows}


def plans_for_lists(actor: Any) -> list[ExamPlan]:
    permissions.require(actor, "registrations.view")
    return list(db.session.scalars(permissions.scoped(actor, select(ExamPlan))
                                   .where(ExamPlan.state == PlanState.PUBLISHED).order_by(*PLAN_ORDER)))

