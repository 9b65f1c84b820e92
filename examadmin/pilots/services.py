"""Application plans and school applications: every rule of DOMAIN.md §1 lives here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..catalog.models import Certificate, CertificateLevel, Major, Province, School
from ..core import audit, clock, permissions
from ..core.errors import DomainError
from ..core.locks import lock_row
from ..core.unique import unique_writes
from ..core.roles import Role
from ..extensions import db
from .models import Application, ApplicationLine, ApplicationPlan
from .states import APPLICATION, EDITABLE, ApplicationState, PlanStatus

PLAN_FIELDS = ["year", "batch", "window_start", "window_end", "requires_majors", "requires_city_review",
               "all_levels"]
MAX_COUNT = 100_000  # no major has more students than this; larger numbers are typing errors
#: the years a plan may be for: the 1+X pilots began in 2019 (the form says the same)
FIRST_YEAR, LAST_YEAR = 2019, 2100


def _batch_key(batch: str) -> str:
    """A batch as compared for duplicates: 「第一批」, 「 第一批」 and 「第 一 批」 are one batch."""
    return "".join(batch.split())


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


# ---- plans ---------------------------------------------------------------------------

def save_plan(actor: Any, data: dict, plan_id: int | None = None) -> ApplicationPlan:
    """Create or change a plan of the actor's own province."""
    permissions.require(actor, "pilots.manage_plans")
    year, batch = data.get("year"), (data.get("batch") or "").strip()
    start, end = data.get("window_start"), data.get("window_end")
    if not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise DomainError(f"申报年度应在 {FIRST_YEAR} 至 {LAST_YEAR} 年之间", field="year")
    if not batch:
        raise DomainError("请填写申报批次，如「第一批」", field="batch")
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        raise DomainError("请填写申报开始和结束时间", field="window_start")
    if end <= start:
        raise DomainError("申报结束时间必须晚于开始时间", field="window_end")
    level_ids = [int(i) for i in data.get("level_ids") or []]
    all_levels = bool(data.get("all_levels"))
    levels = list(db.session.scalars(select(CertificateLevel).where(CertificateLevel.id.in_(level_ids))))
    if not all_levels and not levels:
        raise DomainError("请选择开放的证书等级，或选择「全部」", field="level_ids")
    plan = permissions.get_for(actor, ApplicationPlan, plan_id) if plan_id else ApplicationPlan(
        province_id=actor.province_id)
    _refuse_duplicate_batch(plan.province_id, year, batch, plan_id)
    before = audit.snapshot(plan, PLAN_FIELDS) if plan_id else None
    plan.year, plan.batch, plan.window_start, plan.window_end = year, batch, start, end
    plan.requires_majors = bool(data.get("requires_majors"))
    plan.requires_city_review = bool(data.get("requires_city_review"))
    plan.all_levels = all_levels
    plan.levels = [] if all_levels else levels
    db.session.add(plan)
    db.session.flush()
    after = audit.snapshot(plan, PLAN_FIELDS) | {"levels": [lv.label for lv in plan.levels] or "全部"}
    audit.record(actor, "application_plan.update" if plan_id else "application_plan.create", plan,
                 before=before, after=after)
    return plan


def _refuse_duplicate_batch(province_id: int, year: int, batch: str, plan_id: int | None) -> None:
    """One plan per province, year and batch: a second 「2027年第一批」 would split the schools'
    applications between two calls of the same name."""
    # the province's row is the lock: two plans saved at once for one province wait for each other
    province = db.session.get(Province, province_id)
    if province is not None:
        lock_row(province)
    query = select(ApplicationPlan).where(ApplicationPlan.province_id == province_id, ApplicationPlan.year == year)
    if plan_id:
        query = query.where(ApplicationPlan.id != plan_id)
    for other in db.session.scalars(query):
        if _batch_key(other.batch) == _batch_key(batch):
            raise DomainError(f"本省 {year} 年已有申报计划「{other.name}」，同一年度的批次不能重复；"
                              f"请修改该计划，或另起批次名称（如「第二批」）", field="batch")


def list_plans(actor: Any):
    permissions.require(actor, "pilots.view")
    return (permissions.scoped(actor, select(ApplicationPlan))
            .options(selectinload(ApplicationPlan.levels).selectinload(CertificateLevel.certificate),
                     selectinload(ApplicationPlan.province))
            .order_by(ApplicationPlan.year.desc(), ApplicationPlan.window_start.desc()))


def get_plan(actor: Any, plan_id: int) -> ApplicationPlan:
    permissions.require(actor, "pilots.view")
    return permissions.get_for(actor, ApplicationPlan, plan_id)


def open_levels(plan: ApplicationPlan) -> list[CertificateLevel]:
    """The certificate levels a school may apply for under this plan (enabled certificates only)."""
    if plan.all_levels:
        levels = db.session.scalars(select(CertificateLevel).join(Certificate).order_by(
            Certificate.code, CertificateLevel.rank)).all()
    else:
        levels = plan.levels
    return [lv for lv in levels if lv.certificate.enabled]


def open_scope_label(plan: ApplicationPlan) -> str:
    if plan.all_levels:
        return "全部"
    return "、".join(lv.label for lv in plan.levels)


# ---- applications --------------------------------------------------------------------

@dataclass
class LineInput:
    """One filled row of the 拟申报专业 table, as the school typed it."""

    major_id: int | None
    students: Any
    teachers: Any
    requested: Any
    #: the row number on the form, for messages
    row: int = 1


def _count(value: Any, label: str, row: int, *, minimum: int = 0) -> int:
    if value is None or value == "":
        raise DomainError(f"第 {row} 行：请填写{label}", field="lines")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("-").isdigit():
            raise DomainError(f"第 {row} 行：{label}应为整数，「{value}」不是整数", field="lines")
        value = int(text)
    if not isinstance(value, int) or isinstance(value, bool):
        raise DomainError(f"第 {row} 行：{label}应为整数", field="lines")
    if value < minimum:
        raise DomainError(f"第 {row} 行：{label}不能小于 {minimum}", field="lines")
    if value > MAX_COUNT:
        raise DomainError(f"第 {row} 行：{label}「{value}」过大，请核对", field="lines")
    return value


def _checked_lines(school: School, plan: ApplicationPlan, lines: list[LineInput]) -> list[dict]:
    """Validate every line against the catalogue and the counts; return clean values."""
    if plan.requires_majors:
        if not lines:
            raise DomainError("本批次要求按专业申报，请至少填写一个拟申报专业", field="lines")
    elif len(lines) != 1 or lines[0].major_id is not None:
        raise DomainError("本批次不要求按专业申报，请只填写一行全校的人数", field="lines")
    clean, seen = [], {}
    for line in lines:
        major = None
        if plan.requires_majors:
            major = db.session.get(Major, line.major_id) if line.major_id else None
            if major is None:
                raise DomainError(f"第 {line.row} 行：请从专业目录中选择专业", field="lines")
            if major.school_type != school.type:
                raise DomainError(f"第 {line.row} 行：「{major.code} {major.name}」属于{major.school_type.value}"
                                  f"专业目录，与本校类型（{school.type.value}）不符", field="lines")
            if major.id in seen:
                raise DomainError(f"第 {line.row} 行：专业「{major.name}」与第 {seen[major.id]} 行重复", field="lines")
            seen[major.id] = line.row
        students = _count(line.students, "在校学生数", line.row)
        teachers = _count(line.teachers, "专任教师数", line.row)
        requested = _count(line.requested, "申请培训人数", line.row, minimum=1)
        if requested > students:
            raise DomainError(f"第 {line.row} 行：申请培训人数（{requested}）不能超过在校学生数（{students}）",
                              field="lines")
        clean.append({"major_id": major.id if major else None, "students": students, "teachers": teachers,
                      "requested": requested})
    return clean


def applied_levels(actor: Any, year: int) -> dict[int, Application]:
    """Level id -> the actor's school's application of that level in `year`: the levels a new
    application cannot take (one application per school, year and level)."""
    permissions.require(actor, "pilots.apply")
    rows = db.session.scalars(select(Application).where(Application.school_id == actor.school_id,
                                                        Application.year == year))
    return {app.certificate_level_id: app for app in rows}


def _existing(school_id: int, year: int, level_id: int) -> Application | None:
    return db.session.scalar(select(Application).where(
        Application.school_id == school_id, Application.year == year,
        Application.certificate_level_id == level_id))


def _require_submittable(plan: ApplicationPlan) -> None:
    status = plan.status()
    if status != PlanStatus.OPEN:
        raise DomainError(f"不在申报时间内：本批次申报时间为 {_fmt(plan.window_start)} 至 {_fmt(plan.window_end)}"
                          f"（{status.value}），错过的请等待下一批次")


def _line_snapshot(app: Application) -> list[dict]:
    return [{"major": line.major_label, "students": line.students, "teachers": line.teachers,
             "requested": line.requested, "approved": line.approved, "used": line.used} for line in app.lines]


def _apply_lines(app: Application, clean: list[dict]) -> None:
    """Replace the application's lines, keeping lines with used places (and their counts)."""
    existing = {line.major_id: line for line in app.lines}
    wanted = {row["major_id"] for row in clean}
    for major_id, line in existing.items():
        if major_id not in wanted and line.used > 0:
            raise DomainError(f"「{line.major_label}」已使用 {line.used} 个指标，不能删除（已使用指标无法修改）",
                              field="lines")
    for row in clean:
        line = existing.get(row["major_id"])
        if line is None:
            app.lines.append(ApplicationLine(**row))
        else:
            line.students, line.teachers, line.requested = row["students"], row["teachers"], row["requested"]
    for major_id, line in existing.items():
        if major_id not in wanted:
            app.lines.remove(line)


def save_application(actor: Any, *, plan_id: int | None = None, certificate_level_id: int | None = None,
                     explanation: str = "", lines: list[LineInput], application_id: int | None = None,
                     submit: bool = False) -> Application:
    """保存 (draft) or 保存并提交 a school's application; a returned one is edited in place."""
    permissions.require(actor, "pilots.apply")
    school = db.session.get(School, actor.school_id)
    if application_id:
        app = permissions.get_for(actor, Application, application_id)
        if app.state not in EDITABLE:
            if app.state == ApplicationState.APPROVED:
                raise DomainError("已审核通过的申报不能直接修改，需由省级教育行政部门退回后再修改")
            raise DomainError(f"申报正在审核中（{app.state.value}），不能修改")
        if certificate_level_id and certificate_level_id != app.certificate_level_id:
            raise DomainError("申报等级创建后不能修改；申报其他等级请新建一份申报", field="certificate_level_id")
        plan = app.plan
        before = {"explanation": app.explanation, "lines": _line_snapshot(app)}

        def check_no_duplicate() -> None:  # the same application saved twice at once: nothing to name
            pass
    else:
        plan = get_plan(actor, plan_id)
        if plan.status() == PlanStatus.ENDED:
            _require_submittable(plan)
        level = db.session.get(CertificateLevel, certificate_level_id) if certificate_level_id else None
        if level is None:
            raise DomainError("请选择申报的证书等级", field="certificate_level_id")
        if not level.certificate.enabled:
            raise DomainError(f"「{level.certificate.name}」已停用，不能申报", field="certificate_level_id")
        if level not in open_levels(plan):
            raise DomainError(f"本批次未开放「{level.label}」", field="certificate_level_id")

        def check_no_duplicate() -> None:
            duplicate = _existing(school.id, plan.year, level.id)
            if duplicate is not None:
                raise DomainError(f"本校 {plan.year} 年已有「{level.label}」的申报（编号 {duplicate.id}，"
                                  f"{duplicate.state.value}），请在原申报上修改", field="certificate_level_id")

        check_no_duplicate()
        app = Application(plan=plan, school_id=school.id, year=plan.year, certificate_level=level)
        before = None
    clean = _checked_lines(school, plan, lines)
    with unique_writes(check_no_duplicate, field="certificate_level_id"):
        db.session.add(app)
        app.explanation = (explanation or "").strip()
        _apply_lines(app, clean)
    audit.record(actor, "application.update" if before else "application.create", app, before=before,
                 after={"explanation": app.explanation, "lines": _line_snapshot(app)})
    if submit:
        submit_application(actor, app.id)
    return app


def submit_application(actor: Any, application_id: int) -> Application:
    """Send a draft or a returned application for review, inside the plan's window."""
    permissions.require(actor, "pilots.apply")
    app = permissions.get_for(actor, Application, application_id)
    _require_submittable(app.plan)
    if not app.certificate_level.certificate.enabled:
        raise DomainError(f"「{app.certificate_level.certificate.name}」已停用，不能提交")
    if not app.lines:
        raise DomainError("请先填写拟申报专业及人数")
    APPLICATION.move(app, "submit", actor)
    app.submitted_at = clock.now()
    return app


def pass_to_province(actor: Any, application_id: int) -> Application:
    """The city's first review passes the application on to the province."""
    permissions.require(actor, "pilots.review")
    app = permissions.get_for(actor, Application, application_id)
    APPLICATION.move(app, "pass", actor)
    return app


def return_application(actor: Any, application_id: int, reason: str) -> Application:
    """Return an application to the school with a reason (city or province)."""
    permissions.require(actor, "pilots.review")
    app = permissions.get_for(actor, Application, application_id)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写退回原因，学校将据此修改", field="reason")
    APPLICATION.move(app, "return", actor, reason=reason)
    app.return_reason = reason
    app.returned_by = "city" if actor.role == Role.CITY else "province"
    return app


def approve_application(actor: Any, application_id: int, approved: dict[int, Any]) -> Application:
    """Approve with a count per line (0 to the requested count, never below places used)."""
    permissions.require(actor, "pilots.approve")
    app = permissions.get_for(actor, Application, application_id)
    counts = {}
    for row, line in enumerate(app.lines, start=1):
        count = _count(approved.get(line.id), f"「{line.major_label}」批准人数", row)
        if count > line.requested:
            raise DomainError(f"「{line.major_label}」批准人数（{count}）不能超过申请人数（{line.requested}）",
                              field="approved")
        if count < line.used:
            raise DomainError(f"「{line.major_label}」已使用 {line.used} 个指标，批准人数不能少于已使用数",
                              field="approved")
        counts[line.id] = count
    APPLICATION.move(app, "approve", actor)
    before = _line_snapshot(app)
    for line in app.lines:
        line.approved = counts[line.id]
    app.approved_at = clock.now()
    app.return_reason = None
    audit.record(actor, "application.quota", app, before={"lines": before},
                 after={"lines": _line_snapshot(app), "quota": app.quota})
    return app


def list_applications(actor: Any, *, state: str = "", year: int | None = None, plan_id: int | None = None):
    """Applications in the actor's scope; reviewers see what waits for them first."""
    permissions.require(actor, "pilots.view")
    query = (permissions.scoped(actor, select(Application))
             .options(selectinload(Application.school), selectinload(Application.lines),
                      selectinload(Application.plan),
                      selectinload(Application.certificate_level).selectinload(CertificateLevel.certificate))
             .order_by(Application.year.desc(), Application.id.desc()))
    if actor.role == Role.CITY:
        # A city sees applications of its schools only under plans that ask for its review.
        query = query.where(Application.plan.has(ApplicationPlan.requires_city_review.is_(True)))
    if state:
        query = query.where(Application.state == ApplicationState(state))
    if year:
        query = query.where(Application.year == year)
    if plan_id:
        query = query.where(Application.plan_id == plan_id)
    return query


def get_application(actor: Any, application_id: int) -> Application:
    permissions.require(actor, "pilots.view")
    return permissions.get_for(actor, Application, application_id)
