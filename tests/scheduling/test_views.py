"""The scheduling pages: who may open them, scheduling from the page, seat plan, proctors."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from examadmin.extensions import db
from examadmin.registrations.models import Registration
from examadmin.registrations.states import RegistrationState
from examadmin.scheduling.models import AdmissionTicket, Proctor, ProctorAssignment
from examadmin.scheduling.services import proctors, seats
from tests.candidates.helpers import id_number
from tests.conftest import login_as
from tests.scheduling.factories import make_setup, register_many
from tests.sites.factories import make_user

ROLES = ["sysadmin", "org", "province", "city", "school", "candidate", "proctor"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url,allowed", [
    ("/scheduling/", {"sysadmin", "org", "school"}),
    ("/scheduling/proctors", {"sysadmin", "org", "school"}),
    ("/scheduling/proctors/new", {"school"}),
    ("/scheduling/mine", {"proctor"}),
])
def test_role_table(client, role, url, allowed):
    login_as(client, make_user(role))
    assert client.get(url).status_code == (200 if role in allowed else 403), f"{role} {url}"


def test_a_school_schedules_from_the_page_and_sees_the_seat_grid(client):
    s = make_setup(rooms=(6,))
    regs = register_many(s.plan, s.site, 4)
    login_as(client, s.school_user)
    page = client.get(f"/scheduling/?plan_id={s.plan.id}").get_data(as_text=True)
    assert s.site.name in page and 'data-testid="paid">4<' in page
    assert 'data-testid="run-schedule"' in page and "无待排考考生" not in page
    # the confirmation names the count and that the ticket numbers it issues are permanent
    assert "的 4 名已缴费、待排考的考生排考？排考将为这 4 人分配考场座位并生成准考证号；准考证号一经生成永久不变" in page
    response = client.post("/scheduling/run", data={"plan_id": s.plan.id, "site_id": s.site.id},
                           follow_redirects=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "已排考 4 人" in body
    assert all(db.session.get(Registration, r.id).state == RegistrationState.SCHEDULED for r in regs)
    grid = client.get(f"/scheduling/rooms/{s.rooms[0].id}?cols=3").get_data(as_text=True)
    assert grid.count('data-testid="seat"') == 6 and grid.count('data-testid="seat-name"') == 4
    assert regs[0].candidate.name in grid
    # a phone shows two seats a line (the desktop the chosen count), and a ticket number breaks,
    # if at all, only between its halves of 12 digits, never mid-number
    assert grid.count('class="col-6 col-sm-4 col-md"') == 6 and "text-break" not in grid
    number = db.session.scalar(select(AdmissionTicket.ticket_number).where(AdmissionTicket.registration_id == regs[0].id))
    assert (f'<span class="text-nowrap">{number[:12]}</span><wbr><span class="text-nowrap">{number[12:]}</span>'
            in grid)
    again = client.post("/scheduling/run", data={"plan_id": s.plan.id, "site_id": s.site.id},
                        follow_redirects=True).get_data(as_text=True)
    assert "没有需要排考的已缴费考生" in again
    # with nobody waiting the button is disabled and says so, rather than answering with a message
    assert 'data-testid="run-schedule"' not in again and "无待排考考生" in again
    assert 'data-testid="run-schedule-none"' in again


def test_table_headers_do_not_wrap(client):
    response = client.get("/static/app.css")
    css = response.get_data(as_text=True)
    response.close()
    assert ".table thead th { white-space: nowrap; }" in css


def test_a_shortfall_is_shown_per_site_and_session(client):
    s = make_setup(rooms=(2,))
    register_many(s.plan, s.site, 5)
    login_as(client, s.school_user)
    body = client.post("/scheduling/run", data={"plan_id": s.plan.id, "site_id": s.site.id},
                       follow_redirects=True).get_data(as_text=True)
    assert "座位不足" in body and "还差 3 个" in body and s.site.name in body


def test_bad_input_gets_a_clear_answer_never_a_500(client):
    s = make_setup(rooms=(2,))
    login_as(client, s.school_user)
    assert client.post("/scheduling/run", data={"plan_id": "abc"}).status_code == 404
    assert client.get("/scheduling/rooms/99999999999999999999").status_code == 404
    assert client.get(f"/scheduling/rooms/{s.rooms[0].id}?session_id=x&cols=999").status_code == 200
    assert client.get("/scheduling/?plan_id=zz").status_code == 200
    other = make_user("school")
    login_as(client, other)
    assert client.get(f"/scheduling/rooms/{s.rooms[0].id}").status_code == 404
    assert client.post("/scheduling/run", data={"plan_id": s.plan.id, "site_id": s.site.id}).status_code == 404


def test_proctors_are_registered_assigned_and_refused_in_two_rooms_from_the_pages(client):
    s = make_setup(rooms=(5, 5))
    register_many(s.plan, s.site, 6)
    seats.schedule(s.school_user, s.plan.id, s.site.id)
    login_as(client, s.school_user)
    response = client.post("/scheduling/proctors/new", data={
        "name": "孙老师", "phone": "13900000002", "id_type": "居民身份证", "id_number": id_number("19850505"),
        "role": "主监考", "active": "y"}, follow_redirects=True)
    assert "已保存" in response.get_data(as_text=True)
    proctor = db.session.scalar(select(Proctor).where(Proctor.name == "孙老师", Proctor.school_id == s.site.school_id))
    listing = client.get("/scheduling/proctors").get_data(as_text=True)
    assert "孙老师" in listing and proctor.id_number not in listing
    assert "13900000002" not in listing and "139****0002" in listing
    session = s.plan.sessions[0]
    url = f"/scheduling/plans/{s.plan.id}/sites/{s.site.id}/proctors"
    client.post(url, data={"proctor_id": proctor.id, "room_id": s.rooms[0].id, "session_id": session.id})
    body = client.post(url, data={"proctor_id": proctor.id, "room_id": s.rooms[1].id, "session_id": session.id},
                       follow_redirects=True).get_data(as_text=True)
    assert "不能在同一场次再监考考场「机房2」" in body and "已安排在考场「机房1」" in body
    assert db.session.scalar(select(ProctorAssignment.room_id)
                             .where(ProctorAssignment.proctor_id == proctor.id)) == s.rooms[0].id
    board = client.get(url).get_data(as_text=True)
    assert "孙老师（主监考）" in board
    export = client.get(f"/scheduling/plans/{s.plan.id}/sites/{s.site.id}/proctors.xlsx?session_id={session.id}")
    assert export.status_code == 200 and export.data[:2] == b"PK"
    site_page = client.get(f"/scheduling/plans/{s.plan.id}/sites/{s.site.id}").get_data(as_text=True)
    assert 'data-testid="tickets-held"' in site_page and "机房1" in site_page


def test_a_proctor_account_is_opened_once_and_its_user_sees_its_own_rooms(client):
    s = make_setup(rooms=(5,))
    p = proctors.save_proctor(s.school_user, {"name": "周老师", "phone": "13900000003",
                                              "id_number": id_number("19810101")})
    proctors.assign(s.school_user, p.id, s.rooms[0].id, s.plan.sessions[0].id)
    login_as(client, s.school_user)
    body = client.post(f"/scheduling/proctors/{p.id}/account").get_data(as_text=True)
    assert 'data-testid="account-password"' in body
    user = db.session.get(Proctor, p.id).user_id
    assert user is not None
    from examadmin.core.auth import User
    account = db.session.get(User, user)
    account.must_change_password = False
    login_as(client, account)
    mine = client.get("/scheduling/mine").get_data(as_text=True)
    assert "机房1" in mine
    assert client.get("/", follow_redirects=True).status_code == 200  # the home page sends a proctor on
    assert client.get("/scheduling/").status_code == 403
    assert client.get(f"/scheduling/rooms/{s.rooms[0].id}").status_code == 403


def test_the_school_resets_a_proctors_forgotten_password_and_only_its_own(client):
    import re

    from examadmin.core.auth import User, authenticate
    s = make_setup(rooms=(5,))
    p = proctors.save_proctor(s.school_user, {"name": "吴老师", "phone": "13900000004",
                                              "id_number": id_number("19820101")})
    login_as(client, s.school_user)
    first = client.post(f"/scheduling/proctors/{p.id}/account").get_data(as_text=True)
    old = re.search(r'data-testid="account-password">([^<]+)<', first).group(1)
    assert 'data-testid="proctor-reset-password"' in client.get("/scheduling/proctors").get_data(as_text=True)
    body = client.post(f"/scheduling/proctors/{p.id}/password").get_data(as_text=True)
    assert "监考账号密码已重置" in body and "原密码已失效" in body
    new = re.search(r'data-testid="account-password">([^<]+)<', body).group(1)
    account = db.session.get(User, db.session.get(Proctor, p.id).user_id)
    db.session.refresh(account)
    assert new != old and account.must_change_password
    assert authenticate(account.username, new) is not None and authenticate(account.username, old) is None
    again = client.post(f"/scheduling/proctors/{p.id}/password", follow_redirects=True).get_data(as_text=True)
    assert "已为「吴老师」重置过密码" in again  # a second reset within a minute would void the password shown
    assert authenticate(account.username, new) is not None
    login_as(client, make_user("school"))  # another school
    assert client.post(f"/scheduling/proctors/{p.id}/password").status_code == 404


def test_the_demo_has_a_scheduled_plan_with_proctors_and_an_open_ticket_window(cli):
    from examadmin.core import clock
    from examadmin.core.auth import User
    from examadmin.exams.models import ExamPlan
    from examadmin.scheduling.models import AdmissionTicket

    # --force: tests/pilots/test_concurrency.py leaves its committed users behind
    assert cli.invoke(args=["demo", "--force"]).exit_code == 0
    plan = db.session.scalar(select(ExamPlan).where(ExamPlan.name.like("%第3次全国统一考试（社会心理服务）")))
    assert plan.ticket_start <= clock.now() <= plan.ticket_end
    candidate = db.session.scalar(select(User).where(User.username == "candidate"))
    registration = db.session.scalar(select(Registration).where(Registration.plan_id == plan.id,
                                                                Registration.candidate_id == candidate.candidate_id))
    assert registration.state == RegistrationState.SCHEDULED
    assert db.session.scalar(select(AdmissionTicket).where(AdmissionTicket.registration_id == registration.id))
    assert proctors.tickets_released(registration.site_id, plan.id)
    proctor_user = db.session.scalar(select(User).where(User.username == "proctor"))
    assert db.session.scalar(select(Proctor).where(Proctor.user_id == proctor_user.id)).name == "张伟"
    assert cli.invoke(args=["demo", "--force"]).exit_code == 0  # idempotent


def test_the_org_sees_every_site_of_the_plan_a_school_only_its_own(client):
    from tests.exams.factories import make_room
    from tests.sites.factories import make_site

    s = make_setup(rooms=(3,))
    other_school = make_user("school")
    second = make_site(other_school)
    make_room(other_school, s.plan, second, s.subject, "二号楼", 3)
    register_many(s.plan, s.site, 2)
    login_as(client, make_user("org"))
    body = client.get(f"/scheduling/?plan_id={s.plan.id}").get_data(as_text=True)
    assert s.site.name in body and second.name in body
    login_as(client, s.school_user)
    body = client.get(f"/scheduling/?plan_id={s.plan.id}").get_data(as_text=True)
    assert s.site.name in body and second.name not in body
    assert client.get(f"/scheduling/plans/{s.plan.id}/sites/{second.id}").status_code == 404


def test_a_disabled_site_offers_no_scheduling_but_says_why_and_where_its_registrations_are(client):
    from examadmin.sites import services as site_services

    s = make_setup(rooms=(6,))
    register_many(s.plan, s.site, 2)
    site_services.disable_site(make_user("org"), s.site.id, "网络改造")
    db.session.commit()
    login_as(client, s.school_user)
    page = client.get(f"/scheduling/?plan_id={s.plan.id}").get_data(as_text=True)
    row = page.split('data-testid="site-row"', 1)[1].split("</tr>", 1)[0]
    assert 'data-testid="schedule-site-disabled"' in row and 'data-testid="run-schedule"' not in row
    assert f"/registrations/?plan_id={s.plan.id}&amp;site_disabled=1" in row
