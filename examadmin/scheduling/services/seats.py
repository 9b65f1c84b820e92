"""Seat scheduling (排考): every paid registration of a plan and site gets, for each subject
of its level, a session, a room and a seat, and one admission ticket number.

A run computes the whole placement of every site first and writes nothing when any site
and subject lacks seats (nothing half-placed). Writes are set-based (PERFORMANCE.md): the
seats, tickets, state changes and their audit records each go in as one INSERT/UPDATE.
"""
from __future__ import annotations

import json
import random
from itertools import islice
from operator import itemgetter
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import joinedload

from ...candidates.models import Candidate
from ...catalog.models import CertificateLevel
from ...core import audit, clock, permissions
from ...core.audit import AuditLog
from ...core.errors import DomainError
from ...core.roles import Role
from ...exams.models import ExamPlan, ExamRoom, ExamSession, Subject
from ...exams.states import PlanState
from ...extensions import db
from ...registrations import services as registration_services
from ...registrations.lapse import lapse_overdue
from ...registrations.models import Registration
from ...registrations.states import REGISTRATION, RegistrationState
from ...sites.models import ExamSite
from ...sites.services import require_usable_site
from ..models import AdmissionTicket, ScheduleRun, Seat
from . import ticket_numbers
from .ticket_numbers import SiteNumbering

ROOMS_FIRST = "考场需在排考前完成设置，否则无法进行排考"
_CHUNK = 5000


# ---- the result ------------------------------------------------------------------------------

@dataclass
class Shortfall:
    """Too few free seats for one subject's sessions at one site."""

    site: str
    session: str
    missing: int
    needed: int = 0
    free: int = 0
    no_rooms: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"site": self.site, "session": self.session, "missing": self.missing}

    @property
    def message(self) -> str:
        if self.no_rooms:
            return (f"{self.site}：{self.session} 还没有设置考场（需 {self.needed} 个座位）。{ROOMS_FIRST}")
        return (f"{self.site}：{self.session} 需要 {self.needed} 个座位，空余 {self.free} 个，"
                f"还差 {self.missing} 个")


class ShortfallError(DomainError):
    """Scheduling refused: the shortfall of each site and session; nothing was placed."""

    def __init__(self, shortfall: list[Shortfall]):
        self.shortfall = shortfall
        self.already_placed = 0
        super().__init__("座位不足，未进行排考（没有任何考生被排入考场）。请增加考场或座位后重新排考：\n"
                         + "\n".join(s.message for s in shortfall))


@dataclass
class ScheduleResult:
    placed: int = 0
    already_placed: int = 0
    shortfall: list[Shortfall] = field(default_factory=list)
    runs: list[ScheduleRun] = field(default_factory=list)
    #: seats of cancelled registrations freed by this run
    freed: int = 0

    @property
    def nothing_to_place(self) -> bool:
        return self.placed == 0 and not self.shortfall

    @property
    def message(self) -> str:
        if self.shortfall:
            return "座位不足：" + "；".join(s.message for s in self.shortfall)
        if self.nothing_to_place:
            return (f"没有需要排考的已缴费考生（已排考 {self.already_placed} 人）。"
                    "排考只安排已缴费、尚未排考的报考。")
        return f"已排考 {self.placed} 人" + (f"（此前已排考 {self.already_placed} 人）" if self.already_placed else "")

    def as_dict(self) -> dict[str, Any]:
        return {"placed": self.placed, "already_placed": self.already_placed,
                "shortfall": [s.as_dict() for s in self.shortfall]}


# ---- spreading a class over the seats ----------------------------------------------------------

def spread_order(people: list[tuple[int, Any]], seed: int) -> list[int]:
    """Registration ids in seat order: shuffled with `seed`, classmates spread apart.

    `people` are (registration id, class key). After a seeded shuffle the largest classes
    take every second place first (0, 2, 4, …, then 1, 3, …), so that nobody sits beside a
    classmate unless one class holds more than half of the seats. The same input and seed
    always give the same order: the plan can be reproduced from the recorded seed.
    """
    rng = random.Random(seed)
    shuffled = sorted(people)
    rng.shuffle(shuffled)
    groups: dict[Any, list[int]] = {}
    for reg_id, key in shuffled:
        groups.setdefault(key, []).append(reg_id)
    flat = [reg_id for group in sorted(groups.values(), key=len, reverse=True) for reg_id in group]
    order: list[int] = [0] * len(flat)
    positions = list(range(0, len(flat), 2)) + list(range(1, len(flat), 2))
    for position, reg_id in zip(positions, flat):
        order[position] = reg_id
    return order


# ---- planning one site ------------------------------------------------------------------------

@dataclass
class _SitePlan:
    site: ExamSite
    seed: int
    order: list[int] = field(default_factory=list)
    #: registration id -> [(session id, subject id, room id, seat)] one per subject
    seats: dict[int, list[tuple[int, int, int, int]]] = field(default_factory=dict)
    rooms: dict[int, ExamRoom] = field(default_factory=dict)
    already_placed: int = 0
    shortfall: list[Shortfall] = field(default_factory=list)
    school_of: dict[int, int] = field(default_factory=dict)
    label_of: dict[int, str] = field(default_factory=dict)


def session_ordinals(plan: ExamPlan) -> dict[int, int]:
    """Session id -> its place (1, 2, …) among the plan's sessions in time order."""
    ordered = sorted(plan.sessions, key=lambda s: (s.date, s.start_time, s.id))
    return {s.id: n for n, s in enumerate(ordered, start=1)}


def _subject_sessions(plan: ExamPlan, site: ExamSite) -> dict[int, list[ExamSession]]:
    by_subject: dict[int, list[ExamSession]] = defaultdict(list)
    for session in sorted(plan.sessions, key=lambda s: (s.date, s.start_time, s.id)):
        if session.subject.certificate_level_id == site.certificate_level_id:
            by_subject[session.subject_id].append(session)
    return by_subject


def _sessions_label(sessions: list[ExamSession]) -> str:
    first = sessions[0]
    if len(sessions) == 1:
        return first.label
    days = "、".join(f"{s.date:%m-%d} {s.start_time:%H:%M}" for s in sessions)
    return f"{first.level.value} {first.subject.name}（{len(sessions)} 个场次：{days}）"


def _free_cancelled_seats(actor: Any, plan: ExamPlan, site: ExamSite) -> int:
    """Seats still held by registrations cancelled after scheduling become free again
    (the others keep their seat numbers)."""
    cancelled = select(Registration.id).where(Registration.plan_id == plan.id,
                                              Registration.state == RegistrationState.CANCELLED)
    freed = db.session.execute(delete(Seat).where(Seat.plan_id == plan.id, Seat.site_id == site.id,
                                                  Seat.registration_id.in_(cancelled))).rowcount or 0
    if freed:
        audit.record(actor, "seat.release", site, after={"plan": plan.name, "freed": freed,
                                                         "reason": "报考已取消，座位释放"})
    return freed


def _free_seats(sessions, rooms, taken):
    """Free seats in filling order: sessions in time order, rooms as set up, seats from 1;
    as plain (session id, subject id, room id, seat) tuples, cheap to handle by the 100,000."""
    for session in sessions:
        session_id, subject_id = session.id, session.subject_id
        for room in rooms:
            room_id = room.id
            held = taken.get((room_id, session_id), ())
            for n in range(1, room.seats + 1):
                if n not in held:
                    yield session_id, subject_id, room_id, n


def _plan_site(plan: ExamPlan, site: ExamSite, seed: int) -> _SitePlan:
    result = _SitePlan(site=site, seed=seed)
    result.already_placed = db.session.scalar(
        select(func.count(Registration.id)).where(Registration.plan_id == plan.id, Registration.site_id == site.id,
                                                  Registration.state == RegistrationState.SCHEDULED)) or 0
    rows = db.session.execute(
        select(Registration.id, Registration.school_id, Candidate.class_name, Candidate.name)
        .join(Candidate, Candidate.id == Registration.candidate_id)
        .where(Registration.plan_id == plan.id, Registration.site_id == site.id,
               Registration.state == RegistrationState.PAID)).all()
    if not rows:
        return result
    people = []
    for reg_id, school_id, class_name, name in rows:
        # Social candidates and students without a class are nobody's classmates.
        people.append((reg_id, (school_id, class_name) if class_name else ("", reg_id)))
        result.school_of[reg_id] = school_id
        result.label_of[reg_id] = name
    result.order = spread_order(people, seed)

    rooms_by_subject: dict[int, list[ExamRoom]] = defaultdict(list)
    for room in db.session.scalars(select(ExamRoom).where(ExamRoom.plan_id == plan.id, ExamRoom.site_id == site.id)
                                   .order_by(ExamRoom.id)):
        rooms_by_subject[room.subject_id].append(room)
        result.rooms[room.id] = room
    taken: dict[tuple[int, int], set[int]] = defaultdict(set)
    for room_id, session_id, number in db.session.execute(
            select(Seat.room_id, Seat.session_id, Seat.seat_number)
            .where(Seat.plan_id == plan.id, Seat.site_id == site.id)):
        taken[(room_id, session_id)].add(number)

    subject_sessions = _subject_sessions(plan, site)
    if not subject_sessions:
        raise DomainError(f"考试计划「{plan.name}」没有{site.certificate_level.label}的考试场次，无法为站点「{site.name}」排考")
    placements: dict[int, list] = {reg_id: [] for reg_id in result.order}
    for subject_id, sessions in subject_sessions.items():
        # Sessions in time order, rooms in the order they were set up, seats from 1.
        needed = len(result.order)
        free = list(islice(_free_seats(sessions, rooms_by_subject.get(subject_id, []), taken), needed))
        if len(free) < needed:
            result.shortfall.append(Shortfall(site.name, _sessions_label(sessions), needed - len(free), needed,
                                              len(free), no_rooms=not rooms_by_subject.get(subject_id)))
            continue
        for reg_id, spot in zip(result.order, free):
            placements[reg_id].append(spot)
    result.seats = placements
    return result


# ---- the service -------------------------------------------------------------------------------

def _sites_to_schedule(actor: Any, plan: ExamPlan, site_id: Any) -> list[ExamSite]:
    if site_id:
        site = permissions.get_for(actor, ExamSite, site_id)  # another school's site: 404
        if site.certificate_level.certificate_id != plan.certificate_id:
            raise DomainError(f"站点「{site.name}」不是{plan.certificate.name}的考核站点")
        return [site]
    with_registrations = (select(Registration.site_id).where(
        Registration.plan_id == plan.id,
        Registration.state.in_((RegistrationState.PAID, RegistrationState.SCHEDULED))).distinct())
    return list(db.session.scalars(
        permissions.scoped(actor, select(ExamSite)).where(ExamSite.id.in_(with_registrations))
        .options(joinedload(ExamSite.certificate_level)).order_by(ExamSite.id)))


def _lock_site(site: ExamSite) -> None:
    """Two runs for one site wait for each other (PostgreSQL; SQLite writers are serial)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(select(ExamSite.id).where(ExamSite.id == site.id).with_for_update())


def schedule(actor: Any, plan_id: Any, site_id: Any = None, *, seed: int | None = None) -> ScheduleResult:
    """Place every paid, unplaced registration of a plan (one site, or every site of the
    actor's scope) into rooms and seats and give each a ticket number."""
    permissions.require(actor, "scheduling.run")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    if plan.state != PlanState.PUBLISHED:
        raise DomainError(f"考试计划「{plan.name}」尚未发布，不能排考")
    # The CLI's system actor (a sysadmin at the console) moves registrations as the system.
    mover = None if actor.role == Role.SYSADMIN else actor
    if REGISTRATION.allowed(SimpleNamespace(state=RegistrationState.PAID), "schedule", mover) is None:
        raise permissions.ForbiddenAction()
    lapse_overdue(plan_id=plan.id)  # unpaid after the deadline: lapsed first, never placed
    sites = _sites_to_schedule(actor, plan, site_id)
    result = ScheduleResult()
    site_plans = []
    for site in sites:
        require_usable_site(site, "排考")  # a site disabled after registration hosts no exam
        _lock_site(site)
        result.freed += _free_cancelled_seats(actor, plan, site)
        site_plan = _plan_site(plan, site, seed if seed is not None else secrets.randbelow(2 ** 31))
        result.already_placed += site_plan.already_placed
        result.shortfall.extend(site_plan.shortfall)
        site_plans.append(site_plan)
    if result.shortfall:
        error = ShortfallError(result.shortfall)
        error.already_placed = result.already_placed
        raise error
    ordinals = session_ordinals(plan)
    for site_plan in site_plans:
        if site_plan.order:
            run = _write(actor, plan, site_plan, ordinals)
            result.runs.append(run)
            result.placed += run.placed
    return result


def _exam_year(plan: ExamPlan) -> int:
    first = min((s.date for s in plan.sessions), default=None)
    return first.year if first else plan.ticket_start.year


def _write(actor: Any, plan: ExamPlan, site_plan: _SitePlan, ordinals: dict[int, int]) -> ScheduleRun:
    site, now = site_plan.site, clock.now()
    run = ScheduleRun(plan_id=plan.id, site_id=site.id, school_id=site.school_id, seed=site_plan.seed,
                      placed=len(site_plan.order), created_by_id=getattr(actor, "id", None), created_at=now)
    db.session.add(run)

    # Rooms that take their first candidates get the next 考场号 of the plan and site.
    used_rooms = {site_plan.rooms[room_id] for spots in site_plan.seats.values() for _, _, room_id, _ in spots}
    next_number = (db.session.scalar(select(func.max(ExamRoom.number)).where(
        ExamRoom.plan_id == plan.id, ExamRoom.site_id == site.id)) or 0) + 1
    for room in sorted(used_rooms, key=lambda r: r.id):
        if room.number is None:
            room.number, next_number = next_number, next_number + 1
        if not room.scheduled:
            room.scheduled = True
            audit.record(actor, "exam_room.update", room, before={"scheduled": False},
                         after={"scheduled": True, "number": room.number})
    db.session.flush()

    numbering = SiteNumbering(_exam_year(plan), plan.id, site.id)
    prefix = numbering.head
    issued = set(db.session.scalars(select(AdmissionTicket.ticket_number).where(
        AdmissionTicket.plan_id == plan.id, AdmissionTicket.ticket_number.like(prefix + "%"))))
    has_ticket = set(db.session.scalars(select(AdmissionTicket.registration_id).where(
        AdmissionTicket.registration_id.in_(select(Registration.id).where(
            Registration.plan_id == plan.id, Registration.site_id == site.id,
            Registration.state == RegistrationState.PAID)))))

    seat_rows, ticket_rows, audit_rows, numbers = [], [], [], {}
    # The same few keys on every row: written as JSON text once, not serialised 100,000 times.
    before = json.dumps({"state": RegistrationState.PAID.value})
    after_head = json.dumps({"state": RegistrationState.SCHEDULED.value})[:-1] + ', "ticket_number": '
    sqlite = _driver_values()
    before_value = before if sqlite else json.loads(before)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    base = {"at": stamp, "actor_id": getattr(actor, "id", None), "actor_name": getattr(actor, "name", "系统"),
            "actor_role": str(actor.role), "entity_type": "registration", "ip": "",
            **permissions.scope_of(site)}
    room_number = {room_id: room.number for room_id, room in site_plan.rooms.items()}
    plan_id, site_id, run_id = plan.id, site.id, run.id
    for reg_id in site_plan.order:
        spots = site_plan.seats[reg_id]
        school_id = site_plan.school_of[reg_id]
        for session_id, subject_id, room_id, number in spots:
            seat_rows.append({"registration_id": reg_id, "plan_id": plan_id, "school_id": school_id,
                              "site_id": site_id, "subject_id": subject_id, "session_id": session_id,
                              "room_id": room_id, "seat_number": number, "schedule_run_id": run_id,
                              "created_at": stamp, "absent": False})
        # The ticket number names the registration's first sitting.
        session_id, _, room_id, number = min(spots, key=lambda spot: ordinals[spot[0]]) if len(spots) > 1 \
            else spots[0]
        if reg_id not in has_ticket:
            ticket = _new_ticket_number(numbering, ordinals[session_id], room_number[room_id], number, issued)
            issued.add(ticket)
            numbers[reg_id] = ticket
            ticket_rows.append({"registration_id": reg_id, "plan_id": plan_id, "school_id": school_id,
                                "ticket_number": ticket, "issued_at": stamp})
        audit_rows.append({**base, "school_id": school_id, "action": "registration.schedule",
                           "entity_id": reg_id, "entity_label": site_plan.label_of[reg_id],
                           "before": before_value,
                           "after": _after(after_head, numbers.get(reg_id), sqlite)})

    # A registration cancelled meanwhile is not scheduled: the UPDATE is conditional.
    moved = 0
    for start in range(0, len(site_plan.order), _CHUNK):
        chunk = site_plan.order[start:start + _CHUNK]
        moved += db.session.execute(
            update(Registration).where(Registration.id.in_(chunk), Registration.state == RegistrationState.PAID)
            .values(state=RegistrationState.SCHEDULED).execution_options(synchronize_session=False)).rowcount
    if moved != len(site_plan.order):
        raise DomainError("排考期间有报考的状态发生了变化（例如被取消），未进行排考，请重新排考")
    _bulk_insert(Seat, seat_rows)
    _bulk_insert(AdmissionTicket, ticket_rows)
    _bulk_insert(AuditLog, audit_rows)
    audit.record(actor, "schedule_run.create", run, after={
        "plan": plan.name, "site": site.name, "seed": run.seed, "placed": run.placed})
    db.session.flush()
    db.session.expire_all()  # the ORM did not see the set-based writes
    return run


def _after(head: str, ticket: str | None, as_text: bool):
    text = head + (f'"{ticket}"}}' if ticket else "null}")  # a ticket number is digits only
    return text if as_text else json.loads(text)


def _new_ticket_number(numbering: SiteNumbering, session: int, room: int, seat: int, issued: set[str]) -> str:
    """The number of this seat; the next issue digit when a cancelled registration held the
    seat before (its number stays its own)."""
    for issue in range(10):
        number = numbering.build(session, room, seat, issue)
        if number not in issued:
            return number
    return numbering.build(session, room, seat, 10)  # refuses with a message


def _bulk_insert(model, rows: list[dict]) -> None:
    """Set-based INSERTs on the session's connection.

    On SQLite the rows go straight to the driver's executemany (PERFORMANCE.md: 286k rows/s
    against 182k for Core, whose per-row parameter processing dominated a 100,000-seat run);
    the caller gives values as SQLAlchemy would store them there (`_driver_values`).
    Elsewhere Core's executemany.
    """
    if not rows:
        return
    table = model.__table__
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        for start in range(0, len(rows), _CHUNK):
            connection.execute(insert(table), rows[start:start + _CHUNK])
        return
    columns = list(rows[0])
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join('?' for _ in columns)})")
    pick = itemgetter(*columns)
    connection.exec_driver_sql(sql, [pick(row) for row in rows])


def _driver_values() -> bool:
    """True when `_bulk_insert` hands values to the driver as they are (SQLite): timestamps
    as SQLAlchemy's text, JSON as text."""
    return db.session.connection().dialect.name == "sqlite"


# ---- freeing a seat --------------------------------------------------------------------------

def release_seats(actor: Any, registration: Registration) -> int:
    """Free the seats of a registration cancelled after scheduling; nobody else moves.

    The registration's ticket number stays issued to it (numbers are never reused). The
    cancelling service calls this; a later run also frees seats it finds still held.
    """
    seats = list(db.session.scalars(select(Seat).where(Seat.registration_id == registration.id)
                                    .options(joinedload(Seat.room), joinedload(Seat.session))))
    for seat in seats:
        audit.record(actor, "seat.release", registration, before={
            "seat": f"{seat.room.name} {seat.seat_number} 号（{seat.session.label}）"})
        db.session.delete(seat)
    db.session.flush()
    return len(seats)


# A scheduled registration cancelled by the org frees its seats at once.
registration_services.ON_CANCEL_SCHEDULED.append(release_seats)


# ---- what the pages show -----------------------------------------------------------------------

@dataclass
class SiteStatus:
    site: ExamSite
    paid: int = 0
    scheduled: int = 0
    rooms: int = 0
    seats: int = 0
    last_run: ScheduleRun | None = None


def plan_status(actor: Any, plan_id: Any):
    """The plan and a select of the sites of the actor's scope that have paid or scheduled
    registrations or rooms in it (for paging); `site_status` fills in a page's figures."""
    permissions.require(actor, "scheduling.view")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    # EXISTS per site (an index probe each) rather than the set of sites of every paid
    # registration of the plan, which for a national plan reads half a million rows
    has_registrations = select(Registration.id).where(
        Registration.site_id == ExamSite.id, Registration.plan_id == plan.id,
        Registration.state.in_((RegistrationState.PAID, RegistrationState.SCHEDULED))).exists()
    has_rooms = select(ExamRoom.id).where(ExamRoom.site_id == ExamSite.id, ExamRoom.plan_id == plan.id).exists()
    sites = (permissions.scoped(actor, select(ExamSite)).where(or_(has_registrations, has_rooms))
             .options(joinedload(ExamSite.certificate_level)).order_by(ExamSite.name, ExamSite.id))
    return plan, sites


def site_status(plan: ExamPlan, sites: list[ExamSite]) -> list[SiteStatus]:
    """Per site: paid and scheduled registrations, rooms, seats and the last run."""
    site_ids = [site.id for site in sites]
    counts = db.session.execute(
        select(Registration.site_id, Registration.state, func.count(Registration.id))
        .where(Registration.plan_id == plan.id, Registration.site_id.in_(site_ids),
               Registration.state.in_((RegistrationState.PAID, RegistrationState.SCHEDULED)))
        .group_by(Registration.site_id, Registration.state)).all()
    room_totals = {site_id: (n, int(seats or 0)) for site_id, n, seats in db.session.execute(
        select(ExamRoom.site_id, func.count(ExamRoom.id), func.sum(ExamRoom.seats))
        .where(ExamRoom.plan_id == plan.id, ExamRoom.site_id.in_(site_ids)).group_by(ExamRoom.site_id))}
    runs = {}
    for run in db.session.scalars(select(ScheduleRun).where(ScheduleRun.plan_id == plan.id,
                                                            ScheduleRun.site_id.in_(site_ids))
                                  .order_by(ScheduleRun.id)):
        runs[run.site_id] = run
    rows = []
    for site in sites:
        row = SiteStatus(site, last_run=runs.get(site.id))
        row.rooms, row.seats = room_totals.get(site.id, (0, 0))
        for site_id, state, n in counts:
            if site_id == site.id:
                if state == RegistrationState.PAID:
                    row.paid = n
                else:
                    row.scheduled = n
        rows.append(row)
    return rows


def plan_and_site(actor: Any, plan_id: Any, site_id: Any) -> tuple[ExamPlan, ExamSite]:
    """A plan and one of the actor's sites (404 outside the scope)."""
    permissions.require(actor, "scheduling.view")
    return permissions.get_for(actor, ExamPlan, plan_id), permissions.get_for(actor, ExamSite, site_id)


def site_rooms(actor: Any, plan_id: int, site_id: int) -> list[tuple[ExamRoom, int]]:
    """The rooms of a plan and site with how many seats hold candidates (all sessions)."""
    permissions.require(actor, "scheduling.view")
    occupied = (select(Seat.room_id, func.count(Seat.id).label("n"))
                .join(Registration, Registration.id == Seat.registration_id)
                .where(Seat.plan_id == plan_id, Seat.site_id == site_id,
                       Registration.state == RegistrationState.SCHEDULED)
                .group_by(Seat.room_id).subquery())
    return list(db.session.execute(
        permissions.scoped(actor, select(ExamRoom, func.coalesce(occupied.c.n, 0)), ExamRoom)
        .outerjoin(occupied, occupied.c.room_id == ExamRoom.id)
        .where(ExamRoom.plan_id == plan_id, ExamRoom.site_id == site_id)
        .options(joinedload(ExamRoom.subject).joinedload(Subject.certificate_level)
                 .joinedload(CertificateLevel.certificate))
        .order_by(ExamRoom.number.is_(None), ExamRoom.number, ExamRoom.id)))


@dataclass
class SeatCell:
    number: int
    seat: Seat | None = None
    name: str = ""
    class_name: str = ""
    ticket_number: str = ""
    #: held by a registration cancelled after scheduling (free for the next run)
    vacated: bool = False

    @property
    def taken(self) -> bool:
        return self.seat is not None and not self.vacated


@dataclass
class SeatPlan:
    room: ExamRoom
    sessions: list[ExamSession]
    session: ExamSession | None
    cells: list[SeatCell]
    columns: int

    @property
    def rows(self) -> list[list[SeatCell]]:
        return [self.cells[i:i + self.columns] for i in range(0, len(self.cells), self.columns)]

    @property
    def taken(self) -> int:
        return sum(1 for cell in self.cells if cell.taken)


def seat_plan(actor: Any, room_id: Any, session_id: Any = None, columns: Any = None) -> SeatPlan:
    """A room's seats 1..N for one of its sessions, as a grid of `columns` seats a row."""
    permissions.require(actor, "scheduling.view")
    room = permissions.get_for(actor, ExamRoom, room_id)
    sessions = [s for s in sorted(room.plan.sessions, key=lambda s: (s.date, s.start_time, s.id))
                if s.subject_id == room.subject_id]
    try:
        wanted = int(session_id) if session_id else None
    except (TypeError, ValueError):
        wanted = None
    session = next((s for s in sessions if s.id == wanted), sessions[0] if sessions else None)
    try:
        columns = min(max(int(columns), 2), 12) if columns else 6
    except (TypeError, ValueError):
        columns = 6
    cells = [SeatCell(n) for n in range(1, room.seats + 1)]
    if session is not None:
        query = (select(Seat, Candidate.name, Candidate.class_name, Registration.state,
                        AdmissionTicket.ticket_number)
                 .join(Registration, Registration.id == Seat.registration_id)
                 .join(Candidate, Candidate.id == Registration.candidate_id)
                 .outerjoin(AdmissionTicket, AdmissionTicket.registration_id == Seat.registration_id)
                 .where(Seat.room_id == room.id, Seat.session_id == session.id))
        for seat, name, class_name, state, ticket in db.session.execute(query):
            if 1 <= seat.seat_number <= len(cells):
                cells[seat.seat_number - 1] = SeatCell(seat.seat_number, seat, name, class_name, ticket or "",
                                                       vacated=state != RegistrationState.SCHEDULED)
    return SeatPlan(room, sessions, session, cells, columns)
