"""Pilot applications: the workflow, every rule of DOMAIN.md §1 and the bad inputs."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from examadmin.catalog import services as catalog
from examadmin.catalog.models import Level
from examadmin.core import clock
from examadmin.core.auth import SYSTEM
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.pilots import quota, services
from examadmin.pilots.models import ApplicationPlan
from examadmin.pilots.services import LineInput
from examadmin.pilots.states import ApplicationState as S, PlanStatus
from tests.conftest import login_as, make_city, make_school, make_user
from tests.pilots.conftest import apply, level, major, make_plan


def test_plan_status_follows_the_clock(monkeypatch):
    plan = make_plan()
    assert plan.status() == PlanStatus.OPEN
    assert plan.status(plan.window_start - timedelta(minutes=1)) == PlanStatus.NOT_STARTED
    assert plan.status(plan.window_end + timedelta(minutes=1)) == PlanStatus.ENDED


def test_plan_window_must_close_after_it_opens():
    actor = make_user("province")
    now = clock.now()
    with pytest.raises(DomainError, match="结束时间必须晚于开始时间"):
        services.save_plan(actor, {"year": 2026, "batch": "第一批", "window_start": now, "window_end": now,
                                   "all_levels": True})


def test_full_workflow_with_city_review_and_a_return():
    city = make_city("50")
    school = make_school("50", city=city)
    school_user = make_user("school", school=school)
    city_user, province_user = make_user("city", city=city), make_user("province", province_code="50")
    plan = make_plan(city_review=True)
    app = apply(school_user, plan)
    assert app.state == S.DRAFT
    services.submit_application(school_user, app.id)
    assert app.state == S.CITY_REVIEW
    services.pass_to_province(city_user, app.id)
    assert app.state == S.PROVINCE_REVIEW
    with pytest.raises(DomainError, match="退回原因"):
        services.return_application(province_user, app.id, "  ")
    services.return_application(province_user, app.id, "请核对在校学生数")
    assert app.state == S.RETURNED and app.return_reason == "请核对在校学生数"
    edited = services.save_application(school_user, application_id=app.id, lines=[LineInput(major().id, 80, 5, 50, 1)],
                                       explanation="已核对", submit=True)
    assert edited.id == app.id and app.state == S.PROVINCE_REVIEW  # the province returned it: back to it
    services.approve_application(province_user, app.id, {app.lines[0].id: 45})
    assert app.state == S.APPROVED and app.quota == 45
    actions = [e.action for e in services.audit.history(app)]
    assert actions[:3] == ["application.create", "application.submit", "application.pass"]
    assert "application.return" in actions and actions[-2:] == ["application.approve", "application.quota"]


def test_without_city_review_the_province_reviews_first():
    school_user = make_user("school")
    app = apply(school_user, make_plan(), submit=True)
    assert app.state == S.PROVINCE_REVIEW


def test_a_city_return_goes_back_through_the_city():
    city = make_city("50")
    school_user = make_user("school", school=make_school("50", city=city))
    app = apply(school_user, make_plan(city_review=True), submit=True)
    services.return_application(make_user("city", city=city), app.id, "缺少说明")
    services.submit_application(school_user, app.id)
    assert app.state == S.CITY_REVIEW


def test_one_application_per_school_year_and_level_points_to_the_existing_one():
    school_user = make_user("school")
    plan = make_plan()
    first = apply(school_user, plan)
    with pytest.raises(DomainError, match=f"编号 {first.id}"):
        apply(school_user, plan)
    assert apply(school_user, plan, lvl=level(Level.MIDDLE)).id != first.id  # another level is another one


def test_the_level_never_changes():
    school_user = make_user("school")
    app = apply(school_user, make_plan())
    with pytest.raises(DomainError, match="申报等级创建后不能修改"):
        services.save_application(school_user, application_id=app.id, certificate_level_id=level(Level.SENIOR).id,
                                  lines=[LineInput(major().id, 100, 5, 50, 1)])


def test_nothing_is_submitted_outside_the_window(monkeypatch):
    school_user = make_user("school")
    plan = make_plan()
    app = apply(school_user, plan)
    later = plan.window_end + timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(DomainError, match="不在申报时间内：本批次申报时间为 .* 至 .*已结束"):
        services.submit_application(school_user, app.id)
    assert app.state == S.DRAFT


def test_a_disabled_certificate_cannot_be_applied_for():
    school_user = make_user("school")
    plan = make_plan()
    catalog.set_certificate_enabled(SYSTEM, level().certificate_id, False)
    with pytest.raises(DomainError, match="已停用"):
        apply(school_user, plan)


def test_an_approved_application_changes_only_after_the_province_returns_it():
    school_user, province_user = make_user("school"), make_user("province", province_code="50")
    app = apply(school_user, make_plan(), submit=True)
    services.approve_application(province_user, app.id, {app.lines[0].id: 50})
    with pytest.raises(DomainError, match="需由省级教育行政部门退回后再修改"):
        services.save_application(school_user, application_id=app.id, lines=[LineInput(major().id, 100, 5, 60, 1)])
    services.return_application(province_user, app.id, "调整人数")
    services.save_application(school_user, application_id=app.id, lines=[LineInput(major().id, 100, 5, 60, 1)])
    assert app.lines[0].requested == 60


def _approved_with_used(used: int, approved: int = 3):
    school_user, province_user = make_user("school"), make_user("province", province_code="50")
    lines = [LineInput(major().id, 100, 5, 50, 1), LineInput(major("护理").id, 100, 5, 10, 2)]
    app = apply(school_user, make_plan(), lines=lines, submit=True)
    services.approve_application(province_user, app.id, {app.lines[0].id: approved, app.lines[1].id: 5})
    for _ in range(used):
        quota.take_place(app.school_id, app.year, app.certificate_level_id, major().id)
    db.session.flush()
    db.session.refresh(app.lines[0])
    return app, school_user, province_user


def test_approved_count_never_goes_below_places_used():
    app, school_user, province_user = _approved_with_used(2)
    services.return_application(province_user, app.id, "重新核定")
    services.submit_application(school_user, app.id)
    assert app.state == S.PROVINCE_REVIEW
    with pytest.raises(DomainError, match="已使用 2 个指标，批准人数不能少于已使用数"):
        services.approve_application(province_user, app.id, {app.lines[0].id: 1, app.lines[1].id: 5})


def test_a_line_with_used_places_cannot_be_removed():
    app, school_user, province_user = _approved_with_used(1)
    services.return_application(province_user, app.id, "调整专业")
    with pytest.raises(DomainError, match="已使用 1 个指标，不能删除"):
        services.save_application(school_user, application_id=app.id, lines=[LineInput(major("护理").id, 100, 5, 10, 1)])
    assert len(app.lines) == 2


def test_approved_count_not_above_requested():
    school_user, province_user = make_user("school"), make_user("province", province_code="50")
    app = apply(school_user, make_plan(), submit=True)
    with pytest.raises(DomainError, match="不能超过申请人数"):
        services.approve_application(province_user, app.id, {app.lines[0].id: 51})
    assert app.state == S.PROVINCE_REVIEW


@pytest.mark.parametrize("students,teachers,requested,message", [
    (-1, 5, 1, "在校学生数不能小于 0"),
    ("12.5", 5, 1, "在校学生数应为整数"),
    (100, "abc", 1, "专任教师数应为整数"),
    (100, 5, 0, "申请培训人数不能小于 1"),
    (100, 5, 101, "申请培训人数（101）不能超过在校学生数（100）"),
    (10_000_000, 5, 1, "过大"),
    (100, 5, "", "请填写申请培训人数"),
])
def test_bad_counts_are_refused_with_the_row(students, teachers, requested, message):
    with pytest.raises(DomainError, match=message):
        apply(make_user("school"), make_plan(), lines=[LineInput(major().id, students, teachers, requested, 1)])


def test_a_major_of_another_school_type_is_refused():
    undergrad_major = major("应用心理学", school_type="本科院校")
    with pytest.raises(DomainError, match="与本校类型（高职专科院校）不符"):
        apply(make_user("school"), make_plan(), lines=[LineInput(undergrad_major.id, 100, 5, 10, 1)])


def test_a_major_twice_is_refused_with_both_rows():
    lines = [LineInput(major().id, 100, 5, 10, 1), LineInput(major().id, 100, 5, 10, 2)]
    with pytest.raises(DomainError, match="第 2 行.*与第 1 行重复"):
        apply(make_user("school"), make_plan(), lines=lines)


def test_a_plan_without_majors_takes_one_school_wide_line():
    plan = make_plan(requires_majors=False)
    app = apply(make_user("school"), plan, lines=[LineInput(None, 500, 20, 100, 1)])
    assert app.lines[0].major_label == "不分专业"


def test_quota_take_and_give_back():
    app, _, _ = _approved_with_used(0, approved=1)
    line = quota.take_place(app.school_id, app.year, app.certificate_level_id, major().id)
    assert (line.used, line.remaining) == (1, 0)
    with pytest.raises(DomainError, match="指标已用完"):
        quota.take_place(app.school_id, app.year, app.certificate_level_id, major().id)
    quota.give_back_place(line.id)
    db.session.refresh(line)
    assert line.used == 0
    with pytest.raises(DomainError, match="没有已审核通过的试点申报指标"):
        quota.take_place(app.school_id, app.year, app.certificate_level_id, major("药学").id)


def test_school_sees_only_its_own_applications_and_plans_of_its_province(client):
    own, other = make_user("school"), make_user("school")
    plan = make_plan()
    sichuan = make_plan("51")
    mine, theirs = apply(own, plan), apply(other, plan)
    db.session.commit()
    login_as(client, own)
    assert client.get(f"/pilots/applications/{theirs.id}").status_code == 404
    assert client.get(f"/pilots/applications/{mine.id}").status_code == 200
    body = client.get("/pilots/plans").get_data(as_text=True)
    assert "立即申报" in body and "四川省" not in body and sichuan.id


def test_school_drafts_through_the_form_and_errors_keep_the_rows(client):
    school_user = make_user("school")
    plan = make_plan()
    login_as(client, school_user)
    bad = client.post(f"/pilots/applications/new?plan_id={plan.id}", data={
        "certificate_level_id": level().id, "explanation": "x", "rows": 2,
        "major_id-0": major().id, "students-0": "10", "teachers-0": "2", "requested-0": "20"})
    body = bad.get_data(as_text=True)
    assert "申请培训人数（20）不能超过在校学生数（10）" in body and 'value="20"' in body
    assert not db.session.scalars(services.list_applications(school_user)).all()
    good = client.post(f"/pilots/applications/new?plan_id={plan.id}", data={
        "certificate_level_id": level().id, "explanation": "x", "rows": 2,
        "major_id-0": major().id, "students-0": "100", "teachers-0": "2", "requested-0": "20"})
    assert good.status_code == 302
    app = db.session.scalars(services.list_applications(school_user)).one()
    assert app.state == S.DRAFT and app.lines[0].requested == 20


def test_ledger_page_and_export(client):
    app, school_user, _ = _approved_with_used(1)
    db.session.commit()
    login_as(client, school_user)
    body = client.get("/pilots/quota").get_data(as_text=True)
    assert "心理健康教育" in body
    export = client.get("/pilots/quota.xlsx")
    assert export.status_code == 200 and export.data[:2] == b"PK"
    login_as(client, make_user("city"))
    assert client.get("/pilots/quota").status_code == 403


def _plan_data(batch="第一批", year=2027):
    now = clock.now()
    return {"year": year, "batch": batch, "window_start": now, "window_end": now + timedelta(days=3),
            "requires_majors": True, "all_levels": True}


def test_a_province_cannot_publish_the_same_year_and_batch_twice():
    actor = make_user("province", province_code="50")
    first = services.save_plan(actor, _plan_data())
    for again in ("第一批", " 第一批 ", "第 一 批"):
        with pytest.raises(DomainError, match="本省 2027 年已有申报计划「2027年第一批」"):
            services.save_plan(actor, _plan_data(again))
    # another batch, another year, another province, or the plan itself saved again: all fine
    services.save_plan(actor, _plan_data("第二批"))
    services.save_plan(actor, _plan_data(year=2028))
    services.save_plan(make_user("province", province_code="51"), _plan_data())
    assert services.save_plan(actor, _plan_data(), first.id).id == first.id
    # renaming a plan onto another's batch is the same duplicate
    second = db.session.scalar(select(ApplicationPlan).where(ApplicationPlan.batch == "第二批"))
    with pytest.raises(DomainError, match="同一年度的批次不能重复"):
        services.save_plan(actor, _plan_data(), second.id)


@pytest.mark.parametrize("year", [1990, 2018, 2101, "2027"])
def test_a_year_outside_the_range_says_the_range(year):
    with pytest.raises(DomainError, match="申报年度应在 2019 至 2100 年之间"):
        services.save_plan(make_user("province", province_code="50"), _plan_data(year=year))


def test_the_plan_form_offers_levels_as_checkboxes_and_refuses_a_duplicate_batch(client):
    actor = make_user("province", province_code="50")
    services.save_plan(actor, _plan_data())
    login_as(client, actor)
    page = client.get("/pilots/plans/new").get_data(as_text=True)
    assert "<select multiple" not in page and 'type="checkbox" name="level_ids"' in page
    form = {"year": "2027", "batch": "第一批", "window_start": "2027-03-01T09:00", "window_end": "2027-03-20T17:00",
            "level_ids": [level().id]}
    body = client.post("/pilots/plans/new", data=form).get_data(as_text=True)
    assert "本省 2027 年已有申报计划「2027年第一批」" in body
    assert f'name="level_ids" value="{level().id}" id="level_ids-' in body and "checked" in body
    body = client.post("/pilots/plans/new", data=form | {"year": "1990"}).get_data(as_text=True)
    assert "申报年度应在 2019 至 2100 年之间" in body and "4 位年份" not in body
    response = client.post("/pilots/plans/new", data=form | {"batch": "第二批"})
    assert response.status_code == 302
    saved = db.session.scalar(select(ApplicationPlan).where(ApplicationPlan.batch == "第二批"))
    assert [lv.id for lv in saved.levels] == [level().id] and not saved.all_levels


def test_the_application_form_leaves_out_levels_already_applied_for_this_year(client):
    school_user = make_user("school")
    plan = make_plan()
    junior = apply(school_user, plan)
    login_as(client, school_user)
    page = client.get(f"/pilots/applications/new?plan_id={plan.id}").get_data(as_text=True)
    options = re.search(r'<select[^>]*name="certificate_level_id"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert f'value="{level().id}"' not in options and f'value="{level(Level.MIDDLE).id}"' in options
    assert 'data-testid="applied-levels"' in page and f"/pilots/applications/{junior.id}" in page
    # another school still sees every level
    login_as(client, make_user("school"))
    page = client.get(f"/pilots/applications/new?plan_id={plan.id}").get_data(as_text=True)
    assert f'value="{level().id}"' in page and 'data-testid="applied-levels"' not in page


def test_the_province_ledger_filters_by_school_and_level_too(client):
    province_user = make_user("province", province_code="50")
    plan = make_plan()
    made = {}
    for name, lvl in (("甲", Level.JUNIOR), ("乙", Level.MIDDLE)):
        school_user = make_user("school")
        app = apply(school_user, plan, lvl=level(lvl), submit=True)
        services.approve_application(province_user, app.id, {app.lines[0].id: 7})
        made[name] = app
    db.session.commit()
    login_as(client, province_user)

    def rows(query=""):
        return client.get(f"/pilots/quota{query}").get_data(as_text=True).count('<tr><td class="')

    page = client.get("/pilots/quota").get_data(as_text=True)
    assert 'data-testid="quota-school"' in page and 'data-testid="quota-level"' in page
    assert made["甲"].school.name in page and made["乙"].school.name in page and rows() == 2
    assert rows(f"?school_id={made['甲'].school_id}") == 1
    assert rows(f"?level_id={level(Level.MIDDLE).id}") == 1
    assert rows(f"?school_id={made['甲'].school_id}&level_id={level(Level.MIDDLE).id}") == 0
    assert rows("?school_id=abc&level_id=99999999999999999999") == 2  # unreadable: ignored
    export = client.get(f"/pilots/quota.xlsx?level_id={level(Level.MIDDLE).id}")
    sheet = load_workbook(io.BytesIO(export.data)).active
    assert sheet.max_row == 2 and sheet.cell(2, 3).value == made["乙"].school.name
    # a school's ledger is its own: no 院校 filter
    login_as(client, make_user("school", school=made["甲"].school))
    page = client.get("/pilots/quota").get_data(as_text=True)
    assert 'data-testid="quota-school"' not in page and 'data-testid="quota-level"' in page
