"""Proctor pages at the same moment (real threads, real commits; PostgreSQL with
TEST_DATABASE_URL): a race answers the Chinese message of the sequential case, never a 500."""
from __future__ import annotations

import pytest

from examadmin.core.auth import User
from examadmin.extensions import db
from examadmin.scheduling.services import proctors
from tests.candidates.helpers import id_number
from tests.scheduling.factories import make_setup
from tests.threads import race

pytestmark = pytest.mark.no_db_fixture
RACERS = 10


def test_one_person_registered_ten_times_at_once_is_registered_once(app):
    with app.app_context():
        s = make_setup(rooms=(10,))
        user_id, number = s.school_user.id, id_number("19800101")
        db.session.commit()
        db.session.remove()

    def register():
        proctors.save_proctor(db.session.get(User, user_id), {"name": "王老师", "phone": "13900000000",
                                                              "id_type": "居民身份证", "id_number": number})
    answers = race(app, register, RACERS)
    assert answers.count("ok") == 1, answers
    assert all("本校已登记证件号码为" in a for a in answers if a != "ok"), answers


def test_one_proctor_assigned_to_two_rooms_of_one_session_at_once_is_assigned_once(app):
    with app.app_context():
        s = make_setup(rooms=(10, 10))
        proctor = proctors.save_proctor(s.school_user, {"name": "王老师", "phone": "13900000000",
                                                        "id_number": id_number("19800101")})
        user_id, proctor_id = s.school_user.id, proctor.id
        room_ids, session_id = [r.id for r in s.rooms], s.plan.sessions[0].id
        db.session.commit()
        db.session.remove()
    turn = iter(range(RACERS))

    def assign():
        room_id = room_ids[next(turn) % 2]
        proctors.assign(db.session.get(User, user_id), proctor_id, room_id, session_id)
    answers = race(app, assign, RACERS)
    assert answers.count("ok") == 1, answers
    assert all("同一人不能同时监考两个考场" in a or "监考该场次" in a for a in answers if a != "ok"), answers
