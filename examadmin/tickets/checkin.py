"""Check-in on exam day: a proctor scans the ticket's QR code (or types its number) at the door.

The proctor works at a station: one room in one session. A school user may work any room
of the school; a proctor only a room and session they are assigned to. Marking the absent
(缺考) is one step once the session has ended; the scores step reads `Seat.absent`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from ..candidates.models import Candidate
from ..core import audit, clock, idcard, permissions
from ..core.errors import DomainError
from ..core.roles import Role
from ..exams.models import ExamRoom, ExamSession
from ..extensions import db
from ..registrations.models import Registration
from ..registrations.states import RegistrationState
from ..scheduling.models import AdmissionTicket, Proctor, ProctorAssignment, Seat
from ..scheduling.services import ticket_numbers
from . import tokens

log = logging.getLogger(__name__)

#: check-in opens this long before a session starts (candidates queue at the door)
OPENS_BEFORE = timedelta(hours=2)
#: a proctor sees the room's candidates (names, photos) from check-in's opening until this
#: long after the session ends (marking absentees, questions afterwards), not days before or
#: for ever after: they need the list at the door, not otherwise (PIPL: the least data)
ROSTER_AFTER = timedelta(days=1)


@dataclass
class Station:
    room: ExamRoom
    session: ExamSession

    @property
    def label(self) -> str:
        s = self.session
        return f"{self.room.name} · {s.date:%m月%d日} {s.start_time:%H:%M}-{s.end_time:%H:%M} {s.subject.name}"

    @property
    def opens_at(self) -> datetime:
        """Check-in opens two hours before the session starts and closes when it ends."""
        return self.session.starts_at - OPENS_BEFORE

    def roster_open(self, at: datetime | None = None) -> bool:
        at = at or clock.now()
        return self.opens_at <= at <= self.session.ends_at + ROSTER_AFTER

    def window(self, at: datetime | None = None) -> str:
        """"not_yet", "open" or "ended": what the proctor's page may offer now."""
        at = at or clock.now()
        if at < self.opens_at:
            return "not_yet"
        return "ended" if at > self.session.ends_at else "open"


@dataclass
class CheckinResult:
    #: "checked_in" (now) or "already" (an earlier scan)
    status: str
    seat: Seat
    candidate: Candidate
    ticket_number: str
    at: datetime

    @property
    def message(self) -> str:
        if self.status == "already":
            return f"{self.candidate.name} 已于 {self.at:%H:%M:%S} 签到，请勿重复签到。"
        return f"{self.candidate.name} 签到成功（{self.seat.seat_number} 号座位）。"

    def as_json(self, photo_url: str | None) -> dict:
        return {"status": self.status, "message": self.message, "name": self.candidate.name,
                "gender": self.candidate.gender, "id_number": idcard.mask(self.candidate.id_number),
                "ticket_number": self.ticket_number, "seat": self.seat.seat_number,
                "checked_in_at": f"{self.at:%Y-%m-%d %H:%M:%S}", "photo_url": photo_url}


def stations(actor: Any) -> list[Station]:
    """The rooms and sessions the actor may check in: a proctor's own assignments, newest day first."""
    permissions.require(actor, "checkin.scan")
    if actor.role == Role.PROCTOR:
        rows = db.session.execute(
            select(ExamRoom, ExamSession)
            .select_from(ProctorAssignment)
            .join(Proctor, Proctor.id == ProctorAssignment.proctor_id)
            .join(ExamRoom, ExamRoom.id == ProctorAssignment.room_id)
            .join(ExamSession, ExamSession.id == ProctorAssignment.session_id)
            .where(Proctor.user_id == actor.id, Proctor.active.is_(True))
            .order_by(ExamSession.date, ExamSession.start_time, ExamRoom.name))
    else:
        rows = db.session.execute(
            select(ExamRoom, ExamSession)
            .select_from(Seat)
            .join(ExamRoom, ExamRoom.id == Seat.room_id)
            .join(ExamSession, ExamSession.id == Seat.session_id)
            .where(permissions.scope_clause(actor, Seat))
            .where(ExamSession.date >= clock.now().date() - timedelta(days=1))
            .group_by(ExamRoom.id, ExamSession.id)
            .order_by(ExamSession.date, ExamSession.start_time, ExamRoom.name)
            .limit(200))
    return [Station(room, session) for room, session in rows]


def station(actor: Any, room_id: Any, session_id: Any) -> Station:
    """One room and session the actor may work; 404 outside the actor's assignments or scope."""
    permissions.require(actor, "checkin.scan")
    try:
        room_id, session_id = int(room_id), int(session_id)
    except (TypeError, ValueError):
        raise permissions.NotInScope()
    if not (0 < room_id <= permissions.MAX_ID and 0 < session_id <= permissions.MAX_ID):
        raise permissions.NotInScope()
    if actor.role == Role.PROCTOR:
        assigned = db.session.scalar(
            select(ProctorAssignment.id).join(Proctor)
            .where(Proctor.user_id == actor.id, Proctor.active.is_(True),
                   ProctorAssignment.room_id == room_id, ProctorAssignment.session_id == session_id))
        if assigned is None:
            raise permissions.NotInScope("您没有被安排在该考场的这个场次监考。")
        room, session = db.session.get(ExamRoom, room_id), db.session.get(ExamSession, session_id)
    else:
        room = permissions.get_for(actor, ExamRoom, room_id)
        session = permissions.get_for(actor, ExamSession, session_id)
    if room is None or session is None or session.plan_id != room.plan_id or session.subject_id != room.subject_id:
        raise permissions.NotInScope()
    return Station(room, session)


#: the answer to a typed ticket number that has no seat in this room and session
NOT_HERE = "该考生不在本场次本考场。"


def _refuse(actor: Any, place: Station, message: str, reason: str) -> DomainError:
    # Refusals are logged (who, where, why) without personal data: tokens carry none beyond the number.
    log.warning("check-in refused (%s) by user %s at room %s session %s", reason,
                getattr(actor, "id", None), place.room.id, place.session.id)
    return DomainError(message)


def _seat_of(registration_id: int, session_id: int) -> Seat | None:
    return db.session.scalar(
        select(Seat).join(Registration, Registration.id == Seat.registration_id)
        .where(Seat.registration_id == registration_id, Seat.session_id == session_id,
               Registration.state == RegistrationState.SCHEDULED))


def _where(seat: Seat) -> str:
    s = seat.session
    return f"{s.date:%m月%d日} {s.start_time:%H:%M} {s.subject.name}，{seat.room.name} {seat.seat_number} 号座位"


def check_in(actor: Any, room_id: Any, session_id: Any, *, token: str | None = None,
             ticket_number: str | None = None) -> CheckinResult:
    """Record a candidate's arrival in this room and session from the QR token or the ticket number."""
    place = station(actor, room_id, session_id)
    now = clock.now()
    window = place.window(now)
    if window == "not_yet":
        raise DomainError(f"本场次 {place.session.starts_at:%Y-%m-%d %H:%M} 开考，开考前 2 小时起才能签到。")
    if window == "ended":
        raise DomainError(f"本场次已于 {place.session.ends_at:%Y-%m-%d %H:%M} 结束，不能再签到。")
    if token:
        try:
            parsed = tokens.verify(token, at=now)
        except tokens.BadToken as exc:
            raise _refuse(actor, place, exc.message, exc.reason)
        if parsed.plan_id != place.session.plan_id:
            raise _refuse(actor, place, "该准考证属于其他考试计划，不能在本场次签到。", "other plan")
        mine = [s for s in parsed.seats if s[0] == place.session.id]
        if not mine:
            other = _other_seats(parsed.registration_id)
            raise _refuse(actor, place, f"该准考证不属于本场次。该考生的考试：{other or '无'}。", "other session")
        # the room is checked below against the seat as stored (the token says the same)
        registration_id = parsed.registration_id
        number = db.session.scalar(select(AdmissionTicket.ticket_number)
                                   .where(AdmissionTicket.registration_id == registration_id)) or ""
    else:
        # typed as printed (in groups) or with a Chinese input method: the same number
        number = "".join(idcard.normalise(ticket_number or "").split())[:40].upper()
        if not number:
            raise DomainError("请扫描准考证二维码，或输入准考证号。")
        if len(number) == ticket_numbers.LENGTH and number.isdigit() and not ticket_numbers.is_valid(number):
            raise DomainError(f"准考证号 {number} 的校验位不符，可能有一位输错了，请核对后重新输入。")
        registration_id = db.session.scalar(
            select(AdmissionTicket.registration_id).where(AdmissionTicket.ticket_number == number))
        if registration_id is None:
            raise _refuse(actor, place, f"找不到准考证号 {number}。", "unknown ticket number")
    seat = _seat_of(registration_id, place.session.id)
    # A typed number proves nothing about who stands at the door: where another ticket's holder
    # sits is told only to the holder of the signed QR token (to send them to the right room).
    if (seat is None or seat.room_id != place.room.id) and not token:
        raise _refuse(actor, place, NOT_HERE, "no seat in session" if seat is None else "other room")
    if seat is None:
        other = _other_seats(registration_id)
        where = f"（该考生的考试：{other}）" if other else ""
        raise _refuse(actor, place, f"准考证 {number} 在本场次没有座位{where}。", "no seat in session")
    if seat.room_id != place.room.id:
        raise _refuse(actor, place, f"该考生不在本考场：{_where(seat)}。", "other room")
    candidate = seat.registration.candidate
    # A conditional update: two proctors scanning the same ticket at once record one arrival,
    # and the second is told the time of the first.
    taken = db.session.execute(
        update(Seat).where(Seat.id == seat.id, Seat.checked_in_at.is_(None))
        .values(checked_in_at=now, checked_in_by_id=getattr(actor, "id", None))
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(seat)
    if not taken:
        return CheckinResult("already", seat, candidate, number, seat.checked_in_at)
    audit.record(actor, "seat.check_in", seat.registration,
                 after={"ticket_number": number, "room": place.room.name, "session_id": place.session.id,
                        "seat": seat.seat_number, "at": now})
    return CheckinResult("checked_in", seat, candidate, number, now)


def _other_seats(registration_id: int) -> str:
    seats = db.session.scalars(
        select(Seat).where(Seat.registration_id == registration_id).order_by(Seat.session_id)).all()
    return "；".join(_where(s) for s in seats)


def roster_hidden(actor: Any, place: Station) -> bool:
    """Whether the actor is a proctor outside the time they need the room's candidates: from
    check-in's opening to a day after the session (the school sees its rooms at any time)."""
    return actor.role == Role.PROCTOR and not place.roster_open()


def roll(actor: Any, room_id: Any, session_id: Any) -> tuple[Station, list[tuple[Seat, Candidate, str]]]:
    """The seats of a station in seat order with their check-in state (the proctor's list); for a
    proctor outside roster_open, none."""
    place = station(actor, room_id, session_id)
    if roster_hidden(actor, place):
        return place, []
    rows = db.session.execute(
        select(Seat, Candidate, AdmissionTicket.ticket_number)
        .join(Registration, Registration.id == Seat.registration_id)
        .join(Candidate, Candidate.id == Registration.candidate_id)
        .join(AdmissionTicket, AdmissionTicket.registration_id == Registration.id)
        .where(Seat.room_id == place.room.id, Seat.session_id == place.session.id,
               Registration.state == RegistrationState.SCHEDULED)
        .order_by(Seat.seat_number)).all()
    return place, [tuple(row) for row in rows]


def mark_absent(actor: Any, room_id: Any, session_id: Any) -> int:
    """After the session ends, mark everyone of the station not checked in as absent (缺考), in one step."""
    place = station(actor, room_id, session_id)
    now = clock.now()
    if now < place.session.ends_at:
        raise DomainError(f"本场次 {place.session.ends_at:%Y-%m-%d %H:%M} 结束，结束后才能标记缺考。")
    scheduled = select(Registration.id).where(Registration.state == RegistrationState.SCHEDULED)
    result = db.session.execute(
        update(Seat)
        .where(Seat.room_id == place.room.id, Seat.session_id == place.session.id,
               Seat.checked_in_at.is_(None), Seat.absent.is_(False), Seat.registration_id.in_(scheduled))
        .values(absent=True)
        .execution_options(synchronize_session="fetch"))
    count = result.rowcount or 0
    audit.record(actor, "seat.mark_absent", place.room,
                 after={"session_id": place.session.id, "session": place.session.label, "absent": count})
    return count
