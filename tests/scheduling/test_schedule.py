"""Seat scheduling: who is placed where, classes spread, shortfalls, re-runs and cancellations."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from examadmin.core import clock
from examadmin.core.audit import AuditLog
from examadmin.core.errors import DomainError
from examadmin.core.permissions import ForbiddenAction, NotInScope
from examadmin.exams.services import rooms
from examadmin.extensions import db
from examadmin.registrations.states import REGISTRATION, RegistrationState
from examadmin.scheduling.models import AdmissionTicket, ScheduleRun, Seat
from examadmin.scheduling.services import seats, ticket_numbers
from examadmin.scheduling.services.seats import ShortfallError, spread_order
from tests.exams.factories import make_room
from tests.scheduling.factories import make_candidate, make_registration, make_setup, register_many
from examadmin.catalog.models import Level
from tests.sites.factories import make_site, make_user

S = RegistrationState


def _seats(registration_ids=None):
    query = select(Seat).order_by(Seat.session_id, Seat.room_id, Seat.seat_number)
    if registration_ids is not None:
        query = query.where(Seat.registration_id.in_(registration_ids))
    return db.session.scalars(query).all()


def test_every_paid_registration_gets_a_room_seat_and_ticket_number():
    s = make_setup(rooms=(4, 4))
    regs = register_many(s.plan, s.site, 6)
    unpaid = make_registration(make_candidate(s.site.school_id), s.plan, s.site, state=S.UNPAID)
    result = seats.schedule(s.school_user, s.plan.id, s.site.id)
    assert result.placed == 6 and result.already_placed == 0 and not result.shortfall
    placed = _seats([r.id for r in regs])
    assert len(placed) == 6
    by_room = {}
    for seat in placed:
        by_room.setdefault(seat.room_id, []).append(seat.seat_number)
    first, second = s.rooms
    assert by_room == {first.id: [1, 2, 3, 4], second.id: [1, 2]}  # filled in order, numbered from 1
    for reg in regs:
        db.session.refresh(reg)
        assert reg.state == S.SCHEDULED
    db.session.refresh(unpaid)
    assert unpaid.state == S.UNPAID and not _seats([unpaid.id])
    for room in s.rooms:
        db.session.refresh(room)
    assert [r.scheduled for r in s.rooms] == [True, True] and [r.number for r in s.rooms] == [1, 2]
    tickets = db.session.scalars(select(AdmissionTicket).where(
        AdmissionTicket.registration_id.in_([r.id for r in regs]))).all()
    assert len({t.ticket_number for t in tickets}) == 6
    run = db.session.scalar(select(ScheduleRun).where(ScheduleRun.site_id == s.site.id))
    assert run.placed == 6 and run.seed >= 0
    audited = db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.action == "registration.schedule", AuditLog.entity_id.in_([r.id for r in regs])))
    assert audited == 6
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "registration.schedule",
                                                     AuditLog.entity_id == regs[0].id))
    ticket = db.session.scalar(select(AdmissionTicket.ticket_number).where(AdmissionTicket.registration_id == regs[0].id))
    assert entry.before == {"state": "已缴费"} and entry.after == {"state": "已排考", "ticket_number": ticket}
    assert entry.school_id == s.site.school_id and entry.at is not None
    seat = _seats([regs[0].id])[0]
    # rows written set-based read back exactly like those the ORM wrote (the run)
    assert seat.created_at == entry.at == run.created_at and seat.schedule_run_id == run.id


def test_the_ticket_number_names_year_plan_site_session_room_and_seat():
    s = make_setup(rooms=(3, 3))
    regs = register_many(s.plan, s.site, 5)
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    for reg in regs:
        ticket = db.session.scalar(select(AdmissionTicket).where(AdmissionTicket.registration_id == reg.id))
        seat = _seats([reg.id])[0]
        parts = ticket_numbers.parse(ticket.ticket_number)
        assert ticket_numbers.is_valid(ticket.ticket_number)
        assert (parts.year, parts.plan, parts.site, parts.session) == (2030, s.plan.id, s.site.id, 1)
        assert (parts.room, parts.seat, parts.issue) == (seat.room.number, seat.seat_number, 0)


def test_classmates_are_spread_rather_than_seated_side_by_side():
    s = make_setup(rooms=(20,))
    register_many(s.plan, s.site, 20, classes=("心理2201", "护理2203"))
    seats.schedule(s.school_user, s.plan.id, s.site.id, seed=7)
    classes = [seat.registration.candidate.class_name for seat in _seats()]
    assert len(classes) == 20
    assert all(a != b for a, b in zip(classes, classes[1:])), classes


def test_spreading_without_enough_others_still_places_everyone():
    order = spread_order([(i, "A") for i in range(1, 8)] + [(8, "B")], seed=1)
    assert sorted(order) == list(range(1, 9))


def test_the_recorded_seed_reproduces_the_seat_plan():
    s = make_setup(rooms=(12,))
    regs = register_many(s.plan, s.site, 12, classes=("甲班", "乙班", "丙班"))
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    run = db.session.scalar(select(ScheduleRun).where(ScheduleRun.site_id == s.site.id))
    people = [(r.id, (r.school_id, r.candidate.class_name)) for r in regs]
    assert [seat.registration_id for seat in _seats()] == spread_order(people, run.seed)
    assert spread_order(people, run.seed) != spread_order(people, run.seed + 1)


def test_too_few_seats_names_site_session_and_shortfall_and_places_nobody():
    s = make_setup(rooms=(4, 4))
    regs = register_many(s.plan, s.site, 11)
    with pytest.raises(ShortfallError) as caught:
        seats.schedule(s.school_user, s.plan.id, s.site.id)
    [short] = caught.value.shortfall
    assert short.as_dict() == {"site": s.site.name, "session": s.plan.sessions[0].label, "missing": 3}
    assert s.site.name in caught.value.message and "还差 3 个" in caught.value.message
    db.session.rollback()  # what every caller does with a DomainError
    assert not _seats([r.id for r in regs])
    assert db.session.scalar(select(func.count(AdmissionTicket.id))) == 0


def test_a_shortfall_leaves_nothing_half_placed_even_before_the_caller_rolls_back():
    s = make_setup(rooms=(2,))
    regs = register_many(s.plan, s.site, 3)
    with pytest.raises(ShortfallError):
        seats.schedule(s.school_user, s.plan.id, s.site.id)
    assert not _seats([r.id for r in regs])
    db.session.refresh(s.rooms[0])
    assert not s.rooms[0].scheduled and s.rooms[0].number is None


def test_rooms_must_be_set_up_first():
    s = make_setup(rooms=())
    register_many(s.plan, s.site, 2)
    with pytest.raises(ShortfallError) as caught:
        seats.schedule(s.school_user, s.plan.id, s.site.id)
    assert "考场需在排考前完成设置" in caught.value.message
    assert caught.value.shortfall[0].missing == 2


def test_nothing_to_place_says_so():
    s = make_setup(rooms=(5,))
    make_registration(make_candidate(s.site.school_id), s.plan, s.site, state=S.UNPAID)
    result = seats.schedule(s.school_user, s.plan.id, s.site.id)
    assert result.nothing_to_place and result.placed == 0
    assert "没有需要排考的已缴费考生" in result.message


def test_unpaid_registrations_past_the_deadline_lapse_before_scheduling():
    s = make_setup(rooms=(5,))
    late = make_registration(make_candidate(s.site.school_id), s.plan, s.site, state=S.UNPAID)
    register_many(s.plan, s.site, 1)
    s.plan.payment_deadline = clock.now() - timedelta(days=1)
    db.session.flush()
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    db.session.refresh(late)
    assert late.state == S.LAPSED


def test_running_again_places_only_the_unplaced():
    s = make_setup(rooms=(10,))
    first = register_many(s.plan, s.site, 4)
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    before = {seat.registration_id: seat.seat_number for seat in _seats()}
    tickets_before = {k: v for k, v in db.session.execute(select(AdmissionTicket.registration_id,
                                                                     AdmissionTicket.ticket_number))}
    later = register_many(s.plan, s.site, 3)
    result = seats.schedule(s.school_user, s.plan.id, s.site.id)
    assert (result.placed, result.already_placed) == (3, 4)
    after = {seat.registration_id: seat.seat_number for seat in _seats()}
    assert {k: after[k] for k in before} == before
    assert sorted(after[r.id] for r in later) == [5, 6, 7]
    assert {k: v for k, v in db.session.execute(select(AdmissionTicket.registration_id,
                                                       AdmissionTicket.ticket_number))
            if k in tickets_before} == tickets_before
    assert len(first) == 4


def test_a_cancelled_registration_frees_its_seat_without_renumbering_anyone():
    s = make_setup(rooms=(3,))
    regs = register_many(s.plan, s.site, 3)
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    before = {seat.registration_id: seat.seat_number for seat in _seats()}
    gone = regs[1]
    old_ticket = db.session.scalar(select(AdmissionTicket.ticket_number)
                                   .where(AdmissionTicket.registration_id == gone.id))
    db.session.refresh(gone)
    REGISTRATION.move(gone, "cancel", make_user("org"), reason="考生申请退考")
    newcomer = register_many(s.plan, s.site, 1)[0]
    result = seats.schedule(s.school_user, s.plan.id, s.site.id)
    assert result.placed == 1 and result.freed == 1
    assert db.session.scalar(select(AuditLog.after).where(AuditLog.action == "seat.release",
                                                          AuditLog.entity_id == s.site.id))["freed"] == 1
    after = {seat.registration_id: seat.seat_number for seat in _seats()}
    assert gone.id not in after
    assert after[newcomer.id] == before[gone.id]
    assert {k: after[k] for k in before if k != gone.id} == {k: v for k, v in before.items() if k != gone.id}
    new_ticket = db.session.scalar(select(AdmissionTicket.ticket_number)
                                   .where(AdmissionTicket.registration_id == newcomer.id))
    # the seat's second holder gets issue digit 1; the cancelled number stays with its registration
    assert new_ticket != old_ticket and new_ticket[:22] == old_ticket[:22] and new_ticket[22] == "1"
    assert db.session.scalar(select(AdmissionTicket.ticket_number)
                             .where(AdmissionTicket.registration_id == gone.id)) == old_ticket


def test_release_seats_frees_a_seat_at_once_and_a_cancelled_seat_shows_vacated_until_then():
    s = make_setup(rooms=(3,))
    regs = register_many(s.plan, s.site, 2)
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    org = make_user("org")
    held = _seats([regs[0].id])[0].seat_number
    REGISTRATION.move(regs[0], "cancel", org, reason="退考")
    grid = seats.seat_plan(s.school_user, s.rooms[0].id)
    assert grid.cells[held - 1].vacated and not grid.cells[held - 1].taken and grid.taken == 1
    assert seats.release_seats(org, regs[0]) == 1
    assert not _seats([regs[0].id]) and len(_seats([regs[1].id])) == 1


def test_several_sessions_of_a_subject_fill_in_time_order():
    s = make_setup(rooms=(10,), days=3)
    regs = register_many(s.plan, s.site, 25)
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    per_session = {k: v for k, v in db.session.execute(select(Seat.session_id, func.count(Seat.id))
                                                   .group_by(Seat.session_id))}
    sessions = sorted(s.plan.sessions, key=lambda x: x.date)
    assert [per_session.get(x.id, 0) for x in sessions] == [10, 10, 5]
    numbers = db.session.scalars(select(AdmissionTicket.ticket_number).where(
        AdmissionTicket.registration_id.in_([r.id for r in regs]))).all()
    assert len(set(numbers)) == 25  # the same room and seat on another day is another number
    assert {ticket_numbers.parse(n).session for n in numbers} == {1, 2, 3}


def test_a_scheduled_room_can_grow_and_the_next_run_uses_the_new_seats():
    s = make_setup(rooms=(2,))
    register_many(s.plan, s.site, 2)
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    with pytest.raises(DomainError):
        rooms.save_room(s.school_user, {"seats": 1}, s.rooms[0].id)
    rooms.save_room(s.school_user, {"seats": 4}, s.rooms[0].id)
    register_many(s.plan, s.site, 2)
    assert seats.schedule(s.school_user, s.plan.id, s.site.id).placed == 2
    assert sorted(seat.seat_number for seat in _seats()) == [1, 2, 3, 4]


def test_a_site_whose_level_has_no_session_in_the_plan_is_refused_with_the_reason():
    s = make_setup(rooms=(3,))
    other_site = make_site(s.school_user, Level.MIDDLE)
    make_registration(make_candidate(s.site.school_id), s.plan, other_site)
    register_many(s.plan, s.site, 2)
    with pytest.raises(DomainError, match="没有.*的考试场次"):
        seats.schedule(s.school_user, s.plan.id)


def test_without_a_site_every_site_in_scope_with_registrations_is_scheduled():
    s = make_setup(rooms=(3,))
    other_school = make_user("school")
    second = make_site(other_school)
    make_room(other_school, s.plan, second, s.subject, "二号楼机房", 3)
    register_many(s.plan, s.site, 2)
    register_many(s.plan, second, 3)
    assert seats.schedule(s.school_user, s.plan.id).placed == 2  # a school: its own sites only
    result = seats.schedule(make_user("org"), s.plan.id)  # the org: every site
    assert (result.placed, result.already_placed, len(result.runs)) == (3, 2, 1)
    numbers = db.session.scalars(select(AdmissionTicket.ticket_number)).all()
    assert {ticket_numbers.parse(n).site for n in numbers} == {s.site.id, second.id}


def test_the_org_schedules_any_site_a_school_only_its_own():
    s = make_setup(rooms=(3,))
    register_many(s.plan, s.site, 2)
    with pytest.raises(NotInScope):
        seats.schedule(make_user("school"), s.plan.id, s.site.id)
    with pytest.raises(ForbiddenAction):
        seats.schedule(make_user("province"), s.plan.id, s.site.id)
    assert seats.schedule(make_user("org"), s.plan.id, s.site.id).placed == 2


def test_the_seat_plan_is_a_grid_of_the_rooms_seats():
    s = make_setup(rooms=(8,))
    register_many(s.plan, s.site, 5)
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    plan = seats.seat_plan(s.school_user, s.rooms[0].id, columns=4)
    assert [[c.number for c in row] for row in plan.rows] == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert plan.taken == 5 and all(c.ticket_number for c in plan.cells[:5]) and not plan.cells[5].taken
    with pytest.raises(NotInScope):
        seats.seat_plan(make_user("school"), s.rooms[0].id)


def test_an_extra_room_set_up_later_gets_the_next_room_number():
    s = make_setup(rooms=(2,))
    register_many(s.plan, s.site, 2)
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    extra = make_room(s.school_user, s.plan, s.site, s.subject, "机房9", 5)
    register_many(s.plan, s.site, 3)
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    db.session.refresh(extra)
    assert extra.number == 2 and extra.scheduled


def test_a_disabled_site_is_not_scheduled():
    from examadmin.sites import services as sites

    s = make_setup(rooms=(3,))
    register_many(s.plan, s.site, 2)
    sites.disable_site(make_user("org"), s.site.id, "设备检修")
    with pytest.raises(DomainError, match="只有审核通过且未停用的站点才能排考"):
        seats.schedule(s.school_user, s.plan.id, s.site.id)
