"""Subjects, exam plans, their fees and sessions: managed by the org, read by schools."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload, selectinload

from ...catalog.models import Certificate, CertificateLevel, Level
from ...core.locks import lock_row
from ...core import audit, permissions
from ...core.errors import DomainError
from ...core.unique import unique_writes
from ...extensions import db
from ..models import PLAN_ORDER, ExamMode, ExamPlan, ExamRoom, ExamSession, PlanFee, Subject
from ..states import EXAM_PLAN, PlanState
from . import _parse

SUBJECT_FIELDS = ["certificate_level_id", "name", "mode", "full_mark", "pass_mark"]
PLAN_FIELDS = ["name", "certificate_id", "registration_start", "registration_end", "payment_deadline",
               "ticket_start", "ticket_end"]
#: the form field of each level's fee
FEE_FIELDS = {Level.JUNIOR: "fee_junior", Level.MIDDLE: "fee_middle", Level.SENIOR: "fee_senior"}
MAX_MARK = 1000

#: Functions plan id -> {level: registrations of the plan at that level, in any state}; the
#: registrations area registers one (an earlier area never imports a later one). A level's fee,
#: and the plan's certificate, are fixed once anyone registered: a registration keeps the fee
#: it was registered with, so a change would charge two prices for one exam.
REGISTRATION_COUNTS: list[Callable[[int], dict[Level, int]]] = []


# ---- subjects ---------------------------------------------------------------------------

def save_subject(actor: Any, data: dict, subject_id: int | None = None) -> Subject:
    """Create or change a subject of a certificate level: name, exam mode, full and pass mark."""
    permissions.require(actor, "exams.manage")
    subject = permissions.get_for(actor, Subject, subject_id) if subject_id else None
    level = db.session.get(CertificateLevel, data.get("certificate_level_id") or 0)
    if level is None:
        raise DomainError("请选择证书与等级", field="certificate_level_id")
    name = _parse.text(data, "name", "科目名称", 60)
    try:
        mode = ExamMode(data.get("mode"))
    except ValueError:
        raise DomainError("请选择考试方式（机考、笔试或实操）", field="mode")
    full_mark = _parse.integer(data, "full_mark", "满分", 1, MAX_MARK)
    pass_mark = _parse.integer(data, "pass_mark", "及格分", 0, MAX_MARK)
    if pass_mark > full_mark:
        raise DomainError(f"及格分（{pass_mark}）不能高于满分（{full_mark}）", field="pass_mark")

    def check_name_free() -> None:
        duplicate = select(Subject.id).where(Subject.certificate_level_id == level.id, Subject.name == name)
        if subject_id:
            duplicate = duplicate.where(Subject.id != subject_id)
        if db.session.scalar(duplicate):
            raise DomainError(f"{level.label}已有科目「{name}」", field="name")

    check_name_free()
    if subject is not None and subject.certificate_level_id != level.id and _subject_in_use(subject.id):
        raise DomainError("该科目已用于考试计划，不能改到其他证书等级", field="certificate_level_id")
    before = audit.snapshot(subject, SUBJECT_FIELDS) if subject else None
    subject = subject or Subject()
    with unique_writes(check_name_free, field="name"):
        subject.certificate_level_id, subject.name, subject.mode = level.id, name, mode
        subject.full_mark, subject.pass_mark = full_mark, pass_mark
        db.session.add(subject)
    audit.record(actor, "subject.update" if before else "subject.create", subject,
                 before=before, after=audit.snapshot(subject, SUBJECT_FIELDS))
    return subject


def _subject_in_use(subject_id: int) -> bool:
    return bool(db.session.scalar(select(
        exists().where(ExamSession.subject_id == subject_id) | exists().where(ExamRoom.subject_id == subject_id))))


def delete_subject(actor: Any, subject_id: int) -> None:
    """Remove a subject that no plan uses yet."""
    permissions.require(actor, "exams.manage")
    subject = permissions.get_for(actor, Subject, subject_id)
    if _subject_in_use(subject.id):
        raise DomainError(f"科目「{subject.name}」已用于考试计划，不能删除")
    audit.record(actor, "subject.delete", subject, before=audit.snapshot(subject, SUBJECT_FIELDS))
    db.session.delete(subject)
    db.session.flush()


def list_subjects(actor: Any, certificate_id: int | None = None):
    """Subjects with their certificate level, in level order."""
    permissions.require(actor, "exams.view")
    query = (permissions.scoped(actor, select(Subject))
             .join(Subject.certificate_level)
             .options(joinedload(Subject.certificate_level).joinedload(CertificateLevel.certificate))
             .order_by(CertificateLevel.certificate_id, CertificateLevel.rank, Subject.name))
    if certificate_id:
        query = query.where(CertificateLevel.certificate_id == certificate_id)
    return query


# ---- plans ------------------------------------------------------------------------------

def _check_windows(values: dict[str, datetime]) -> None:
    """registration_start < registration_end <= payment_deadline <= ticket_start < ticket_end."""
    if values["registration_end"] <= values["registration_start"]:
        raise DomainError("报考截止时间须晚于报考开始时间", field="registration_end")
    if values["payment_deadline"] < values["registration_end"]:
        raise DomainError("缴费截止时间不能早于报考截止时间", field="payment_deadline")
    if values["ticket_start"] < values["payment_deadline"]:
        raise DomainError("准考证下载开始时间不能早于缴费截止时间（缴费后才能排考、生成准考证）",
                          field="ticket_start")
    if values["ticket_end"] <= values["ticket_start"]:
        raise DomainError("准考证下载截止时间须晚于下载开始时间", field="ticket_end")


def _check_session_times(plan_values: dict[str, datetime], starts_at: datetime, field: str) -> None:
    """A session begins after payment closes and once admission tickets can be downloaded."""
    if starts_at <= plan_values["payment_deadline"]:
        raise DomainError(f"考试时间（{_parse.show(starts_at)}）须晚于缴费截止时间"
                          f"（{_parse.show(plan_values['payment_deadline'])}）", field=field)
    if starts_at < plan_values["ticket_start"]:
        raise DomainError(f"考试时间（{_parse.show(starts_at)}）不能早于准考证下载开始时间"
                          f"（{_parse.show(plan_values['ticket_start'])}）", field=field)


def registration_counts(plan_id: int) -> dict[Level, int]:
    """Registrations of the plan per level, in any state (cancelled and lapsed too)."""
    counts: dict[Level, int] = {}
    for source in REGISTRATION_COUNTS:
        for level, count in source(plan_id).items():
            counts[level] = counts.get(level, 0) + count
    return {level: count for level, count in counts.items() if count}


def fee_locks(actor: Any, plan: ExamPlan | None) -> dict[Level, str]:
    """Level -> why its fee can no longer change (the plan form shows those fields locked)."""
    permissions.require(actor, "exams.view")
    if plan is None:
        return {}
    return {level: f"{level.value}已有 {count} 条报考，报考费用已锁定"
            for level, count in registration_counts(plan.id).items()}


def _check_certificate_kept(plan: ExamPlan, certificate: Certificate, counts: dict[Level, int]) -> None:
    if counts and certificate.id != plan.certificate_id:
        raise DomainError(f"考试计划「{plan.name}」已有 {sum(counts.values())} 条报考，不能更换证书",
                          field="certificate_id")


def _check_fees_kept(plan: ExamPlan, fees: dict[Level, Any], counts: dict[Level, int]) -> None:
    """Refuse changing (or removing) the fee of a level that has registrations, in any state."""
    for level, count in counts.items():
        current, wanted = plan.fee_for(level), fees.get(level)
        if current != wanted:
            shown = f"{current:.2f} 元" if current is not None else "未设置"
            raise DomainError(f"{level.value}已有 {count} 条报考（含已取消、已放弃），报考费用不能再修改"
                              f"（当前 {shown}）；已报考的考生按报考时的费用缴费", field=FEE_FIELDS[level])


def save_plan(actor: Any, data: dict, plan_id: int | None = None, warnings: list[str] | None = None) -> ExamPlan:
    """Create or change a plan: name, certificate, windows and the fee of each level. What looks
    wrong but may be meant (a ticket window that misses the exam) is appended to `warnings`."""
    permissions.require(actor, "exams.manage")
    plan = permissions.get_for(actor, ExamPlan, plan_id) if plan_id else None
    if plan is not None:
        # a registration reads the fees under a shared lock of the plan: none slips in between
        # the check below and the commit with the old fee
        lock_plan(plan)
    name = _parse.text(data, "name", "计划名称", 100)
    certificate = db.session.get(Certificate, data.get("certificate_id") or 0)
    if certificate is None:
        raise DomainError("请选择证书", field="certificate_id")
    counts = registration_counts(plan.id) if plan is not None else {}
    if plan is not None:
        _check_certificate_kept(plan, certificate, counts)
    if plan is None or plan.certificate_id != certificate.id:
        if not certificate.enabled:
            raise DomainError(f"证书「{certificate.name}」已停用", field="certificate_id")
        if plan is not None and plan.sessions:
            raise DomainError("计划已有考试场次，不能更换证书；请先删除场次", field="certificate_id")
    values = {
        "registration_start": _parse.when(data, "registration_start", "报考开始时间"),
        "registration_end": _parse.when(data, "registration_end", "报考截止时间"),
        "payment_deadline": _parse.when(data, "payment_deadline", "缴费截止时间"),
        "ticket_start": _parse.when(data, "ticket_start", "准考证下载开始时间"),
        "ticket_end": _parse.when(data, "ticket_end", "准考证下载截止时间"),
    }
    _check_windows(values)
    if plan is not None and plan.sessions:
        first = plan.sessions[0]
        field = "payment_deadline" if first.starts_at <= values["payment_deadline"] else "ticket_start"
        _check_session_times(values, first.starts_at, field)
    fees = {level: _parse.money(data, field, f"{level.value}报考费用") for level, field in FEE_FIELDS.items()}
    if plan is not None:
        _check_fees_kept(plan, fees, counts)
    if warnings is not None and plan is not None and plan.sessions:
        warnings.extend(ticket_window_warnings(values, plan.sessions))

    def check_name_free() -> None:
        duplicate = select(ExamPlan.id).where(ExamPlan.name == name)
        if plan_id:
            duplicate = duplicate.where(ExamPlan.id != plan_id)
        if db.session.scalar(duplicate):
            raise DomainError(f"已有名为「{name}」的考试计划", field="name")

    check_name_free()

    before = _plan_snapshot(plan) if plan else None
    plan = plan or ExamPlan(state=PlanState.DRAFT)
    with unique_writes(check_name_free, field="name"):
        plan.name, plan.certificate_id = name, certificate.id
        for field, value in values.items():
            setattr(plan, field, value)
        for level, amount in fees.items():
            row = next((f for f in plan.fees if f.level == level), None)
            if amount is None and row is not None:
                plan.fees.remove(row)
            elif amount is not None and row is None:
                plan.fees.append(PlanFee(level=level, amount=amount))
            elif row is not None:
                row.amount = amount
        db.session.add(plan)
    audit.record(actor, "exam_plan.update" if before else "exam_plan.create", plan,
                 before=before, after=_plan_snapshot(plan))
    return plan


def ticket_window_warnings(values: dict[str, datetime], sessions: list[ExamSession]) -> list[str]:
    """What is odd about the admission-ticket window against the date of the plan's last session:
    it ends before that day, or starts after it (allowed, but those candidates could not print)."""
    last = max(sessions, key=lambda s: s.starts_at)
    found = []
    if values["ticket_end"].date() < last.date:
        found.append(f"准考证下载截止时间（{_parse.show(values['ticket_end'])}）早于最后一场考试的日期"
                     f"（{last.label}）：考生在考试当天已无法下载准考证")
    if values["ticket_start"].date() > last.date:
        found.append(f"准考证下载开始时间（{_parse.show(values['ticket_start'])}）晚于最后一场考试的日期"
                     f"（{last.label}）：考生考前无法下载准考证")
    return found


def _plan_times(plan: ExamPlan) -> dict[str, datetime]:
    return {"payment_deadline": plan.payment_deadline, "ticket_start": plan.ticket_start}


def _plan_snapshot(plan: ExamPlan) -> dict[str, Any]:
    snap = audit.snapshot(plan, PLAN_FIELDS)
    snap["fees"] = {f.level.value: str(f.amount) for f in sorted(plan.fees, key=lambda f: f.level.value)}
    return snap


def lock_plan(plan: ExamPlan, *, shared: bool = False) -> ExamPlan:
    """Lock the plan's row until the commit and read it again (PostgreSQL; SQLite's BEGIN
    IMMEDIATE already lets one writer in at a time).

    Checks that span rows (a draft has sessions before it is published; a plan with rooms is
    not withdrawn; rooms only for a published plan) then see every committed change, and no
    other request can change what they checked before this one commits. `shared` (FOR SHARE)
    for room requests, which may run side by side; publishing, withdrawing and changing
    sessions (FOR UPDATE) wait for them, and they for it."""
    lock_row(plan, shared=shared)
    return plan


def _draft(plan: ExamPlan) -> None:
    if plan.state != PlanState.DRAFT:
        raise DomainError("已发布的计划不能修改考试场次；如需修改请先撤回发布")


def add_session(actor: Any, plan_id: int, data: dict, warnings: list[str] | None = None) -> ExamSession:
    """Add a session (date, start, end, level, subject) to a draft plan; a ticket window that now
    misses the last session is appended to `warnings`."""
    permissions.require(actor, "exams.manage")
    plan = lock_plan(permissions.get_for(actor, ExamPlan, plan_id))
    _draft(plan)
    subject = db.session.get(Subject, data.get("subject_id") or 0)
    if subject is None:
        raise DomainError("请选择科目", field="subject_id")
    if subject.certificate_level.certificate_id != plan.certificate_id:
        raise DomainError(f"科目「{subject.name}」不属于{plan.certificate.name}", field="subject_id")
    level = data.get("level")
    if level:
        try:
            level = Level(level)
        except ValueError:
            raise DomainError("请选择等级", field="level")
        if subject.level != level:
            raise DomainError(f"科目「{subject.name}」是{subject.level.value}科目，与所选等级{level.value}不符",
                              field="subject_id")
    # Built outside the plan and added only once every check has passed.
    session = ExamSession(subject=subject, date=_parse.day(data, "date", "考试日期"),
                          start_time=_parse.clock_time(data, "start_time", "开始时间"),
                          end_time=_parse.clock_time(data, "end_time", "结束时间"))
    if session.end_time <= session.start_time:
        raise DomainError("结束时间须晚于开始时间", field="end_time")
    _check_session_times(_plan_times(plan), session.starts_at, "date")
    for other in plan.sessions:
        # Candidates of one level sit every subject of it, and a room serves all sessions of
        # its subject: two sessions of one level at the same time would need them twice.
        if other.level == session.level and other.overlaps(session):
            raise DomainError(f"与同一等级的场次「{other.label}」时间重叠", field="start_time")
    plan.sessions.append(session)
    db.session.flush()
    audit.record(actor, "exam_session.create", session, after=_session_snapshot(session))
    if warnings is not None:
        warnings.extend(ticket_window_warnings({"ticket_start": plan.ticket_start, "ticket_end": plan.ticket_end},
                                               plan.sessions))
    return session


def _session_snapshot(session: ExamSession) -> dict[str, Any]:
    return {"plan": session.plan.name, "date": session.date, "start_time": session.start_time.strftime("%H:%M"),
            "end_time": session.end_time.strftime("%H:%M"), "level": session.level.value,
            "subject": session.subject.name}


def delete_session(actor: Any, plan_id: int, session_id: int) -> None:
    """Remove a session from a draft plan."""
    permissions.require(actor, "exams.manage")
    plan = lock_plan(permissions.get_for(actor, ExamPlan, plan_id))
    _draft(plan)
    session = next((s for s in plan.sessions if s.id == session_id), None)
    if session is None:
        raise permissions.NotInScope()
    audit.record(actor, "exam_session.delete", session, before=_session_snapshot(session))
    plan.sessions.remove(session)
    db.session.flush()


def publish_plan(actor: Any, plan_id: int) -> ExamPlan:
    """Publish a draft plan: schools can then see it, register candidates and set up rooms."""
    permissions.require(actor, "exams.manage")
    plan = lock_plan(permissions.get_for(actor, ExamPlan, plan_id))
    if plan.state == PlanState.DRAFT:
        if not plan.sessions:
            raise DomainError("计划还没有考试场次，不能发布")
        missing = [lv.value for lv in Level if lv in {s.level for s in plan.sessions} and plan.fee_for(lv) is None]
        if missing:
            raise DomainError(f"请先设置{'、'.join(missing)}的报考费用，再发布")
        if not plan.certificate.enabled:
            raise DomainError(f"证书「{plan.certificate.name}」已停用，不能发布")
    EXAM_PLAN.move(plan, "publish", actor)
    return plan


def withdraw_plan(actor: Any, plan_id: int) -> ExamPlan:
    """Take a published plan back to draft, as long as no school has set up rooms for it."""
    permissions.require(actor, "exams.manage")
    plan = lock_plan(permissions.get_for(actor, ExamPlan, plan_id))
    if plan.state == PlanState.PUBLISHED and plan.has_rooms:
        raise DomainError("已有院校为该计划设置了考场，不能撤回发布")
    EXAM_PLAN.move(plan, "withdraw", actor)
    return plan


def get_plan(actor: Any, plan_id: int) -> ExamPlan:
    """A plan in the actor's scope (drafts only for the org), with sessions and fees."""
    permissions.require(actor, "exams.view")
    return permissions.get_for(actor, ExamPlan, plan_id)


def list_plans(actor: Any, *, state: str = "", certificate_id: int | None = None, q: str = ""):
    """Plans in the actor's scope with what the list shows loaded, newest registration first."""
    permissions.require(actor, "exams.view")
    query = (permissions.scoped(actor, select(ExamPlan))
             .options(joinedload(ExamPlan.certificate), selectinload(ExamPlan.fees),
                      selectinload(ExamPlan.sessions).joinedload(ExamSession.subject)
                      .joinedload(Subject.certificate_level))
             .order_by(*PLAN_ORDER))
    if state:
        try:
            query = query.where(ExamPlan.state == PlanState(state))
        except ValueError:
            raise DomainError("状态筛选无效", field="state")
    if certificate_id:
        query = query.where(ExamPlan.certificate_id == certificate_id)
    if q:
        query = query.where(ExamPlan.name.ilike(f"%{q.strip()}%"))
    return query


def published_plans(actor: Any) -> list[ExamPlan]:
    """Published plans, newest first (the choices of a room's plan)."""
    permissions.require(actor, "exams.view")
    return list(db.session.scalars(
        permissions.scoped(actor, select(ExamPlan)).options(joinedload(ExamPlan.certificate))
        .where(ExamPlan.state == PlanState.PUBLISHED)
        .order_by(*PLAN_ORDER)))
