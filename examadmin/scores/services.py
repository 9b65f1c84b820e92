"""Score entry, publication stages and objections (DOMAIN.md §9): every rule of scores lives here.

Scores are entered by the org per registration and subject (a seat of the plan). Before the
display period only the org sees them; a change once the display has begun needs a reason,
and every change is audited per score so that the score's history shows it. Results are
recomputed (scores/results.py) in the same transaction as the change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable

from flask import has_request_context, request
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload

from ..candidates.models import Candidate
from ..core import audit, clock, idcard, permissions
from ..core.audit import AuditLog
from ..core.errors import DomainError
from ..core.numbers import plain_decimal, plain_number_text
from ..exams.models import ExamPlan, ExamRoom, ExamSession, Subject
from ..extensions import db
from ..registrations.models import Registration
from ..scheduling.models import AdmissionTicket, Seat
from ..sites.models import ExamSite
from . import outcomes, results, retake_lock  # noqa: F401 (outcomes fills the registration pages hooks)
from .models import Result, Score, ScoreObjection, ScorePublication
from .states import OBJECTION, PUBLICATION, ObjectionState, PublicationStage

MIN_DISPLAY_DAYS, MAX_DISPLAY_DAYS = 1, 30
MAX_REASON = 500
SCORE_FIELDS = ["score", "absent", "violation"]

#: Later areas that hold on to a registration's scores: the certificates area answers which of
#: the given registrations of a plan have a certificate record that is not 已撤销, with the
#: record's state and its number once it has one ({registration id: "已发放；证书编号：…"}). Their scores cannot change until the record is
#: revoked. The later area registers itself here (an earlier area never imports a later one).
LOCKED_SOURCES: list[Callable[[int, set[int]], dict[int, str]]] = []


# ---- reading and checking one entry ---------------------------------------------------------

def parse_score(raw: Any, full_mark: int) -> Decimal | None:
    """A score typed or read from a sheet: blank is None; else 0..full_mark with at most one decimal."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise DomainError("成绩须为数字")
    # only the plain form: Decimal also reads 1_0, 1e2, Infinity and other scripts' digits
    value = plain_decimal(plain_number_text(raw))
    if value is None:
        raise DomainError(f"成绩「{str(raw).strip()[:20]}」不是数字（请填写如 85 或 85.5 的数）")
    if value < 0 or value > full_mark:  # first: quantizing a huge number raises
        raise DomainError(f"成绩须在 0 到满分 {full_mark} 之间（填写的是 {str(raw).strip()[:20]}）")
    if value != value.quantize(Decimal("0.1")):
        raise DomainError(f"成绩「{str(raw).strip()[:20]}」最多保留一位小数")
    return value.quantize(Decimal("0.1")).copy_abs() if value.is_zero() else value.quantize(Decimal("0.1"))


def check_entry(subject: Subject, raw_score: Any, absent: bool, violation: bool) -> tuple[Decimal | None, bool, bool]:
    """The stored form of one entry, or a DomainError saying what is wrong with it."""
    value = parse_score(raw_score, subject.full_mark)
    if absent and value is not None:
        raise DomainError("已标记缺考的科目不能同时填写成绩")
    if absent and violation:
        raise DomainError("缺考和违纪不能同时标记")
    return value, bool(absent), bool(violation)


# ---- publication --------------------------------------------------------------------------

def publication(plan_id: int) -> ScorePublication:
    """The plan's publication record, locked until the commit, made at 成绩登记中 the first time
    it is asked for. Moves between stages and objections take turns on it: two clicks on 发布
    do not both publish, and no objection slips in while the open ones are being counted."""
    query = (select(ScorePublication).where(ScorePublication.plan_id == plan_id).with_for_update()
             .execution_options(populate_existing=True))
    pub = db.session.scalar(query)
    if pub is None:
        # Two first requests at once: the plan's row makes them take turns, and the second,
        # reading again, finds the first's record.
        db.session.execute(select(ExamPlan.id).where(ExamPlan.id == plan_id).with_for_update())
        pub = db.session.scalar(query)
    if pub is None:
        pub = ScorePublication(plan_id=plan_id, stage=PublicationStage.ENTERING)
        db.session.add(pub)
        db.session.flush()
    return pub


def stage_of(plan_id: int) -> PublicationStage:
    """The stage without creating anything (pages that only read)."""
    stage = db.session.scalar(select(ScorePublication.stage).where(ScorePublication.plan_id == plan_id))
    return stage or PublicationStage.ENTERING


def get_plan(actor: Any, plan_id: Any) -> ExamPlan:
    permissions.require(actor, "scores.view")
    return permissions.get_for(actor, ExamPlan, plan_id)


def open_display(actor: Any, plan_id: Any, display_days: Any) -> ScorePublication:
    """成绩登记中 → 成绩公示中: every seat needs its score or mark; the period runs for display_days days."""
    permissions.require(actor, "scores.publish")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    try:
        days = int(display_days)
    except (TypeError, ValueError):
        raise DomainError("公示天数须为整数", field="display_days")
    if not MIN_DISPLAY_DAYS <= days <= MAX_DISPLAY_DAYS:
        raise DomainError(f"公示天数须在 {MIN_DISPLAY_DAYS} 到 {MAX_DISPLAY_DAYS} 天之间", field="display_days")
    pub = publication(plan.id)
    if pub.stage != PublicationStage.ENTERING:
        PUBLICATION.move(pub, "display", actor)  # refuses with the stage in the message
    pending = unended_sessions(plan.id)
    if pending:
        first = min(pending.values(), key=lambda s: (s.date, s.end_time))
        more = f"等 {len(pending)} 场考试" if len(pending) > 1 else ""
        raise DomainError(f"{_session_label(first)}{more}尚未结束，考试全部结束后才能开始公示成绩")
    _store_checkin_absences(actor, plan.id)
    missing = missing_count(plan.id)
    if missing:
        raise DomainError(f"还有 {missing} 项科目成绩未登记（既无成绩也未标记缺考或违纪），不能开始公示")
    PUBLICATION.move(pub, "display", actor)
    now = clock.now()
    pub.display_days, pub.display_started_at = days, now
    pub.display_ends_at = now + timedelta(days=days)
    results.recompute(db.session.scalars(select(Seat.registration_id).where(Seat.plan_id == plan.id).distinct()))
    return pub


def publish_final(actor: Any, plan_id: Any) -> ScorePublication:
    """成绩公示中 → 成绩已发布, once the display period is over and every objection answered."""
    permissions.require(actor, "scores.publish")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    pub = publication(plan.id)
    if pub.stage == PublicationStage.DISPLAY:
        if pub.display_ends_at and clock.now() < pub.display_ends_at:
            raise DomainError(f"公示期至 {pub.display_ends_at:%Y-%m-%d %H:%M} 结束，公示期内不能发布成绩")
        open_count = db.session.scalar(select(func.count(ScoreObjection.id)).where(
            ScoreObjection.plan_id == plan.id, ScoreObjection.state == ObjectionState.OPEN))
        if open_count:
            raise DomainError(f"还有 {open_count} 条成绩异议未答复，答复后才能发布成绩")
    PUBLICATION.move(pub, "publish", actor)
    pub.published_at = clock.now()
    return pub


def _store_checkin_absences(actor: Any, plan_id: int) -> None:
    """Seats marked 缺考 at check-in and not yet entered become 缺考 scores (pre-marked entries)."""
    rows = db.session.execute(
        select(Seat.registration_id, Seat.subject_id, Seat.school_id)
        .outerjoin(Score, and_(Score.registration_id == Seat.registration_id, Score.subject_id == Seat.subject_id))
        .where(Seat.plan_id == plan_id, Seat.absent.is_(True), Score.id.is_(None))).all()
    if rows:
        _write(actor, plan_id, [Change(r, s, sc, None, True, False) for r, s, sc in rows], {}, reason="",
               source="签到缺考")


def missing_count(plan_id: int) -> int:
    """Seats of the plan without a score and without a mark."""
    return _seat_counts(plan_id)[1]


def entered_score_join():
    """The join condition of a seat and its score where the score counts as entered (a score,
    缺考 or 违纪): a seat outer-joined with it and left without a Score is still to be entered."""
    return and_(Score.registration_id == Seat.registration_id, Score.subject_id == Seat.subject_id,
                Score.score.is_not(None) | Score.absent.is_not(False) | Score.violation.is_not(False))


def _seat_counts(plan_id: int) -> tuple[int, int, int]:
    """The plan's seats, those of them without a score and without a mark, and of these the ones
    not marked 缺考 at check-in (开始公示 enters those itself), in one statement.

    The join takes only the scores that count as entered: a narrower hash than joining every
    score and filtering afterwards (450,000 seats at national scale)."""
    seats, missing, unmarked = db.session.execute(
        select(func.count(Seat.id), func.count(Seat.id).filter(Score.id.is_(None)),
               func.count(Seat.id).filter(Score.id.is_(None), Seat.absent.is_(False)))
        .outerjoin(Score, entered_score_join()).where(Seat.plan_id == plan_id)).one()
    return seats or 0, missing or 0, unmarked or 0


# ---- writing scores -----------------------------------------------------------------------

@dataclass
class Change:
    registration_id: int
    subject_id: int
    school_id: int
    score: Decimal | None
    absent: bool
    violation: bool
    label: str = ""


def _existing(plan_id: int, keys: list[tuple[int, int]] | None = None) -> dict[tuple[int, int], dict]:
    query = select(Score.id, Score.registration_id, Score.subject_id, Score.score, Score.absent,
                   Score.violation).where(Score.plan_id == plan_id)
    if keys is not None and len(keys) <= results.CHUNK:
        # a few rows (a page, an answer): by registration; a whole file: the plan, without a huge IN list
        query = query.where(Score.registration_id.in_({k[0] for k in keys}))
    return {(r.registration_id, r.subject_id): dict(r._mapping) for r in db.session.execute(query)}


def require_reason(pub_stage: PublicationStage, reason: str) -> str:
    """After the display has begun a change needs its reason (DOMAIN.md §9)."""
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise DomainError(f"修改原因不能超过 {MAX_REASON} 字", field="reason")
    if pub_stage != PublicationStage.ENTERING and not reason:
        raise DomainError(f"成绩已进入「{pub_stage.value}」阶段，修改成绩必须填写修改原因", field="reason")
    return reason


def _effective(changes: list[Change], existing: dict) -> tuple[list, list]:
    """The changes that would write: (change, after) of new scores, (change, id, before, after) of changed ones."""
    new, changed = [], []
    for c in changes:
        after = {"score": c.score, "absent": c.absent, "violation": c.violation}
        old = existing.get((c.registration_id, c.subject_id))
        if old is None:
            if c.score is None and not c.absent and not c.violation:
                continue  # nothing typed for a row never entered
            new.append((c, after))
        else:
            before = {k: old[k] for k in SCORE_FIELDS}
            if before["score"] is not None:
                before["score"] = Decimal(before["score"]).quantize(Decimal("0.1"))
            if before == after:
                continue
            changed.append((c, old["id"], before, after))
    return new, changed


def unended_sessions(plan_id: int) -> dict[int, ExamSession]:
    """The plan's sessions that have not ended yet (by the clock): no score can be entered for them."""
    now = clock.now()
    sessions = db.session.scalars(select(ExamSession).options(joinedload(ExamSession.subject))
                                  .where(ExamSession.plan_id == plan_id, ExamSession.date >= now.date()))
    return {s.id: s for s in sessions if s.ends_at > now}


def first_session_end(plan_id: int):
    """When the plan's first session ends (None for a plan without sessions): before it no score can
    be entered at all, and the pages say 考试尚未结束 rather than 成绩登记中."""
    first = db.session.execute(select(ExamSession.date, ExamSession.end_time).where(ExamSession.plan_id == plan_id)
                               .order_by(ExamSession.date, ExamSession.end_time).limit(1)).first()
    return datetime.combine(first.date, first.end_time) if first else None


def unended_clause(now: datetime | None = None):
    """SQL: the session (ExamSession) has not ended yet by the clock (date and time compared
    apart, the same on SQLite and PostgreSQL)."""
    now = now or clock.now()
    return (ExamSession.date > now.date()) | ((ExamSession.date == now.date()) & (ExamSession.end_time > now.time()))


def no_session_ended(plan_id: int) -> bool:
    """No session of the plan has ended yet (by the clock)."""
    first = first_session_end(plan_id)
    return first is not None and first > clock.now()


def _session_label(session: ExamSession) -> str:
    return (f"科目「{session.subject.name}」的考试（{session.date:%Y-%m-%d} "
            f"{session.start_time:%H:%M}-{session.end_time:%H:%M}）")


def locked_registrations(plan_id: int, registration_ids: set[int]) -> dict[int, str]:
    """Of these registrations, those whose scores a later step holds (a certificate), with its state."""
    found: dict[int, str] = {}
    if registration_ids:
        for source in LOCKED_SOURCES:
            found.update(source(plan_id, set(registration_ids)))
    return found


def refusals(plan_id: int, changes: list[Change], existing: dict | None = None) -> dict[int, str]:
    """Which of the changes (by position) may not be written, and why.

    Only changes that would write count (a row typed as it is stored is no change): a score
    for a session that has not ended yet (DOMAIN.md §9: scores come from a held exam), and a
    change of a registration whose certificate was made and not revoked, and a correction of a
    final failed subject to a pass while a 补考 registration elsewhere rests on it (retake_lock)."""
    if existing is None:
        existing = _existing(plan_id, [(c.registration_id, c.subject_id) for c in changes])
    new, changed = _effective(changes, existing)
    writing = {id(c) for c, *_ in new} | {id(c) for c, *_ in changed}
    return _refusals(plan_id, [(i, c) for i, c in enumerate(changes) if id(c) in writing], existing)


def _refusals(plan_id: int, wanted: list[tuple[int, Change]], existing: dict) -> dict[int, str]:
    if not wanted:
        return {}
    out: dict[int, str] = {}
    pending = unended_sessions(plan_id)
    if pending:
        regs = {c.registration_id for _, c in wanted}
        query = select(Seat.registration_id, Seat.subject_id, Seat.session_id).where(
            Seat.plan_id == plan_id, Seat.session_id.in_(list(pending)))
        if len(regs) <= results.CHUNK:
            query = query.where(Seat.registration_id.in_(regs))
        waiting = {(r, s): session_id for r, s, session_id in db.session.execute(query)}
        for i, c in wanted:
            session_id = waiting.get((c.registration_id, c.subject_id))
            if session_id is not None:
                session = pending[session_id]
                out[i] = (f"该科目考试（{session.date:%Y-%m-%d} {session.start_time:%H:%M}-"
                          f"{session.end_time:%H:%M}）尚未结束，不能登记成绩")
    locked = locked_registrations(plan_id, {c.registration_id for _, c in wanted})
    if locked:
        names = dict(db.session.execute(select(Registration.id, Candidate.name)
                                        .join(Candidate, Candidate.id == Registration.candidate_id)
                                        .where(Registration.id.in_(list(locked)))).all())
        for i, c in wanted:
            state = locked.get(c.registration_id)
            if state is not None and i not in out:
                out[i] = (f"{names.get(c.registration_id, '该考生')}的成绩已生成证书（状态：{state}），"
                          "须先撤销证书后再更正成绩")
    # A correction to a pass while another plan's registration counts the person as a retaker.
    out.update(retake_lock.refusals(plan_id, [(i, c.registration_id, c.subject_id, _entry(c))
                                              for i, c in wanted if i not in out], existing))
    return out


def _entry(change: Change) -> dict:
    return {"score": change.score, "absent": change.absent, "violation": change.violation}


def _write(actor: Any, plan_id: int, changes: list[Change], existing: dict | None, *, reason: str,
           source: str) -> int:
    """Write the changes that differ from what is stored, audit each one, recompute the results.

    Set-based: one INSERT for new scores, one executemany UPDATE, one INSERT of audit records.
    A change `refusals` names is refused as a whole (the grid and the import report them per row
    before calling this).
    """
    if existing is None or not existing:
        existing = _existing(plan_id, [(c.registration_id, c.subject_id) for c in changes])
    new, changed = _effective(changes, existing)
    if not new and not changed:
        return 0
    refused = _refusals(plan_id, list(enumerate([c for c, *_ in new] + [c for c, *_ in changed])), existing)
    if refused:
        raise DomainError(next(iter(refused.values())))
    now = clock.now()
    actor_id = getattr(actor, "id", None)
    audits = []
    stage = stage_of(plan_id)
    action = "score.enter" if stage == PublicationStage.ENTERING else "score.correct"
    if new:
        # One executemany INSERT (RETURNING with parameter order runs row by row on SQLite),
        # then the new ids in one read by their unique (registration, subject).
        try:
            with db.session.begin_nested():  # a savepoint: a lost race leaves the transaction usable
                db.session.execute(insert(Score.__table__), [
                    {"registration_id": c.registration_id, "subject_id": c.subject_id, "plan_id": plan_id,
                     "school_id": c.school_id, "score": c.score, "absent": c.absent, "violation": c.violation,
                     "entered_at": now, "entered_by_id": actor_id, "updated_at": now} for c, _ in new])
        except IntegrityError:
            # Someone else saved one of these scores between our read and our write.
            raise DomainError("部分成绩刚刚已由他人录入，本次未保存，请刷新页面核对后重新保存")
        ids = {key: row["id"] for key, row in _existing(plan_id, [(c.registration_id, c.subject_id)
                                                                   for c, _ in new]).items()}
        for c, after in new:
            audits.append(_audit_row(actor, action, ids[(c.registration_id, c.subject_id)], c, None, after,
                                     reason, source, now))
    if changed:
        db.session.execute(update(Score), [
            {"id": score_id, "score": after["score"], "absent": after["absent"], "violation": after["violation"],
             "entered_at": now, "entered_by_id": actor_id, "updated_at": now}
            for c, score_id, _, after in changed])
        for c, score_id, before, after in changed:
            audits.append(_audit_row(actor, action, score_id, c, before, after, reason, source, now))
    _insert_audits(actor, audits)
    results.recompute({c.registration_id for c, *_ in new} | {c.registration_id for c, *_ in changed})
    return len(new) + len(changed)


def _audit_row(actor, action, score_id, change: Change, before, after, reason, source, now) -> dict:
    extra = {"source": source}
    if reason:
        extra["reason"] = reason
    return {"at": now, "actor_id": getattr(actor, "id", None), "actor_name": getattr(actor, "name", None) or "系统",
            "actor_role": str(getattr(actor, "role", None) or "system"), "action": action, "entity_type": "score",
            "entity_id": score_id, "entity_label": change.label[:200], "ip": "",
            "before": audit._plain(before) if before is not None else None,
            "after": audit._plain({**after, **extra}), "school_id": change.school_id}


def _insert_audits(actor, rows: list[dict]) -> None:
    if not rows:
        return
    from ..catalog.models import School

    schools = {s.id: s for s in db.session.scalars(select(School).where(School.id.in_({r["school_id"] for r in rows})))}
    ip = (request.remote_addr or "") if has_request_context() else ""
    for row in rows:
        school = schools.get(row["school_id"])
        row["city_id"] = school.city_id if school else None
        row["province_id"] = school.province_id if school else None
        row["ip"] = ip
    db.session.execute(insert(AuditLog.__table__), rows)


# ---- the entry grid (per site and room) ---------------------------------------------------

@dataclass
class GridRow:
    seat_id: int
    registration_id: int
    subject_id: int
    school_id: int
    ticket_number: str
    name: str
    subject: Subject
    seat_number: int
    score: Decimal | None
    absent: bool
    violation: bool
    #: 缺考 comes from check-in (no score entered yet)
    pre_marked: bool = False
    entered: bool = False
    score_id: int | None = None
    #: what the user typed, kept when the row was refused
    typed: str | None = None
    error: str = ""
    #: the row's session has not ended: nothing can be entered yet (the grid disables its inputs)
    not_over: bool = False


def entry_choices(actor: Any, plan_id: Any) -> tuple[ExamPlan, list[ExamSite], list[ExamRoom]]:
    """The plan, its sites holding seats and their rooms (for choosing a grid)."""
    permissions.require(actor, "scores.enter")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    rooms = list(db.session.scalars(
        select(ExamRoom).options(joinedload(ExamRoom.site), joinedload(ExamRoom.subject))
        .where(ExamRoom.plan_id == plan.id, select(Seat.id).where(Seat.room_id == ExamRoom.id).exists())
        .order_by(ExamRoom.site_id, ExamRoom.number, ExamRoom.id)))
    sites = list({r.site_id: r.site for r in rooms}.values())
    return plan, sites, rooms


#: a plan with at most this many rooms lists them all at once (grouped by site); above it the
#: user chooses the site first and then one of its rooms (a national plan has 16,000 rooms)
ENTRY_DIRECT_ROOMS = 60


@dataclass
class EntryChooser:
    plan: ExamPlan
    #: the sites holding seated rooms of the plan (empty when the rooms are listed directly)
    sites: list[ExamSite]
    #: the rooms offered: all of the plan's (few) or the chosen site's
    rooms: list[ExamRoom]
    site: ExamSite | None = None
    direct: bool = True


def entry_chooser(actor: Any, plan_id: Any, site_id: Any = None, room_id: Any = None) -> EntryChooser:
    """What the entry page offers to choose: a few rooms directly, or the sites and then the chosen site's rooms.

    The site is the one asked for, else the room's, else the first; a site or room that is not the
    plan's is ignored (the first site is shown)."""
    permissions.require(actor, "scores.enter")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    seated = select(Seat.id).where(Seat.room_id == ExamRoom.id).exists()
    in_plan = (ExamRoom.plan_id == plan.id, seated)
    few = db.session.scalar(select(func.count()).select_from(
        select(ExamRoom.id).where(*in_plan).limit(ENTRY_DIRECT_ROOMS + 1).subquery()))
    room_query = (select(ExamRoom).options(joinedload(ExamRoom.site), joinedload(ExamRoom.subject))
                  .where(*in_plan).order_by(ExamRoom.site_id, ExamRoom.number, ExamRoom.id))
    if few <= ENTRY_DIRECT_ROOMS:
        rooms = list(db.session.scalars(room_query))
        return EntryChooser(plan, list({r.site_id: r.site for r in rooms}.values()), rooms)
    sites = list(db.session.scalars(
        select(ExamSite).where(select(ExamRoom.id).where(ExamRoom.site_id == ExamSite.id, *in_plan).exists())
        .order_by(ExamSite.id)))
    by_id = {site.id: site for site in sites}
    site = by_id.get(_int_or_none(site_id))
    if site is None and room_id is not None:
        room_site = db.session.scalar(select(ExamRoom.site_id).where(
            ExamRoom.id == _int_or_none(room_id), ExamRoom.plan_id == plan.id))
        site = by_id.get(room_site)
    if site is None and sites:
        site = sites[0]
    rooms = list(db.session.scalars(room_query.where(ExamRoom.site_id == site.id))) if site else []
    return EntryChooser(plan, sites, rooms, site, direct=False)


def _int_or_none(value: Any) -> int | None:
    return permissions.parse_id(value)


def entry_grid(actor: Any, plan_id: Any, room_id: Any) -> tuple[ExamPlan, ExamRoom, list[GridRow]]:
    """The rows of one room of a plan: ticket number, name, subject, score and marks, by session and seat."""
    permissions.require(actor, "scores.enter")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    room = permissions.get_for(actor, ExamRoom, room_id)
    if room.plan_id != plan.id:
        raise permissions.NotInScope()
    rows = db.session.execute(
        select(Seat, AdmissionTicket.ticket_number, Candidate.name, Score)
        .join(Registration, Registration.id == Seat.registration_id)
        .join(Candidate, Candidate.id == Registration.candidate_id)
        .join(AdmissionTicket, AdmissionTicket.registration_id == Seat.registration_id)
        .join(ExamSession, ExamSession.id == Seat.session_id)
        .outerjoin(Score, and_(Score.registration_id == Seat.registration_id, Score.subject_id == Seat.subject_id))
        .options(joinedload(Seat.subject))
        .where(Seat.room_id == room.id)
        .order_by(ExamSession.date, ExamSession.start_time, Seat.seat_number)).all()
    grid = []
    pending = unended_sessions(plan.id)
    for seat, ticket, name, score in rows:
        row = GridRow(seat.id, seat.registration_id, seat.subject_id, seat.school_id, ticket, name, seat.subject,
                      seat.seat_number, None, seat.absent, False, pre_marked=seat.absent and score is None,
                      not_over=seat.session_id in pending)
        if score is not None:
            row.score, row.absent, row.violation = score.score, score.absent, score.violation
            row.entered, row.score_id = score.entered, score.id
        grid.append(row)
    return plan, room, grid


@dataclass
class SaveReport:
    saved: int = 0
    errors: dict[int, str] = field(default_factory=dict)


def save_grid(actor: Any, plan_id: Any, room_id: Any, entries: dict[int, dict], reason: str = "") -> tuple[SaveReport, list[GridRow]]:
    """Save a page of the grid: the good rows are written, each bad row keeps what was typed and its message.

    `entries` maps seat id -> {"score": text, "absent": bool, "violation": bool}; seats not
    in the room are ignored.
    """
    plan, room, grid = entry_grid(actor, plan_id, room_id)
    reason = require_reason(stage_of(plan.id), reason)
    report = SaveReport()
    changes, changed_rows = [], []
    for row in grid:
        entry = entries.get(row.seat_id)
        if entry is None:
            continue
        try:
            value, absent, violation = check_entry(row.subject, entry.get("score"), entry.get("absent"),
                                                   entry.get("violation"))
        except DomainError as exc:
            row.typed, row.error = str(entry.get("score") or ""), exc.message
            row.absent, row.violation = bool(entry.get("absent")), bool(entry.get("violation"))
            report.errors[row.seat_id] = exc.message
            continue
        changes.append(Change(row.registration_id, row.subject_id, row.school_id, value, absent, violation,
                              f"{row.name} {row.subject.name}"))
        changed_rows.append((row, entry))
    # Rows that may not change now (exam not over, certificate made) are refused one by one.
    refused = refusals(plan.id, changes)
    for index, message in refused.items():
        row, entry = changed_rows[index]
        row.typed, row.error = str(entry.get("score") or ""), message
        row.absent, row.violation = bool(entry.get("absent")), bool(entry.get("violation"))
        report.errors[row.seat_id] = message
    changes = [c for i, c in enumerate(changes) if i not in refused]
    report.saved = _write(actor, plan.id, changes, None, reason=reason, source="成绩录入")
    return report, entry_grid(actor, plan.id, room.id)[2] if not report.errors else _merge(grid, actor, plan, room)


def _merge(grid: list[GridRow], actor, plan, room) -> list[GridRow]:
    """The stored rows, with the refused rows showing what was typed."""
    refused = {r.seat_id: r for r in grid if r.error}
    fresh = entry_grid(actor, plan.id, room.id)[2]
    return [refused.get(r.seat_id, r) for r in fresh]


# ---- objections ---------------------------------------------------------------------------

def raise_objection(actor: Any, score_id: Any, reason: str) -> ScoreObjection:
    """A school objects to one of its scores during the display period."""
    permissions.require(actor, "scores.object")
    score = permissions.get_for(actor, Score, score_id)
    pub = publication(score.plan_id)
    if pub.stage != PublicationStage.DISPLAY:
        raise DomainError(f"成绩处于「{pub.stage.value}」阶段，只有公示期内可以提出异议")
    if pub.display_ends_at and clock.now() > pub.display_ends_at:
        raise DomainError(f"公示期已于 {pub.display_ends_at:%Y-%m-%d %H:%M} 结束，不能再提出异议")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写异议理由", field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(f"异议理由不能超过 {MAX_REASON} 字", field="reason")
    if db.session.scalar(select(ScoreObjection.id).where(ScoreObjection.score_id == score.id,
                                                         ScoreObjection.state == ObjectionState.OPEN)):
        raise DomainError("该成绩已有待答复的异议，请等待评价组织答复")
    objection = ScoreObjection(score_id=score.id, plan_id=score.plan_id, school_id=score.school_id, reason=reason,
                               raised_by_id=getattr(actor, "id", None), raised_at=clock.now())
    db.session.add(objection)
    db.session.flush()
    audit.record(actor, "score_objection.create", objection, after={"score_id": score.id, "reason": reason})
    return objection


def answer_objection(actor: Any, objection_id: Any, answer: str, *, change: bool = False, score: Any = None,
                     absent: bool = False, violation: bool = False) -> ScoreObjection:
    """The org answers an objection with a reason; with `change` the score is corrected, the answer its reason."""
    permissions.require(actor, "scores.answer")
    objection = permissions.get_for(actor, ScoreObjection, objection_id)
    answer = (answer or "").strip()
    if not answer:
        raise DomainError("请填写答复理由", field="answer")
    if len(answer) > MAX_REASON:
        raise DomainError(f"答复理由不能超过 {MAX_REASON} 字", field="answer")
    OBJECTION.move(objection, "answer", actor, reason=answer)
    objection.answer, objection.answered_by_id, objection.answered_at = answer, getattr(actor, "id", None), clock.now()
    if change:
        target = objection.score
        value, absent, violation = check_entry(target.subject, score, absent, violation)
        _write(actor, target.plan_id, [Change(target.registration_id, target.subject_id, target.school_id, value,
                                              absent, violation, _label(target))],
               None, reason=f"答复成绩异议：{answer}", source="成绩异议")
    return objection


def _label(score: Score) -> str:
    return f"{score.registration.candidate.name} {score.subject.name}"


def list_objections(actor: Any, plan_id: Any, state: str = ""):
    """Objections of a plan in the actor's scope, newest first."""
    permissions.require(actor, "scores.view")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    query = (permissions.scoped(actor, select(ScoreObjection))
             .options(joinedload(ScoreObjection.score).joinedload(Score.registration).joinedload(Registration.candidate),
                      joinedload(ScoreObjection.score).joinedload(Score.subject))
             .where(ScoreObjection.plan_id == plan.id).order_by(ScoreObjection.id.desc()))
    if state in {s.value for s in ObjectionState}:
        query = query.where(ScoreObjection.state == ObjectionState(state))
    return query


# ---- reading scores (org, schools, candidates) ----------------------------------------------

def list_scores(actor: Any, plan_id: Any, q: str = ""):
    """Scores of a plan in the actor's scope (schools and candidates from display on), by ticket number.

    Every score belongs to a seated registration, which has its ticket: the inner join lets
    PostgreSQL walk the ticket numbers' unique index in order instead of sorting a national
    plan's half a million scores for each page."""
    plan = get_plan(actor, plan_id)
    query = (permissions.scoped(actor, select(Score))
             .join(AdmissionTicket, AdmissionTicket.registration_id == Score.registration_id)
             .join(Registration, Registration.id == Score.registration_id)
             .join(Candidate, Candidate.id == Registration.candidate_id)
             # the registration and candidate come from the joins above (contains_eager), not
             # from joining them a second time: with fewer tables the planner may reorder the
             # joins, which a candidate's or a school's scope needs to start from its own rows
             .options(joinedload(Score.subject), contains_eager(Score.registration).contains_eager(Registration.candidate))
             .where(Score.plan_id == plan.id)
             .order_by(AdmissionTicket.ticket_number, Score.subject_id))
    q = (q or "").strip()[:50]
    if q:
        query = query.where(Candidate.name.contains(q) | (AdmissionTicket.ticket_number == q.replace(" ", ""))
                            | (Candidate.id_number == idcard.normalise(q)))
    return plan, query


def page_extras(scores: list[Score]) -> tuple[dict[int, str], dict[int, bool | None]]:
    """Ticket numbers and results of the registrations on one page of scores (two queries, not N)."""
    ids = {s.registration_id for s in scores}
    if not ids:
        return {}, {}
    tickets = dict(db.session.execute(select(AdmissionTicket.registration_id, AdmissionTicket.ticket_number)
                                      .where(AdmissionTicket.registration_id.in_(ids))).all())
    passed = dict(db.session.execute(select(Result.registration_id, Result.passed)
                                     .where(Result.registration_id.in_(ids))).all())
    return tickets, passed


def get_score(actor: Any, score_id: Any) -> Score:
    permissions.require(actor, "scores.view")
    return permissions.get_for(actor, Score, score_id)


def score_history(actor: Any, score: Score) -> list[AuditLog]:
    """Every change of a score, oldest first (after display: each with its reason)."""
    permissions.require(actor, "scores.view")
    return audit.history(score)


def summary(plan_id: int) -> dict[str, int]:
    """Counts for the plan's page: seats, entered, missing (of them unmarked: not 缺考 at check-in),
    results passed and failed, open objections."""
    seats, missing, unmarked = _seat_counts(plan_id)
    # the failed results as the registration pages read them: 不合格, 缺考 (nothing sat), 违纪
    failed_result = Result.passed.is_(False)
    broke, sat = outcomes.violated(Result.registration_id), outcomes.sat_any(Result.registration_id)
    passed, failed, absent, violation = db.session.execute(select(
        func.count(Result.id).filter(Result.passed.is_(True)),
        func.count(Result.id).filter(failed_result, ~broke, sat),
        func.count(Result.id).filter(failed_result, ~broke, ~sat),
        func.count(Result.id).filter(failed_result, broke)).where(Result.plan_id == plan_id)).one()
    open_objections = db.session.scalar(select(func.count(ScoreObjection.id)).where(
        ScoreObjection.plan_id == plan_id, ScoreObjection.state == ObjectionState.OPEN)) or 0
    return {"seats": seats, "entered": seats - missing, "missing": missing, "unmarked": unmarked, "passed": passed or 0,
            "failed": failed or 0, "absent": absent or 0, "violation": violation or 0,
            "not_passed": (failed or 0) + (absent or 0) + (violation or 0),
            "open_objections": open_objections}
