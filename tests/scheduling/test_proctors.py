"""Proctors: registration per school, assignment per session, accounts, the list, the release rule."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from examadmin.core.audit import AuditLog
from examadmin.core.auth import authenticate
from examadmin.core.errors import DomainError
from examadmin.core.permissions import ForbiddenAction, NotInScope
from examadmin.core.roles import Role
from examadmin.exams.models import ExamRoom
from examadmin.extensions import db
from examadmin.scheduling.models import Proctor, ProctorAssignment, Seat
from examadmin.scheduling.services import proctors, seats
from tests.candidates.helpers import id_number
from tests.exams.factories import EXAM_DAY, make_plan, make_room, make_subject
from tests.scheduling.factories import make_setup, register_many
from tests.sites.factories import make_site, make_user
from examadmin.catalog.models import Level


def make_proctor(school_user, name: str = "王老师", role: str = "主监考") -> Proctor:
    return proctors.save_proctor(school_user, {"name": name, "phone": "13900000000", "id_type": "居民身份证",
                                               "id_number": id_number("19800101"), "role": role})


@pytest.mark.parametrize("typed", ["139 0000 0002", "139-0000-0002", "+86 13900000002", "１３９０００００００２",
                                   "13\u0669\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0662"])
def test_a_proctors_mobile_number_is_stored_as_its_eleven_digits(typed):
    proctor = proctors.save_proctor(make_user("school"), {"name": "孙老师", "phone": typed,
                                                          "id_number": id_number("19800101")})
    assert proctor.phone == "13900000002"


@pytest.mark.parametrize("typed", ["12345", "023-6888 1234", "139000000021"])
def test_a_proctors_phone_that_is_no_mobile_number_is_refused(typed):
    with pytest.raises(DomainError, match="11 位手机号") as bad:
        proctors.save_proctor(make_user("school"), {"name": "孙老师", "phone": typed,
                                                    "id_number": id_number("19800102")})
    assert bad.value.field == "phone"


def test_a_proctors_name_is_cleaned_as_a_candidates():
    proctor = proctors.save_proctor(make_user("school"), {"name": "阿依古丽 • 买买提", "phone": "13900000005",
                                                          "id_number": id_number("19800103")})
    assert proctor.name == "阿依古丽·买买提"


def test_a_proctor_is_registered_per_school_and_the_id_number_is_masked_in_the_audit():
    user = make_user("school")
    number = id_number("19790304")
    proctor = proctors.save_proctor(user, {"name": "李老师", "phone": "13900000001", "id_number": number,
                                           "role": "副监考"})
    assert proctor.school_id == user.school_id and proctor.role.value == "副监考"
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "proctor.create",
                                                     AuditLog.entity_id == proctor.id))
    assert number not in str(entry.after) and entry.after["id_number"].endswith(number[-4:])
    with pytest.raises(DomainError, match="已登记"):
        proctors.save_proctor(user, {"name": "李老师", "phone": "13900000001", "id_number": number})
    with pytest.raises(DomainError) as bad:
        proctors.save_proctor(user, {"name": "赵老师", "phone": "13900000001", "id_number": "110101199001011230"})
    assert bad.value.field == "id_number"
    with pytest.raises(NotInScope):
        proctors.get_proctor(make_user("school"), proctor.id)
    with pytest.raises(ForbiddenAction):
        make_proctor(make_user("org"))


def test_nobody_proctors_two_rooms_of_one_session_and_the_refusal_names_both_rooms():
    s = make_setup(rooms=(10, 10))
    first, second = s.rooms
    session = s.plan.sessions[0]
    p = make_proctor(s.school_user)
    proctors.assign(s.school_user, p.id, first.id, session.id)
    with pytest.raises(DomainError) as caught:
        proctors.assign(s.school_user, p.id, second.id, session.id)
    assert "机房1" in caught.value.message and "机房2" in caught.value.message
    with pytest.raises(DomainError, match="已安排在考场「机房1」监考该场次"):
        proctors.assign(s.school_user, p.id, first.id, session.id)
    assert db.session.scalar(select(ProctorAssignment.room_id).where(ProctorAssignment.proctor_id == p.id)) == first.id


def test_the_database_refuses_a_second_room_in_one_session_too():
    s = make_setup(rooms=(10, 10))
    p = make_proctor(s.school_user)
    session = s.plan.sessions[0]
    db.session.add(ProctorAssignment(proctor_id=p.id, room_id=s.rooms[0].id, session_id=session.id,
                                     school_id=s.site.school_id))
    db.session.flush()
    from sqlalchemy.exc import IntegrityError
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(ProctorAssignment(proctor_id=p.id, room_id=s.rooms[1].id, session_id=session.id,
                                             school_id=s.site.school_id))
            db.session.flush()


def test_overlapping_sessions_of_two_levels_count_as_one_time():
    junior, middle = make_subject(Level.JUNIOR), make_subject(Level.MIDDLE)
    plan = make_plan([(junior, "09:00", "11:00"), (middle, "10:00", "12:00")])
    user = make_user("school")
    site_j, site_m = make_site(user, Level.JUNIOR), make_site(user, Level.MIDDLE)
    room_j = make_room(user, plan, site_j, junior, "A101")
    room_m = make_room(user, plan, site_m, middle, "A102")
    p = make_proctor(user)
    by_subject = {s.subject_id: s for s in plan.sessions}
    proctors.assign(user, p.id, room_j.id, by_subject[junior.id].id)
    with pytest.raises(DomainError, match="时间重叠"):
        proctors.assign(user, p.id, room_m.id, by_subject[middle.id].id)


def test_a_proctor_is_assigned_only_to_a_session_of_the_rooms_subject_and_own_school():
    s = make_setup(rooms=(10,), days=2)
    p = make_proctor(s.school_user)
    other = make_setup(rooms=(10,))
    with pytest.raises(DomainError, match="没有该场次"):
        proctors.assign(s.school_user, p.id, s.rooms[0].id, other.plan.sessions[0].id)
    with pytest.raises(NotInScope):
        proctors.assign(s.school_user, p.id, other.rooms[0].id, other.plan.sessions[0].id)
    for session in s.plan.sessions:  # one room on two days: two assignments
        proctors.assign(s.school_user, p.id, s.rooms[0].id, session.id)


def test_tickets_are_released_only_with_enough_proctors_in_every_scheduled_room_and_session(app):
    s = make_setup(rooms=(5, 5), days=2)
    register_many(s.plan, s.site, 6)  # day 1: 机房1 full, 机房2 one; day 2: nobody
    assert not proctors.tickets_released(s.site.id, s.plan.id)
    with pytest.raises(DomainError, match="尚未排考"):
        proctors.require_tickets_released(s.site.id, s.plan.id)
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    day1 = sorted(s.plan.sessions, key=lambda x: x.date)[0]
    people = [make_proctor(s.school_user, f"监考{i}") for i in range(4)]
    proctors.assign(s.school_user, people[0].id, s.rooms[0].id, day1.id)
    proctors.assign(s.school_user, people[1].id, s.rooms[0].id, day1.id)
    proctors.assign(s.school_user, people[2].id, s.rooms[1].id, day1.id)
    assert not proctors.tickets_released(s.site.id, s.plan.id)
    with pytest.raises(DomainError) as caught:
        proctors.require_tickets_released(s.site.id, s.plan.id)
    assert "机房2" in caught.value.message and "机房1" not in caught.value.message and "现有 1 人" in caught.value.message
    proctors.assign(s.school_user, people[3].id, s.rooms[1].id, day1.id)
    assert proctors.tickets_released(s.site.id, s.plan.id)  # day 2 holds nobody: needs no proctors
    proctors.require_tickets_released(s.site.id, s.plan.id)
    app.config["MIN_PROCTORS_PER_ROOM"] = 3
    try:
        assert not proctors.tickets_released(s.site.id, s.plan.id)
    finally:
        app.config["MIN_PROCTORS_PER_ROOM"] = 2


def test_a_proctor_account_sees_only_its_own_rooms_and_sessions():
    s = make_setup(rooms=(5, 5))
    register_many(s.plan, s.site, 8)
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    session = s.plan.sessions[0]
    p, q = make_proctor(s.school_user, "甲"), make_proctor(s.school_user, "乙")
    proctors.assign(s.school_user, p.id, s.rooms[0].id, session.id)
    proctors.assign(s.school_user, q.id, s.rooms[1].id, session.id)
    user, password = proctors.create_account(s.school_user, p.id)
    assert user.role == Role.PROCTOR and user.must_change_password and user.school_id == s.site.school_id
    assert authenticate(user.username, password) is not None
    with pytest.raises(DomainError, match="已有账号"):
        proctors.create_account(s.school_user, p.id)
    from examadmin.core import permissions
    visible = db.session.scalars(permissions.scoped(user, select(Seat))).all()
    assert visible and {seat.room_id for seat in visible} == {s.rooms[0].id}
    assert [a.room_id for a in proctors.my_assignments(user)] == [s.rooms[0].id]
    assert db.session.scalars(permissions.scoped(user, select(Proctor))).all() == [p]
    with pytest.raises(ForbiddenAction):
        proctors.my_assignments(s.school_user)


def test_the_proctor_list_per_session_exports_with_masked_id_numbers():
    s = make_setup(rooms=(5,), days=2)
    register_many(s.plan, s.site, 3)
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    day1, day2 = sorted(s.plan.sessions, key=lambda x: x.date)
    p = make_proctor(s.school_user, "=HYPERLINK(1)")
    q = make_proctor(s.school_user, "钱老师", "副监考")
    proctors.assign(s.school_user, p.id, s.rooms[0].id, day1.id)
    proctors.assign(s.school_user, q.id, s.rooms[0].id, day2.id)
    data = proctors.export_proctor_list(s.school_user, s.plan.id, s.site.id, day1.id)
    path = io.BytesIO(data)
    import tempfile, os
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as fh:
        fh.write(path.getvalue())
    try:
        rows = CalamineWorkbook.from_path(fh.name).get_sheet_by_index(0).to_python()
    finally:
        os.unlink(fh.name)
    assert rows[0][:4] == ["场次", "考场号", "考场", "姓名"]
    assert len(rows) == 2 and rows[1][3] == "'=HYPERLINK(1)" and rows[1][2] == "机房1"
    assert "*" in rows[1][6] and p.id_number not in rows[1][6]
    assert rows[1][5] == "139****0000"
    assert rows[1][7] == 3


def test_unassigning_takes_a_proctor_out():
    s = make_setup(rooms=(5,))
    p = make_proctor(s.school_user)
    a = proctors.assign(s.school_user, p.id, s.rooms[0].id, s.plan.sessions[0].id)
    with pytest.raises(NotInScope):
        proctors.unassign(make_user("school"), a.id)
    proctors.unassign(s.school_user, a.id)
    assert db.session.scalar(select(ProctorAssignment).where(ProctorAssignment.proctor_id == p.id)) is None
