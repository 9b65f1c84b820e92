"""Eight schools' requests at once save one physical room for two plans whose sessions
overlap: it ends up in one plan only; every other request reads why, in Chinese. And rooms
set up while the org withdraws the plan: never a draft plan with rooms.

Real commits from real threads (tests/threads.py). On PostgreSQL all threads reach their
first flush before any may write unless the code serialises them (the site row is locked
before the overlap check), so without that lock the room lands in both plans every run.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from examadmin.catalog.models import Level
from examadmin.core.auth import User
from examadmin.exams.models import ExamPlan, ExamRoom
from examadmin.exams.states import PlanState
from examadmin.exams.services import plans, rooms
from examadmin.extensions import db
from tests.exams.factories import make_plan, make_subject
from tests.sites.factories import make_site, make_user
from tests.threads import race

pytestmark = pytest.mark.no_db_fixture
RACERS = 8


def test_parallel_room_creations_never_put_one_room_in_two_overlapping_sessions(app):
    with app.app_context():
        junior = make_subject(Level.JUNIOR, "机考")
        first = make_plan([(junior, "09:00", "11:00")])
        second = make_plan([(junior, "10:00", "12:00")])  # overlaps the first
        user = make_user("school")
        site = make_site(user)
        db.session.commit()
        ids = {"user": user.id, "site": site.id, "subject": junior.id, "plans": [first.id, second.id]}
        db.session.remove()

    turn = iter(range(RACERS))

    def create():
        plan_id = ids["plans"][next(turn) % 2]  # half the requests for each plan
        rooms.save_room(db.session.get(User, ids["user"]), {
            "plan_id": plan_id, "site_id": ids["site"], "subject_id": ids["subject"],
            "name": "实训楼 501", "seats": 30})

    answers = race(app, create, RACERS)
    assert answers.count("ok") == 1, answers
    refused = [a for a in answers if a != "ok"]
    assert all("时间重叠：同一考场不能同时用于两场考试" in a or "本站点已有该科目的考场「实训楼 501」" in a
               for a in refused), refused
    with app.app_context():
        plans_with_it = db.session.scalar(select(func.count(func.distinct(ExamRoom.plan_id))).where(
            ExamRoom.site_id == ids["site"], ExamRoom.name == "实训楼 501"))
        db.session.remove()
    assert plans_with_it == 1


def test_rooms_set_up_while_the_plan_is_withdrawn_never_leave_a_draft_with_rooms(app):
    with app.app_context():
        junior = make_subject(Level.JUNIOR, "机考")
        plan = make_plan([(junior, "09:00", "11:00")])
        schools = [make_user("school") for _ in range(3)]
        site_ids = [make_site(user).id for user in schools]
        org = make_user("org")
        db.session.commit()
        ids = {"plan": plan.id, "subject": junior.id, "org": org.id, "schools": [u.id for u in schools],
               "sites": site_ids}
        db.session.remove()

    turn = iter(range(4))

    def act():
        n = next(turn)
        if n == 3:
            plans.withdraw_plan(db.session.get(User, ids["org"]), ids["plan"])
        else:
            rooms.save_room(db.session.get(User, ids["schools"][n]), {
                "plan_id": ids["plan"], "site_id": ids["sites"][n], "subject_id": ids["subject"],
                "name": "实训楼 601", "seats": 30})

    answers = race(app, act, 4)
    assert not [a for a in answers if a.startswith("500")], answers
    with app.app_context():
        state = db.session.get(ExamPlan, ids["plan"]).state
        room_count = db.session.scalar(select(func.count()).select_from(ExamRoom).where(
            ExamRoom.plan_id == ids["plan"]))
        db.session.remove()
    if state == PlanState.DRAFT:  # the withdrawal went first: every room was refused
        assert room_count == 0, answers
        # a school does not see a draft plan at all (404), or sees it was withdrawn meanwhile
        assert answers.count("ok") == 1 and all("尚未发布，不能设置考场" in a or a.startswith("404")
                                                for a in answers if a != "ok"), answers
    else:  # rooms went first: the withdrawal was refused
        assert room_count == 3 and "已有院校为该计划设置了考场，不能撤回发布" in answers, answers
