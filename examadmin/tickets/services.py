"""Admission tickets, room materials and the test-exam list: every rule about who gets what, when."""
from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload

from ..candidates.models import Candidate
from ..catalog.models import CertificateLevel
from ..core import audit, clock, idcard, jobs, pdf, permissions
from ..core.errors import DomainError
from ..core.excel import write_table
from ..core.storage import get_storage
from ..exams.models import ExamPlan, ExamRoom, ExamSession
from ..extensions import db
from ..registrations.models import Registration
from ..registrations.states import RegistrationState
from ..scheduling.models import AdmissionTicket, Seat
from ..scheduling.services import proctors
from ..sites.models import ExamSite
from . import render
from .data import Roster, TicketData, load_roster, load_tickets

log = logging.getLogger(__name__)


def window_text(plan: ExamPlan) -> str:
    return f"{plan.ticket_start:%Y-%m-%d %H:%M} 至 {plan.ticket_end:%Y-%m-%d %H:%M}"


def in_window(plan: ExamPlan, at: datetime | None = None) -> bool:
    at = at or clock.now()
    return plan.ticket_start <= at <= plan.ticket_end


def require_window(plan: ExamPlan, at: datetime | None = None) -> None:
    """Tickets are handed out only inside the plan's download window (考前一周下载准考证等物料)."""
    at = at or clock.now()
    if at < plan.ticket_start:
        raise DomainError(f"「{plan.name}」的准考证下载时间为 {window_text(plan)}，尚未开始。")
    if at > plan.ticket_end:
        raise DomainError(f"「{plan.name}」的准考证下载时间为 {window_text(plan)}，已经结束。")


def require_released(plan_id: int, site_ids: set[int]) -> None:
    """The scheduling rule (enough proctors in every room of a site before its tickets go
    out), checked for every site a download covers."""
    for site_id in sorted(site_ids):
        proctors.require_tickets_released(site_id, plan_id)


def _plan_in_scope(actor: Any, plan_id: Any) -> ExamPlan:
    return permissions.get_for(actor, ExamPlan, plan_id)


def _ticket_scope(actor: Any):
    return permissions.scope_clause(actor, Seat)


def _sites_of(where) -> set[int]:
    """The sites of the scheduled (not cancelled) registrations a download covers."""
    scheduled = select(Registration.id).where(Registration.state == RegistrationState.SCHEDULED)
    return set(db.session.scalars(select(Seat.site_id).where(where, Seat.registration_id.in_(scheduled)).distinct()))


def _check(plan: ExamPlan, where) -> None:
    require_window(plan)
    sites = _sites_of(where)
    if not sites:
        raise DomainError(f"「{plan.name}」还没有已排考的考生，没有可下载的准考证。")
    require_released(plan.id, sites)


def plan_tickets(actor: Any, plan_id: int, *, site_id: int | None = None,
                 room_id: int | None = None) -> tuple[ExamPlan, Any]:
    """Check a school's (or the org's) download of a plan's tickets; returns the plan and the filter."""
    permissions.require(actor, "tickets.download")
    if actor.role not in permissions.STAFF:
        raise permissions.ForbiddenAction()
    plan = _plan_in_scope(actor, plan_id)
    where = and_(_ticket_scope(actor), Seat.plan_id == plan.id)
    if site_id:
        site = permissions.get_for(actor, ExamSite, site_id)
        where = and_(where, Seat.site_id == site.id)
    if room_id:
        room = permissions.get_for(actor, ExamRoom, room_id)
        if room.plan_id != plan.id:
            raise permissions.NotInScope()
        where = and_(where, Seat.registration_id.in_(select(Seat.registration_id).where(Seat.room_id == room.id)))
    _check(plan, where)
    return plan, where


def write_plan_tickets(actor: Any, plan_id: int, target, *, site_id: int | None = None,
                       room_id: int | None = None, progress: Callable[[int, int], None] | None = None) -> int:
    """Render the tickets of a plan (or one site or room of it) into `target`; returns the pages."""
    plan, where = plan_tickets(actor, plan_id, site_id=site_id, room_id=room_id)
    registrations = select(Seat.registration_id).where(where)
    tickets = load_tickets(Registration.id.in_(registrations))
    total = len(tickets)
    pages = render.render_tickets(target, tickets, title=f"准考证 {plan.name}",
                                  progress=(lambda done: progress(done, total)) if progress else None)
    audit.record(actor, "tickets.download", plan,
                 after={"pages": pages, "site_id": site_id, "room_id": room_id})
    return pages


def submit_plan_job(actor: Any, plan_id: int, *, site_id: int | None = None) -> jobs.Job:
    """Render a whole plan's tickets as a background job with progress (one PDF)."""
    plan, _ = plan_tickets(actor, plan_id, site_id=site_id)
    return jobs.submit(actor, "tickets_pdf", {"plan_id": plan.id, "site_id": site_id},
                       title=f"生成准考证：{plan.name}")


def own_tickets(actor: Any) -> list[dict]:
    """A candidate's scheduled registrations, each with whether its ticket can be downloaded now."""
    permissions.require(actor, "tickets.download")
    rows = db.session.execute(
        select(Registration, AdmissionTicket.ticket_number)
        .join(AdmissionTicket, AdmissionTicket.registration_id == Registration.id)
        .where(permissions.scope_clause(actor, Registration))
        .where(Registration.state == RegistrationState.SCHEDULED)
        .order_by(Registration.id)).all()
    tickets = [{"registration": reg, "ticket_number": number, "plan": reg.plan, "open": in_window(reg.plan),
                "window": window_text(reg.plan)} for reg, number in rows]
    # what can be downloaded now first, then the newest plan
    return sorted(tickets, key=lambda t: (not t["open"], -t["plan"].id))


def candidate_ticket(actor: Any, registration_id: int) -> tuple[TicketData, bytes]:
    """A candidate's own ticket as a one-page PDF (inside the window)."""
    permissions.require(actor, "tickets.download")
    # One query for what the window check and the audit record read (the busiest page of the
    # ticket week: bench/rush.py), instead of one lazy load each.
    registration = permissions.get_for(actor, Registration, registration_id, options=(
        joinedload(Registration.plan), joinedload(Registration.school),
        joinedload(Registration.candidate).joinedload(Candidate.school),
        joinedload(Registration.certificate_level).joinedload(CertificateLevel.certificate)))
    if registration.state != RegistrationState.SCHEDULED:
        raise DomainError("该报考尚未排考，还没有准考证。")
    require_window(registration.plan)
    require_released(registration.plan_id, {registration.site_id})
    tickets = load_tickets(Registration.id == registration.id)
    if not tickets:
        raise DomainError("该报考尚未排考，还没有准考证。")
    data = ticket_pdf(tickets[0])
    audit.record(actor, "tickets.download", registration, after={"ticket_number": tickets[0].ticket_number})
    return tickets[0], data


#: where a candidate's drawn ticket is kept, one file per registration
TICKET_CACHE = "tickets/cache/{registration_id}.pdf"


def _ticket_digest(ticket: TicketData) -> bytes:
    """What the drawn page depends on: every field of the ticket (seats and QR token included),
    the photo file's size and time, the drawing code and the font."""
    photo = ""
    if ticket.photo_path:
        try:
            stat = os.stat(ticket.photo_path)
            photo = f"{stat.st_size}:{stat.st_mtime_ns}"
        except OSError:
            photo = "missing"
    content = f"{render.LAYOUT_VERSION}|{pdf.cjk_font()}|{photo}|{ticket!r}"
    return hashlib.sha256(content.encode()).hexdigest().encode()


def ticket_pdf(ticket: TicketData) -> bytes:
    """One candidate's ticket as a PDF, drawn once and kept in storage: in the ticket week each
    candidate downloads it again and again, and drawing it (font subset, QR code) is most of
    the request. The stored file starts with the digest of what it shows; when anything on the
    ticket changes (a seat placed for another session, a corrected name, a new photo) the
    digest differs and the ticket is drawn again and replaces the stored one."""
    storage = get_storage()
    key = TICKET_CACHE.format(registration_id=ticket.registration_id)
    digest = _ticket_digest(ticket)
    try:
        stored = storage.read(key)
    except OSError:
        stored = b""
    head, _, body = stored.partition(b"\n")
    if head == digest and body.startswith(b"%PDF") and body.rstrip().endswith(b"%%EOF"):
        return body
    buffer = io.BytesIO()
    render.render_tickets(buffer, [ticket], title=f"准考证 {ticket.ticket_number}")
    data = buffer.getvalue()
    try:
        storage.save(key, digest + b"\n" + data)
    except OSError:  # a full or read-only disk costs the next download a drawing, not this one
        log.warning("could not keep the drawn ticket %s", key, exc_info=True)
    return data


# ---- room materials ---------------------------------------------------------------------

def rooms_with_seats(actor: Any, plan_id: int, site_id: int | None = None):
    """A select of the rooms of a plan in scope that hold candidates, for paging the materials
    list (a national plan has tens of thousands)."""
    permissions.require(actor, "tickets.materials")
    plan = _plan_in_scope(actor, plan_id)
    query = (select(ExamRoom).where(ExamRoom.plan_id == plan.id, permissions.scope_clause(actor, ExamRoom),
                                    select(Seat.id).where(Seat.room_id == ExamRoom.id).exists())
             .order_by(ExamRoom.site_id, ExamRoom.number, ExamRoom.id))
    if site_id:
        query = query.where(ExamRoom.site_id == site_id)
    return query


def sites_with_seats(actor: Any, plan_id: int) -> list:
    """The sites in scope with seated candidates of the plan (a probe per site, not a read of every seat),
    as (id, name) rows: the page only names them, and the org's 3,000 sites as full objects cost
    more than the query itself."""
    return list(db.session.execute(select(ExamSite.id, ExamSite.name).where(
        permissions.scope_clause(actor, ExamSite),
        select(Seat.id).where(Seat.site_id == ExamSite.id, Seat.plan_id == plan_id).exists())
        .order_by(ExamSite.name)))


def room_sessions(actor: Any, plan_id: int, site_id: int | None = None,
                  room_ids: list[int] | None = None) -> list[dict]:
    """Every room of a plan in scope (or the given ones) with the sessions it holds candidates
    for (for materials)."""
    permissions.require(actor, "tickets.materials")
    plan = _plan_in_scope(actor, plan_id)
    query = (select(ExamRoom, ExamSession, func.count(Seat.id),
                    func.count(Seat.checked_in_at), func.sum(case((Seat.absent, 1), else_=0)))
             .join(Seat, Seat.room_id == ExamRoom.id)
             .join(ExamSession, ExamSession.id == Seat.session_id)
             .join(Registration, and_(Registration.id == Seat.registration_id,
                                      Registration.state == RegistrationState.SCHEDULED))
             .where(ExamRoom.plan_id == plan.id, permissions.scope_clause(actor, ExamRoom))
             .group_by(ExamRoom.id, ExamSession.id)
             .order_by(ExamSession.date, ExamSession.start_time, ExamRoom.name))
    if site_id:
        query = query.where(ExamRoom.site_id == site_id)
    if room_ids is not None:
        query = query.where(ExamRoom.id.in_(room_ids))
    return [{"room": room, "session": session, "seated": seated, "checked_in": checked, "absent": absent or 0}
            for room, session, seated, checked, absent in db.session.execute(query)]


def roster(actor: Any, room_id: int, session_id: int) -> Roster:
    """Who sits a room in one session, in seat order (door list, sign-in sheet)."""
    permissions.require(actor, "tickets.materials")
    room = permissions.get_for(actor, ExamRoom, room_id)
    session = permissions.get_for(actor, ExamSession, session_id)
    if session.plan_id != room.plan_id or session.subject_id != room.subject_id:
        raise DomainError("该场次不在这个考场考试。")
    return load_roster(room, session)


def door_list_pdf(actor: Any, room_id: int, session_id: int) -> tuple[Roster, bytes]:
    data = roster(actor, room_id, session_id)
    buffer = io.BytesIO()
    render.render_door_list(buffer, data)
    return data, buffer.getvalue()


def sign_in_sheet_pdf(actor: Any, room_id: int, session_id: int) -> tuple[Roster, bytes]:
    data = roster(actor, room_id, session_id)
    buffer = io.BytesIO()
    render.render_sign_in_sheet(buffer, data)
    return data, buffer.getvalue()


# ---- test exam (测试考试) -----------------------------------------------------------------

TEST_EXAM_HEADERS = ["准考证号", "姓名", "证件号码", "场次", "科目", "考场", "座位号"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value: str) -> str:
    """Cells that a spreadsheet would take for a formula stay text (ARCHITECTURE.md)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def test_exam_rows(actor: Any, plan_id: int, session_id: int | None = None) -> tuple[ExamPlan, list[list]]:
    """The list the exam system needs for the test exam: ticket number, name, masked ID, where."""
    permissions.require(actor, "tickets.materials")
    plan = _plan_in_scope(actor, plan_id)
    query = (select(AdmissionTicket.ticket_number, Candidate.name, Candidate.id_number, ExamSession,
                    ExamRoom.name, Seat.seat_number)
             .select_from(Seat)
             .join(Registration, Registration.id == Seat.registration_id)
             .join(AdmissionTicket, AdmissionTicket.registration_id == Registration.id)
             .join(Candidate, Candidate.id == Registration.candidate_id)
             .join(ExamSession, ExamSession.id == Seat.session_id)
             .join(ExamRoom, ExamRoom.id == Seat.room_id)
             .where(Seat.plan_id == plan.id, Registration.state == RegistrationState.SCHEDULED,
                    permissions.scope_clause(actor, Seat))
             .order_by(ExamSession.date, ExamSession.start_time, AdmissionTicket.ticket_number))
    if session_id:
        session = permissions.get_for(actor, ExamSession, session_id)
        if session.plan_id != plan.id:
            raise permissions.NotInScope()
        query = query.where(Seat.session_id == session.id)
    rows = []
    for number, name, id_number, session, room, seat in db.session.execute(query):
        when = f"{session.date:%Y-%m-%d} {session.start_time:%H:%M}-{session.end_time:%H:%M}"
        rows.append([number, _text_cell(name), idcard.mask(id_number), when, _text_cell(session.subject.name),
                     _text_cell(room), seat])
    return plan, rows


def test_exam_export(actor: Any, plan_id: int, session_id: int | None, fmt: str) -> tuple[str, bytes]:
    """The test-exam list as Excel or CSV (UTF-8 with BOM, which Excel opens correctly)."""
    if fmt not in ("xlsx", "csv"):
        raise DomainError("导出格式只能是 Excel 或 CSV")
    plan, rows = test_exam_rows(actor, plan_id, session_id)
    audit.record(actor, "tickets.test_exam_export", plan, after={"rows": len(rows), "format": fmt})
    name = f"测试考试名单-{plan.id}{'-' + str(session_id) if session_id else ''}.{fmt}"
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(TEST_EXAM_HEADERS)
        writer.writerows(rows)
        return name, ("\ufeff" + text.getvalue()).encode("utf-8")
    buffer = io.BytesIO()
    write_table(buffer, "测试考试名单", TEST_EXAM_HEADERS, rows, widths=[22, 12, 22, 24, 16, 14, 8])
    return name, buffer.getvalue()
