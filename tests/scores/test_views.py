"""The score pages: the grid per room, import as a job, display and publish, objections, who sees what."""
from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from examadmin.core import clock
from examadmin.core.forms import CSRF_MESSAGE
from examadmin.extensions import db
from examadmin.scores import services
from examadmin.scores.models import Score, ScoreObjection, ScorePublication
from examadmin.scores.states import ObjectionState, PublicationStage
from tests.conftest import login_as, make_user
from tests.dashboard.test_todos import todos as dashboard_todos
from tests.scores.factories import hold_exam, make_scored_setup


def _grid_url(s, subject):
    room = s.seat(s.registrations[0], subject).room_id
    return f"/scores/plans/{s.plan.id}/entry?room_id={room}", room


def test_the_org_saves_a_grid_page_and_a_bad_row_keeps_what_was_typed(client):
    s = make_scored_setup(people=2, subjects=1)
    login_as(client, s.org)
    url, room = _grid_url(s, s.subjects[0])
    page = client.get(url)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    seats = [r.seat_id for r in services.entry_grid(s.org, s.plan.id, room)[2]]
    assert all(f'name="seat-{seat}"' in body for seat in seats)
    response = client.post(url, data={f"seat-{seats[0]}": "77.5", f"seat-{seats[1]}": "77.55"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "77.55" in body and "最多保留一位小数" in body and "已保存 1 项" in body
    assert db.session.scalar(select(Score.score).where(Score.registration_id == s.registrations[0].id)
                             .where(Score.subject_id == s.subjects[0].id)) in (Decimal("77.5"), None)
    stored = {r.seat_id: r.score for r in services.entry_grid(s.org, s.plan.id, room)[2]}
    assert sorted(v for v in stored.values() if v is not None) == [Decimal("77.5")]


@pytest.mark.parametrize("role", ["school", "province", "candidate", "sysadmin"])
def test_only_the_org_opens_the_grid_and_the_import(client, role):
    s = make_scored_setup(people=1, subjects=1)
    login_as(client, make_user(role))
    url, _ = _grid_url(s, s.subjects[0])
    assert client.get(url).status_code == 403
    assert client.get(f"/scores/plans/{s.plan.id}/import").status_code == 403
    assert client.get(f"/scores/plans/{s.plan.id}/template.xlsx").status_code == 403
    assert client.post(f"/scores/plans/{s.plan.id}/display", data={"display_days": "5"},
                       follow_redirects=True).status_code == 403


def test_import_runs_as_a_job_and_shows_row_errors(client):
    s = make_scored_setup(people=1, subjects=1)
    login_as(client, s.org)
    wb = Workbook()
    ws = wb.active
    ws.append(["准考证号", "科目", "成绩", "缺考", "违纪"])
    ws.append(["XX", s.subjects[0].name, 50, "", ""])
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    response = client.post(f"/scores/plans/{s.plan.id}/import",
                           data={"file": (buffer, "成绩.xlsx")}, content_type="multipart/form-data",
                           follow_redirects=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "未导入任何数据" in body and "不属于本考试计划" in body


def test_a_file_that_is_not_a_sheet_ends_the_import_not_imported_with_the_reason(client):
    """未导入 with the reason, not 失败 (the sysadmin's to-do is for the system's faults)."""
    from examadmin.core.jobs import Job, JobState

    s = make_scored_setup(people=1, subjects=1)
    login_as(client, s.org)
    response = client.post(f"/scores/plans/{s.plan.id}/import",
                           data={"file": (io.BytesIO(b"PK\x03\x04 not really"), "成绩.xlsx")},
                           content_type="multipart/form-data", follow_redirects=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "未导入：「成绩.xlsx」" in body
    job = db.session.scalar(select(Job).where(Job.kind == "score_import"))
    assert job.state == JobState.DONE and job.outcome == "未导入" and job.error is None

def test_display_publish_and_objection_through_the_pages(client):
    s = make_scored_setup(people=1, subjects=1)
    url, room = _grid_url(s, s.subjects[0])
    seat = services.entry_grid(s.org, s.plan.id, room)[2][0].seat_id
    services.save_grid(s.org, s.plan.id, room, {seat: {"score": "59"}})
    school = make_user("school", school=s.school_user.school)
    login_as(client, school)
    assert client.get(f"/scores/plans/{s.plan.id}/scores").get_data(as_text=True).count('data-testid="score-row"') == 0

    login_as(client, s.org)
    page = client.post(f"/scores/plans/{s.plan.id}/display", data={"display_days": "x"}, follow_redirects=True)
    assert "公示天数须为整数" in page.get_data(as_text=True)
    page = client.post(f"/scores/plans/{s.plan.id}/display", data={"display_days": "2"}, follow_redirects=True)
    assert "已开始成绩公示" in page.get_data(as_text=True)

    login_as(client, school)
    listing = client.get(f"/scores/plans/{s.plan.id}/scores").get_data(as_text=True)
    assert listing.count('data-testid="score-row"') == 1 and "不合格" in listing
    score = db.session.scalar(select(Score))
    page = client.post(f"/scores/scores/{score.id}", data={"reason": "主观题漏评"}, follow_redirects=True)
    assert "异议已提交" in page.get_data(as_text=True)
    objection = db.session.scalar(select(ScoreObjection))
    assert client.post(f"/scores/objections/{objection.id}/answer", data={"answer": "x"}).status_code == 403

    login_as(client, s.org)
    page = client.post(f"/scores/objections/{objection.id}/answer",
                       data={"answer": "复核后加 2 分", "change": "y", "score": "61"}, follow_redirects=True)
    assert "成绩已更正" in page.get_data(as_text=True)
    db.session.refresh(score)
    db.session.refresh(objection)
    assert score.score == Decimal("61.0") and objection.state == ObjectionState.ANSWERED
    history = client.get(f"/scores/scores/{score.id}").get_data(as_text=True)
    assert "复核后加 2 分" in history and "59" in history
    page = client.post(f"/scores/plans/{s.plan.id}/publish", follow_redirects=True)
    assert "公示期内不能发布" in page.get_data(as_text=True)
    with mock.patch("examadmin.core.clock.now", return_value=clock.now() + timedelta(days=3)):
        page = client.post(f"/scores/plans/{s.plan.id}/publish", follow_redirects=True)
    assert "成绩已发布" in page.get_data(as_text=True)
    assert db.session.scalar(select(ScorePublication.stage)) == PublicationStage.FINAL


def test_a_candidate_sees_only_their_own_scores_from_display_on(client):
    s = make_scored_setup(people=2, subjects=1)
    _, room = _grid_url(s, s.subjects[0])
    grid = services.entry_grid(s.org, s.plan.id, room)[2]
    services.save_grid(s.org, s.plan.id, room, {r.seat_id: {"score": "80"} for r in grid})
    candidate_user = make_user("candidate", school=s.school_user.school)
    candidate_user.candidate_id = s.registrations[0].candidate_id
    login_as(client, candidate_user)
    assert client.get(f"/scores/plans/{s.plan.id}/scores").get_data(as_text=True).count('data-testid="score-row"') == 0
    services.open_display(s.org, s.plan.id, 3)
    login_as(client, candidate_user)
    body = client.get(f"/scores/plans/{s.plan.id}/scores").get_data(as_text=True)
    assert body.count('data-testid="score-row"') == 1
    assert s.registrations[0].candidate.name in body and s.registrations[1].candidate.name not in body
    assert client.get("/scores/").status_code == 200
    # no link that answers 403: statistics are for staff; the menu has 我的成绩, not 成绩与结果
    plan_page = client.get(f"/scores/?plan_id={s.plan.id}").get_data(as_text=True)
    assert "成绩统计" not in plan_page and "/scores/stats" not in plan_page
    menu = plan_page.split("<main", 1)[0]
    assert "我的成绩</a>" in menu and "成绩与结果</a>" not in menu
    login_as(client, s.org)
    org_page = client.get(f"/scores/?plan_id={s.plan.id}").get_data(as_text=True)
    assert "成绩统计" in org_page and "成绩与结果</a>" in org_page.split("<main", 1)[0]


def test_an_overflowing_or_foreign_id_is_a_404(client):
    s = make_scored_setup(people=1, subjects=1)
    login_as(client, s.org)
    assert client.get(f"/scores/plans/{s.plan.id}/entry?room_id=99999999999999999999").status_code in (200, 404)
    assert client.get(f"/scores/scores/{2 ** 64}").status_code == 404
    assert client.get("/scores/plans/999999/scores").status_code == 404


@pytest.mark.parametrize("role, status", [("org", 200), ("sysadmin", 200), ("province", 200), ("city", 200),
                                          ("school", 200), ("candidate", 200), ("proctor", 403)])
def test_the_scores_page_by_role(client, role, status):
    s = make_scored_setup(people=1, subjects=1)
    login_as(client, make_user(role) if role != "proctor" else _proctor_user())
    response = client.get(f"/scores/?plan_id={s.plan.id}")
    assert response.status_code == status
    if role == "org":
        body = response.get_data(as_text=True)
        assert 'data-testid="entry-link"' in body and 'data-testid="display-form"' in body
    if role == "school":
        assert 'data-testid="entry-link"' not in response.get_data(as_text=True)


def _proctor_user():
    from examadmin.core import auth
    from examadmin.core.auth import SYSTEM
    from tests.conftest import PASSWORD, make_school

    return auth.create_user(SYSTEM, username="scores_proctor", name="监考", role="proctor", password=PASSWORD,
                            must_change_password=False, school_id=make_school().id)


def test_a_save_refused_for_want_of_a_reason_keeps_every_typed_value(client):
    s = make_scored_setup(people=1, subjects=1)
    url, room = _grid_url(s, s.subjects[0])
    seat = services.entry_grid(s.org, s.plan.id, room)[2][0].seat_id
    services.save_grid(s.org, s.plan.id, room, {seat: {"score": "50"}})
    services.open_display(s.org, s.plan.id, 5)
    login_as(client, s.org)
    body = client.post(url, data={f"seat-{seat}": "66.5", "reason": ""}).get_data(as_text=True)
    assert "必须填写修改原因" in body and 'value="66.5"' in body
    assert db.session.scalar(select(Score.score)) == Decimal("50.0")


def _second_site(s):
    """Another school's site with a seated room in the same plan, and an unseated room."""
    from examadmin.catalog.models import Level
    from examadmin.scheduling.services import seats
    from tests.exams.factories import make_room
    from tests.scheduling.factories import register_many
    from tests.sites.factories import make_site, make_user as make_school_user
    school = make_school_user("school")
    site = make_site(school, Level.JUNIOR)
    room = make_room(school, s.plan, site, s.subjects[0], "二号楼机房", 6)
    for subject in s.subjects[1:]:
        make_room(school, s.plan, site, subject, f"二号楼乙{subject.id}", 6)
    register_many(s.plan, site, 1)
    seats.schedule(school, s.plan.id, site.id, seed=7)
    other = make_school_user("school")
    empty_site = make_site(other, Level.JUNIOR)
    make_room(other, s.plan, empty_site, s.subjects[0], "空机房", 6)
    db.session.flush()
    return site, room, empty_site


def test_a_plan_with_few_rooms_lists_them_all_at_once(client):
    s = make_scored_setup(people=1, subjects=2)
    site, room, _ = _second_site(s)
    login_as(client, s.org)
    body = client.get(f"/scores/plans/{s.plan.id}/entry").get_data(as_text=True)
    assert 'data-testid="site-select"' not in body
    assert "机房1" in body and "机房2" in body and "二号楼机房" in body and "空机房" not in body


def test_a_large_plan_chooses_the_site_first_then_its_rooms(client, monkeypatch):
    monkeypatch.setattr(services, "ENTRY_DIRECT_ROOMS", 1)
    s = make_scored_setup(people=1, subjects=2)
    site, room, empty_site = _second_site(s)
    login_as(client, s.org)
    body = client.get(f"/scores/plans/{s.plan.id}/entry").get_data(as_text=True)
    # the sites holding seated rooms, not the one with only an empty room; the first site's rooms and grid
    assert 'data-testid="site-select"' in body
    assert f'<option value="{s.site.id}" selected>' in body and f'<option value="{site.id}"' in body
    # (within the site list: a room's option may carry the same number as the empty site's id)
    site_select = body.split('data-testid="site-select"', 1)[1].split("</select>", 1)[0]
    assert f'value="{empty_site.id}"' not in site_select
    assert "机房1" in body and "机房2" in body and "二号楼机房" not in body
    assert 'data-testid="score-grid"' in body and s.ticket(s.registrations[0]) in body
    # choosing the other site opens its first room
    body = client.get(f"/scores/plans/{s.plan.id}/entry?site_id={site.id}").get_data(as_text=True)
    assert f'<option value="{site.id}" selected>' in body
    assert "二号楼机房" in body and "机房1" not in body
    assert f'<option value="{room.id}" selected>' in body
    assert s.ticket(s.registrations[0]) not in body
    # a room alone (as after saving) shows its own site; a site of another plan or garbage falls back to the first
    body = client.get(f"/scores/plans/{s.plan.id}/entry?room_id={room.id}").get_data(as_text=True)
    assert f'<option value="{site.id}" selected>' in body and "机房1" not in body
    for bad in (str(empty_site.id), "abc", "99999999999999999999"):
        response = client.get(f"/scores/plans/{s.plan.id}/entry?site_id={bad}")
        assert response.status_code == 200
        assert f'<option value="{s.site.id}" selected>' in response.get_data(as_text=True)


def test_a_display_form_that_does_not_validate_says_why(client):
    s = make_scored_setup(people=1, subjects=1)
    login_as(client, s.org)
    page = client.post(f"/scores/plans/{s.plan.id}/display", data={"display_days": "123456"}, follow_redirects=True)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "公示天数：" in body and 'alert-danger' in body
    assert services.stage_of(s.plan.id) == PublicationStage.ENTERING


def test_a_publish_form_that_does_not_validate_says_why(app, client):
    s = make_scored_setup(people=1, subjects=1)
    login_as(client, s.org)
    # the form's own token check (the app-wide check would answer first): an expired page
    app.config.update(WTF_CSRF_ENABLED=True, WTF_CSRF_CHECK_DEFAULT=False)
    try:
        page = client.post(f"/scores/plans/{s.plan.id}/publish", data={}, follow_redirects=True)
    finally:
        app.config.update(WTF_CSRF_ENABLED=False, WTF_CSRF_CHECK_DEFAULT=True)
    assert page.status_code == 200 and CSRF_MESSAGE in page.get_data(as_text=True)
    assert services.stage_of(s.plan.id) == PublicationStage.ENTERING


def test_the_org_has_a_to_do_for_each_plan_with_objections_waiting(client):
    s = make_scored_setup(people=2, subjects=1)
    _, room = _grid_url(s, s.subjects[0])
    grid = services.entry_grid(s.org, s.plan.id, room)[2]
    services.save_grid(s.org, s.plan.id, room, {r.seat_id: {"score": "58"} for r in grid})
    services.open_display(s.org, s.plan.id, 3)
    first, second = db.session.scalars(select(Score).order_by(Score.id)).all()
    objection = services.raise_objection(s.school_user, first.id, "主观题漏评")
    services.raise_objection(s.school_user, second.id, "请复核")
    label = f"待答复的成绩异议（{s.plan.name}）"
    count, link = dashboard_todos(client, s.org)[label]
    assert count == 2 and link == f"/scores/plans/{s.plan.id}/objections?state=待答复"
    listing = client.get(link).get_data(as_text=True)
    assert "主观题漏评" in listing and "请复核" in listing
    assert label not in dashboard_todos(client, s.school_user)
    assert label not in dashboard_todos(client, make_user("province"))
    services.answer_objection(s.org, objection.id, "复核无误")
    assert dashboard_todos(client, s.org)[label][0] == 1


def test_the_grid_of_an_exam_not_over_says_so_and_refuses_the_rows(client):
    s = make_scored_setup(people=1, subjects=1, held=False)
    login_as(client, s.org)
    url, room = _grid_url(s, s.subjects[0])
    session = s.plan.sessions[0]
    page = client.get(url).get_data(as_text=True)
    assert 'data-testid="exam-not-over"' in page and f"{session.date:%Y-%m-%d} 09:00-11:00" in page
    seat = services.entry_grid(s.org, s.plan.id, room)[2][0].seat_id
    body = client.post(url, data={f"seat-{seat}": "66"}).get_data(as_text=True)
    assert "尚未结束，不能登记成绩" in body and 'value="66"' in body
    assert db.session.scalar(select(Score.id)) is None
    hold_exam(s.plan)
    assert 'data-testid="exam-not-over"' not in client.get(url).get_data(as_text=True)


def _tag(page: str, pattern: str) -> str:
    """The whole opening tag that contains `pattern` (one input or button of the page)."""
    import re

    found = re.search(r"<(?:input|button)[^>]*" + re.escape(pattern) + r"[^>]*>", page)
    assert found, pattern
    return found.group(0)


def test_the_grid_of_an_exam_not_over_disables_its_inputs_and_the_save_button(client):
    s = make_scored_setup(people=1, subjects=1, held=False)
    login_as(client, s.org)
    url, room = _grid_url(s, s.subjects[0])
    seat = services.entry_grid(s.org, s.plan.id, room)[2][0].seat_id
    page = client.get(url).get_data(as_text=True)
    assert "disabled" in _tag(page, f'name="seat-{seat}"')
    assert "data-grid-score" not in _tag(page, f'name="seat-{seat}"')  # out of the Enter order
    assert "disabled" in _tag(page, f'name="absent-{seat}"') and "disabled" in _tag(page, f'name="violation-{seat}"')
    assert "disabled" in _tag(page, 'data-testid="save-grid"')
    assert "本页的成绩输入框和“保存本页”已停用" in page
    hold_exam(s.plan)
    page = client.get(url).get_data(as_text=True)
    assert "disabled" not in _tag(page, f'name="seat-{seat}"') and "disabled" not in _tag(page, 'data-testid="save-grid"')
    assert "已停用" not in page


def test_the_plan_pages_say_the_exam_is_not_over_before_any_session_ended(client):
    s = make_scored_setup(people=1, subjects=2, held=False)
    login_as(client, s.org)
    first = min(s.plan.sessions, key=lambda x: (x.date, x.end_time))
    scores_page = client.get(f"/scores/plans/{s.plan.id}/scores").get_data(as_text=True)
    assert f"当前阶段：考试尚未结束（{first.date:%Y-%m-%d} {first.end_time:%H:%M} 首场考试结束后才能登记成绩）" in scores_page
    assert "当前阶段：成绩登记中" not in scores_page
    index = client.get(f"/scores/?plan_id={s.plan.id}").get_data(as_text=True)
    assert 'data-testid="exam-not-ended"' in index
    assert 'data-testid="stage">待考试<' in index and ">成绩登记中<" not in index  # no entry before the exam
    assert 'data-testid="open-display" disabled' in index  # 开始公示 is not offered before the exam
    hold_exam(s.plan)
    assert "当前阶段：成绩登记中" in client.get(f"/scores/plans/{s.plan.id}/scores").get_data(as_text=True)
    after = client.get(f"/scores/?plan_id={s.plan.id}").get_data(as_text=True)
    assert 'data-testid="exam-not-ended"' not in after
    # the exam is over: 开始公示 now waits only for the two scores (its own reason, tested in test_buttons)
    assert "尚未结束" not in after and "还有 2 项科目成绩未登记" in after


def test_the_score_list_search_is_posted_and_finds_an_id_number(client):
    s = make_scored_setup(people=2, subjects=1)
    first, second = (r.candidate for r in s.registrations)
    for registration in s.registrations:
        seat = s.seat(registration, s.subjects[0])
        services.save_grid(s.org, s.plan.id, seat.room_id, {seat.id: {"score": "70"}})
    db.session.commit()
    login_as(client, s.org)
    # the plan comes from the address: a form without it, or naming another plan, changes nothing
    posted = client.post(f"/scores/plans/{s.plan.id}/scores", data={"q": first.id_number, "plan_id": 99999})
    assert f"/scores/plans/{s.plan.id}/scores" in posted.headers["Location"]
    assert posted.status_code == 302 and first.id_number not in posted.headers["Location"]
    table = client.get(posted.headers["Location"]).get_data(as_text=True).split('data-testid="score-list"', 1)[1]
    assert first.name in table and second.name not in table
