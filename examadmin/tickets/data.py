"""What a ticket, a door list or a sign-in sheet shows, loaded set-based (no query per candidate)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import func, select

from ..candidates.models import Candidate
from ..catalog.models import Certificate, CertificateLevel
from ..core import idcard
from ..core.storage import get_storage
from ..exams.models import ExamPlan, ExamRoom, ExamSession, Subject
from ..extensions import db
from ..registrations.models import Registration
from ..registrations.states import RegistrationState
from ..scheduling.models import AdmissionTicket, Seat
from ..sites.models import ExamSite
from . import tokens


@dataclass
class SeatLine:
    session_id: int
    room_id: int
    subject: str
    mode: str
    day: date
    start: time
    end: time
    room: str
    seat_number: int

    @property
    def when(self) -> str:
        return f"{self.day:%Y年%m月%d日} {self.start:%H:%M}-{self.end:%H:%M}"


@dataclass
class TicketData:
    registration_id: int
    plan_id: int
    plan_name: str
    ticket_number: str
    name: str
    gender: str
    id_type: str
    #: masked (PIPL): region and last four only
    id_number: str
    photo_path: str | None
    certificate: str
    org_name: str
    level: str
    site_name: str
    site_address: str
    lines: list[SeatLine] = field(default_factory=list)
    token: str = ""


def _plan_expiry(plan_ids: set[int]) -> dict[int, datetime]:
    """A token expires a day after the plan's last session ends."""
    rows = db.session.execute(
        select(ExamSession.plan_id, func.max(ExamSession.date)).where(ExamSession.plan_id.in_(plan_ids))
        .group_by(ExamSession.plan_id))
    return {plan_id: datetime.combine(day, time(23, 59, 59)) + tokens.VALID_AFTER_LAST_SESSION
            for plan_id, day in rows}


def load_tickets(where, *, order_by_ticket: bool = True) -> list[TicketData]:
    """The tickets of the scheduled registrations matching `where` (SQL on Registration/Seat),
    each with its seats, ordered by ticket number (site, room, seat)."""
    storage = get_storage()
    query = (
        select(Registration.id, Registration.plan_id, ExamPlan.name, AdmissionTicket.ticket_number,
               Candidate.name, Candidate.gender, Candidate.id_type, Candidate.id_number, Candidate.photo_key,
               Certificate.name, Certificate.org_name, CertificateLevel.level, ExamSite.name, ExamSite.address,
               Seat.session_id, Seat.room_id, Subject.name, Subject.mode, ExamSession.date,
               ExamSession.start_time, ExamSession.end_time, ExamRoom.name, Seat.seat_number)
        .select_from(Seat)
        .join(Registration, Registration.id == Seat.registration_id)
        .join(AdmissionTicket, AdmissionTicket.registration_id == Registration.id)
        .join(Candidate, Candidate.id == Registration.candidate_id)
        .join(ExamPlan, ExamPlan.id == Registration.plan_id)
        .join(CertificateLevel, CertificateLevel.id == Registration.certificate_level_id)
        .join(Certificate, Certificate.id == CertificateLevel.certificate_id)
        .join(ExamSite, ExamSite.id == Registration.site_id)
        .join(ExamSession, ExamSession.id == Seat.session_id)
        .join(Subject, Subject.id == Seat.subject_id)
        .join(ExamRoom, ExamRoom.id == Seat.room_id)
        .where(Registration.state == RegistrationState.SCHEDULED)
        .where(where)
        .order_by(AdmissionTicket.ticket_number, ExamSession.date, ExamSession.start_time)
    )
    tickets: dict[int, TicketData] = {}
    for row in db.session.execute(query):
        (reg_id, plan_id, plan_name, number, name, gender, id_type, id_number, photo_key, cert, org,
         level, site, address, session_id, room_id, subject, mode, day, start, end, room, seat) = row
        ticket = tickets.get(reg_id)
        if ticket is None:
            ticket = tickets[reg_id] = TicketData(
                registration_id=reg_id, plan_id=plan_id, plan_name=plan_name, ticket_number=number, name=name,
                gender=gender, id_type=id_type.value, id_number=idcard.mask(id_number),
                photo_path=str(storage.path(photo_key)) if photo_key else None, certificate=cert, org_name=org,
                level=level.value, site_name=site, site_address=address)
        ticket.lines.append(SeatLine(session_id, room_id, subject, mode.value, day, start, end, room, seat))
    expiry = _plan_expiry({t.plan_id for t in tickets.values()}) if tickets else {}
    for ticket in tickets.values():
        ticket.token = tokens.sign(tokens.CheckinToken(
            registration_id=ticket.registration_id, plan_id=ticket.plan_id,
            seats=tuple((line.session_id, line.room_id, line.seat_number) for line in ticket.lines),
            expires_at=expiry[ticket.plan_id]))
    return list(tickets.values())


@dataclass
class RosterRow:
    seat_number: int
    ticket_number: str
    name: str
    gender: str
    id_number: str
    photo_path: str | None
    checked_in_at: datetime | None
    absent: bool
    class_name: str


@dataclass
class Roster:
    """Who sits one room in one session, in seat order: the door list and the sign-in sheet."""

    plan_name: str
    site_name: str
    site_address: str
    room: ExamRoom
    session: ExamSession
    rows: list[RosterRow]

    @property
    def session_label(self) -> str:
        s = self.session
        return f"{s.date:%Y年%m月%d日} {s.start_time:%H:%M}-{s.end_time:%H:%M}"


def load_roster(room: ExamRoom, session: ExamSession) -> Roster:
    storage = get_storage()
    rows = db.session.execute(
        select(Seat.seat_number, AdmissionTicket.ticket_number, Candidate.name, Candidate.gender,
               Candidate.id_number, Candidate.photo_key, Seat.checked_in_at, Seat.absent, Candidate.class_name)
        .select_from(Seat)
        .join(Registration, Registration.id == Seat.registration_id)
        .join(AdmissionTicket, AdmissionTicket.registration_id == Registration.id)
        .join(Candidate, Candidate.id == Registration.candidate_id)
        .where(Seat.room_id == room.id, Seat.session_id == session.id,
               Registration.state == RegistrationState.SCHEDULED)
        .order_by(Seat.seat_number))
    return Roster(
        plan_name=room.plan.name, site_name=room.site.name, site_address=room.site.address, room=room,
        session=session,
        rows=[RosterRow(seat, number, name, gender, idcard.mask(id_number),
                        str(storage.path(photo)) if photo else None, checked, absent, class_name)
              for seat, number, name, gender, id_number, photo, checked, absent, class_name in rows])

