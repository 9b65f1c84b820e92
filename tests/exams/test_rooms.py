"""Exam rooms: who may set them up where, what may change, and seats per session."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from examadmin.catalog import services as catalog
from examadmin.catalog.models import Level
from examadmin.core.auth import SYSTEM
from examadmin.core.errors import DomainError
from examadmin.core.permissions import ForbiddenAction, NotInScope
from examadmin.exams.models import ExamRoom, RoomType
from examadmin.exams.services import rooms
from examadmin.extensions import db
from examadmin.sites import services as sites
from tests.conftest import login_as
from tests.exams.factories import EXAM_DAY, make_plan, make_room, make_subject
from tests.sites.factories import make_site, make_user


@pytest.fixture
def setup():
    """A published plan with 初级 机考 and 中级 笔试 on one day, and a school with an approved 初级 site."""
    junior, middle = make_subject(Level.JUNIOR, "机考"), make_subject(Level.MIDDLE, "笔试")
    plan = make_plan([(junior, "09:00", "11:00"), (middle, "14:00", "16:00"),
                      (junior, "09:00", "11:00", EXAM_DAY + timedelta(days=1))])
    user = make_user("school")
    site = make_site(user)
    return plan, site, user, junior, middle


def test_a_room_takes_its_type_from_the_subject(setup):
    plan, site, user, junior, _ = setup
    room = make_room(user, plan, site, junior, "A101", 40)
    assert room.room_type == RoomType.COMPUTER_ROOM and room.school_id == site.school_id
    assert room.subject.certificate_level.level == Level.JUNIOR and not room.scheduled


@pytest.mark.parametrize("how", ["pending", "rejected", "disabled"])
def test_no_room_at_a_site_that_is_not_approved_and_enabled(setup, how):
    plan, _, _, junior, _ = setup
    org, user = make_user("org"), make_user("school")
    site = make_site(user, approved=False)
    if how == "rejected":
        sites.reject_site(org, site.id, "不合格")
    if how == "disabled":
        sites.approve_site(org, site.id)
        sites.disable_site(org, site.id, "整改")
    with pytest.raises(DomainError, match="只有审核通过且未停用的站点才能设置考场") as exc:
        make_room(user, plan, site, junior)
    assert exc.value.field == "site_id"
    assert db.session.scalar(select(func.count(ExamRoom.id))) == 0


def test_another_schools_site_is_not_found(setup):
    plan, site, _, junior, _ = setup
    with pytest.raises(NotInScope):
        make_room(make_user("school"), plan, site, junior)


def test_a_draft_plan_is_not_found_by_a_school(setup):
    _, site, user, junior, _ = setup
    draft = make_plan([(junior, "09:00", "11:00")], publish=False)
    with pytest.raises(NotInScope):
        make_room(user, draft, site, junior)


def test_the_subject_must_have_a_session_at_the_sites_level(setup):
    plan, site, user, _, middle = setup
    with pytest.raises(DomainError, match="没有科目") as exc:
        make_room(user, plan, site, middle)  # a 中级 subject at a 初级 site
    assert exc.value.field == "subject_id"
    with pytest.raises(DomainError, match="没有科目"):
        make_room(user, plan, site, make_subject(Level.JUNIOR))  # no session of it in the plan


def test_the_site_must_be_of_the_plans_certificate(setup):
    plan, _, user, _, _ = setup
    other = catalog.save_certificate(SYSTEM, {"code": "T-7", "name": "别的证书", "org_name": "某组织"})
    catalog.add_level(SYSTEM, other.id, "初级")
    foreign = make_site(make_user("school", school=user.school), certificate=other)
    with pytest.raises(DomainError, match="不是社会心理服务职业技能等级证书的考核站点"):
        make_room(user, plan, foreign, make_subject(certificate=other))


@pytest.mark.parametrize("seats,message", [(0, "座位数应在 1 到 999 之间"), (1000, "座位数应在 1 到 999 之间"),
                                           ("三十", "请填写座位数")])
def test_bad_seat_counts(setup, seats, message):
    plan, site, user, junior, _ = setup
    with pytest.raises(DomainError, match=message) as exc:
        make_room(user, plan, site, junior, seats=seats)
    assert exc.value.field == "seats"


def test_a_room_needs_a_name_unique_per_subject(setup):
    plan, site, user, junior, _ = setup
    with pytest.raises(DomainError, match="请填写考场名称或编号"):
        make_room(user, plan, site, junior, name=" ")
    make_room(user, plan, site, junior, name="A101")
    with pytest.raises(DomainError, match="已有该科目的考场「A101」"):
        make_room(user, plan, site, junior, name="a101")


def test_one_physical_room_is_not_in_two_sessions_at_once(setup):
    plan, site, user, junior, _ = setup
    practice = make_subject(Level.JUNIOR, "实操")
    make_room(user, plan, site, junior, name="实训楼 301")
    # A second plan whose 初级 session overlaps the first plan's 09:00-11:00 on EXAM_DAY.
    other = make_plan([(practice, "10:00", "12:00")])
    with pytest.raises(DomainError, match="时间重叠：同一考场不能同时用于两场考试") as exc:
        make_room(user, other, site, practice, name="实训楼 301")
    assert exc.value.field == "name"
    assert make_room(user, other, site, practice, name="实训楼 302").seats == 30
    later = make_plan([(practice, "11:00", "12:00")])
    assert make_room(user, later, site, practice, name="实训楼 301")  # back to back is fine


def test_an_unscheduled_room_changes_freely_and_can_be_deleted(setup):
    plan, site, user, junior, _ = setup
    room = make_room(user, plan, site, junior, "A101", 40)
    rooms.save_room(user, {"subject_id": junior.id, "name": "A102", "seats": 20}, room.id)
    assert (room.name, room.seats) == ("A102", 20)
    rooms.delete_room(user, room.id)
    assert db.session.get(ExamRoom, room.id) is None


def test_a_scheduled_room_only_grows(setup):
    plan, site, user, junior, _ = setup
    room = make_room(user, plan, site, junior, "A101", 40)
    room.scheduled = True  # what seat scheduling will do
    with pytest.raises(DomainError, match="座位数只能增加：当前为 40 个") as exc:
        rooms.save_room(user, {"subject_id": junior.id, "name": "A101", "seats": 39}, room.id)
    assert exc.value.field == "seats" and room.seats == 40
    with pytest.raises(DomainError, match="不能修改考场名称"):
        rooms.save_room(user, {"subject_id": junior.id, "name": "B201", "seats": 50}, room.id)
    with pytest.raises(DomainError, match="已排考，不能删除"):
        rooms.delete_room(user, room.id)
    rooms.save_room(user, {"subject_id": junior.id, "name": "A101", "seats": 45}, room.id)
    assert room.seats == 45


def test_a_scheduled_room_grows_even_at_a_disabled_site(setup):
    plan, site, user, junior, _ = setup
    room = make_room(user, plan, site, junior, "A101", 40)
    room.scheduled = True
    sites.disable_site(make_user("org"), site.id, "整改")
    assert rooms.save_room(user, {"seats": 41}, room.id).seats == 41


def test_only_schools_set_up_rooms_and_only_their_own(setup):
    plan, site, user, junior, _ = setup
    room = make_room(user, plan, site, junior)
    with pytest.raises(ForbiddenAction):
        make_room(make_user("org"), plan, site, junior)
    stranger = make_user("school")
    with pytest.raises(NotInScope):
        rooms.save_room(stranger, {"seats": 99}, room.id)
    with pytest.raises(NotInScope):
        rooms.delete_room(stranger, room.id)
    assert set(db.session.scalars(rooms.list_rooms(stranger))) == set()
    assert set(db.session.scalars(rooms.list_rooms(make_user("org")))) == {room}


def test_seats_per_session_per_site(setup):
    plan, site, user, junior, middle = setup
    make_room(user, plan, site, junior, "A101", 40)
    make_room(user, plan, site, junior, "A102", 35)
    middle_site = make_site(make_user("school", school=user.school), Level.MIDDLE)
    make_room(user, plan, middle_site, middle, "B201", 50)
    summary = {row.site.id: [(c.session.level, c.session.date, c.rooms, c.seats) for c in row.sessions]
               for row in rooms.seat_summary(user, plan.id)}
    assert summary[site.id] == [(Level.JUNIOR, EXAM_DAY, 2, 75), (Level.JUNIOR, EXAM_DAY + timedelta(days=1), 2, 75)]
    assert summary[middle_site.id] == [(Level.MIDDLE, EXAM_DAY, 1, 50)]
    other_school = make_user("school")
    assert rooms.seat_summary(other_school, plan.id) == []
    national = {row.site.id for row in rooms.seat_summary(make_user("org"), plan.id)}
    assert national == {site.id, middle_site.id}


# ---- pages ------------------------------------------------------------------------------

def test_the_room_form_offers_the_plans_sites_and_subjects_as_json(client, setup):
    plan, site, user, junior, middle = setup
    other_school_site = make_site(make_user("school"))
    db.session.commit()
    login_as(client, user)
    page = client.get("/exams/rooms/new").get_data(as_text=True)
    # One page: plan, site and subject are all on the form, the lists filled by room_form.js.
    assert 'id="room-plan"' in page and 'id="room-site"' in page and 'id="room-subject"' in page
    assert "/static/room_form.js" in page and "<script>" not in page  # CSP: no inline script
    sites_of_plan = client.get(f"/exams/rooms/options.json?plan_id={plan.id}").get_json()
    assert sites_of_plan["sites"] == [{"id": site.id, "name": site.name}] and sites_of_plan["subjects"] == []
    assert other_school_site.id not in [s["id"] for s in sites_of_plan["sites"]]
    subjects = client.get(f"/exams/rooms/options.json?plan_id={plan.id}&site_id={site.id}").get_json()
    assert subjects["subjects"] == [{"id": junior.id, "label": f"{junior.name}（机考 · 机房）"}]
    assert client.get(f"/exams/rooms/options.json?plan_id={plan.id}&site_id={other_school_site.id}"
                      ).status_code == 404
    assert client.get("/exams/rooms/options.json").get_json() == {"sites": [], "subjects": [], "message": ""}
    login_as(client, make_user("org"))
    assert client.get(f"/exams/rooms/options.json?plan_id={plan.id}").status_code == 403


def test_school_sets_up_a_room_step_by_step(client, setup):
    plan, site, user, junior, _ = setup
    db.session.commit()
    login_as(client, user)
    step1 = client.get("/exams/rooms/new").get_data(as_text=True)
    assert plan.name in step1 and "请先选择考试计划" in step1
    step2 = client.get(f"/exams/rooms/new?plan_id={plan.id}").get_data(as_text=True)
    assert site.name in step2
    step3 = client.get(f"/exams/rooms/new?plan_id={plan.id}&site_id={site.id}").get_data(as_text=True)
    assert junior.name in step3 and "机房" in step3
    bad = client.post("/exams/rooms/new", data={"plan_id": plan.id, "site_id": site.id, "subject_id": junior.id,
                                                "name": "A101", "seats": 0}).get_data(as_text=True)
    assert "座位数应在 1 到 999 之间" in bad
    response = client.post("/exams/rooms/new", data={"plan_id": plan.id, "site_id": site.id,
                                                     "subject_id": junior.id, "name": "A101", "seats": 40})
    assert response.status_code == 302
    overview = client.get(f"/exams/rooms?plan_id={plan.id}").get_data(as_text=True)
    assert "A101" in overview and "各场次座位数" in overview and ">40<" in overview


def test_a_room_is_saved_by_a_request_that_loads_everything_afresh(client, setup):
    """The room form loads the plans with their certificate; locking the plan after that
    answered 500 on PostgreSQL (FOR SHARE on an outer join) while the test's session still
    held the plan and hid it."""
    plan, site, user, junior, _ = setup
    db.session.commit()
    login_as(client, user)
    form = {"plan_id": plan.id, "site_id": site.id, "subject_id": junior.id, "name": "B202", "seats": 30}
    db.session.expunge_all()
    response = client.post("/exams/rooms/new", data=form)
    assert response.status_code == 302
    room_id = db.session.scalars(select(ExamRoom.id).where(ExamRoom.name == "B202")).one()
    db.session.expunge_all()
    assert client.post(f"/exams/rooms/{room_id}", data={**form, "seats": 35}).status_code == 302
    assert db.session.get(ExamRoom, room_id).seats == 35


def test_lowering_a_scheduled_room_shows_the_current_count(client, setup):
    plan, site, user, junior, _ = setup
    room = make_room(user, plan, site, junior, "A101", 40)
    room.scheduled = True
    db.session.commit()
    login_as(client, user)
    body = client.post(f"/exams/rooms/{room.id}", data={"subject_id": junior.id, "name": "A101",
                                                        "seats": 30}).get_data(as_text=True)
    assert "当前为 40 个" in body
    assert client.post(f"/exams/rooms/{room.id}", data={"subject_id": junior.id, "name": "A101",
                                                        "seats": 45}).status_code == 302
    assert db.session.get(ExamRoom, room.id).seats == 45


def test_another_schools_room_answers_404(client, setup):
    plan, site, user, junior, _ = setup
    room = make_room(user, plan, site, junior)
    db.session.commit()
    login_as(client, make_user("school"))
    assert client.get(f"/exams/rooms/{room.id}").status_code == 404
    assert client.post(f"/exams/rooms/{room.id}/delete").status_code == 404
    assert client.get(f"/exams/rooms/new?plan_id={plan.id}&site_id={site.id}").status_code == 404
    assert client.post("/exams/rooms/new", data={"plan_id": plan.id, "site_id": site.id, "subject_id": junior.id,
                                                 "name": "X1", "seats": 10}).status_code == 404
    assert db.session.get(ExamRoom, room.id) is not None
