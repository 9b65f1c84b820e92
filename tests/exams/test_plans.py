"""Subjects, exam plans, fees and sessions."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from examadmin.catalog import services as catalog
from examadmin.catalog.models import Level
from examadmin.core import audit
from examadmin.core.auth import SYSTEM
from examadmin.core.errors import DomainError
from examadmin.core.permissions import ForbiddenAction, NotInScope
from examadmin.exams.models import ExamPlan, ExamSession, RoomType, Subject
from examadmin.exams.services import plans
from examadmin.exams.states import PlanState
from examadmin.extensions import db
from tests.conftest import login_as
from tests.exams.factories import EXAM_DAY, make_plan, make_room, make_subject, plan_data
from tests.sites.factories import level_of, make_site, make_user


# ---- subjects ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode,room_type", [("机考", RoomType.COMPUTER_ROOM), ("笔试", RoomType.CLASSROOM),
                                            ("实操", RoomType.TRAINING_ROOM)])
def test_the_room_type_follows_from_the_exam_mode(mode, room_type):
    assert make_subject(mode=mode).room_type == room_type


@pytest.mark.parametrize("overrides,field,message", [
    ({"pass_mark": 101}, "pass_mark", r"及格分（101）不能高于满分（100）"),
    ({"full_mark": 0}, "full_mark", "满分应在 1 到 1000 之间"),
    ({"pass_mark": "六十"}, "pass_mark", "请填写及格分"),
    ({"mode": "口试"}, "mode", "请选择考试方式"),
    ({"name": ""}, "name", "请填写科目名称"),
    ({"certificate_level_id": None}, "certificate_level_id", "请选择证书与等级"),
])
def test_subject_bad_input(overrides, field, message):
    data = {"certificate_level_id": level_of().id, "name": "理论", "mode": "机考", "full_mark": 100,
            "pass_mark": 60, **overrides}
    with pytest.raises(DomainError, match=message) as exc:
        plans.save_subject(make_user("org"), data)
    assert exc.value.field == field


def test_subject_names_are_unique_per_level():
    make_subject(name="理论知识")
    with pytest.raises(DomainError, match="已有科目「理论知识」"):
        make_subject(name="理论知识")
    assert make_subject(Level.MIDDLE, name="理论知识").level == Level.MIDDLE


def test_a_subject_in_use_is_not_deleted_but_an_unused_one_is():
    used, unused = make_subject(), make_subject()
    make_plan([(used, "09:00", "11:00")], publish=False)
    org = make_user("org")
    with pytest.raises(DomainError, match="已用于考试计划"):
        plans.delete_subject(org, used.id)
    plans.delete_subject(org, unused.id)
    assert db.session.get(Subject, unused.id) is None


def test_only_the_org_manages_subjects():
    with pytest.raises(ForbiddenAction):
        plans.save_subject(make_user("school"), {})


# ---- plan windows -----------------------------------------------------------------------

@pytest.mark.parametrize("overrides,field,message", [
    ({"registration_end": "2030-05-01 09:00"}, "registration_end", "报考截止时间须晚于报考开始时间"),
    ({"registration_end": "2030-04-30 09:00"}, "registration_end", "报考截止时间须晚于报考开始时间"),
    ({"payment_deadline": "2030-05-20 16:59"}, "payment_deadline", "缴费截止时间不能早于报考截止时间"),
    ({"ticket_start": "2030-05-30 09:00"}, "ticket_start", "准考证下载开始时间不能早于缴费截止时间"),
    ({"ticket_end": "2030-06-13 08:00"}, "ticket_end", "准考证下载截止时间须晚于下载开始时间"),
    ({"registration_start": "2030/05/01"}, "registration_start", "请填写报考开始时间"),
    ({"name": ""}, "name", "请填写计划名称"),
    ({"certificate_id": None}, "certificate_id", "请选择证书"),
    ({"fee_junior": "-1"}, "fee_junior", "初级报考费用应为 0 到 100000 元"),
    ({"fee_middle": "12.345"}, "fee_middle", "最多两位小数"),
    ({"fee_senior": "一百"}, "fee_senior", "高级报考费用应为金额"),
])
def test_plan_bad_input_names_the_field(overrides, field, message):
    with pytest.raises(DomainError, match=message) as exc:
        plans.save_plan(make_user("org"), plan_data(**overrides))
    assert exc.value.field == field
    assert db.session.scalar(select(func.count(ExamPlan.id))) == 0


def test_a_plan_keeps_its_windows_and_fees():
    plan = plans.save_plan(make_user("org"), plan_data(fee_senior="", fee_middle="400.5"))
    assert plan.state == PlanState.DRAFT
    assert plan.registration_end == datetime(2030, 5, 20, 17, 0)
    assert str(plan.fee_for(Level.MIDDLE)) == "400.50" and plan.fee_for(Level.SENIOR) is None
    plans.save_plan(make_user("org"), plan_data(name=plan.name, fee_junior="", fee_senior="9"), plan.id)
    assert plan.fee_for(Level.JUNIOR) is None and str(plan.fee_for(Level.SENIOR)) == "9.00"
    assert audit.history(plan)[-1].before["fees"]["中级"] == "400.50"


def test_plan_names_are_unique():
    plan = make_plan(publish=False)
    with pytest.raises(DomainError, match="已有名为"):
        plans.save_plan(make_user("org"), plan_data(name=plan.name))


def test_windows_cannot_move_past_the_sessions():
    subject = make_subject()
    plan = make_plan([(subject, "09:00", "11:00")], publish=False)
    with pytest.raises(DomainError, match="须晚于缴费截止时间") as exc:
        plans.save_plan(make_user("org"), plan_data(name=plan.name, payment_deadline="2030-06-20 10:00",
                                                    ticket_start="2030-06-20 10:00",
                                                    ticket_end="2030-06-21 10:00"), plan.id)
    assert exc.value.field == "payment_deadline"
    with pytest.raises(DomainError, match="不能早于准考证下载开始时间") as exc:
        plans.save_plan(make_user("org"), plan_data(name=plan.name, ticket_start="2030-06-20 10:00",
                                                    ticket_end="2030-06-21 10:00"), plan.id)
    assert exc.value.field == "ticket_start"


def test_the_certificate_stays_once_there_are_sessions():
    other = catalog.save_certificate(SYSTEM, {"code": "T-9", "name": "其他证书", "org_name": "某组织"})
    plan = make_plan([(make_subject(), "09:00", "11:00")], publish=False)
    with pytest.raises(DomainError, match="不能更换证书"):
        plans.save_plan(make_user("org"), plan_data(name=plan.name, certificate_id=other.id), plan.id)


# ---- sessions ---------------------------------------------------------------------------

def _session(plan, subject, start="09:00", end="11:00", day=EXAM_DAY, **extra):
    return plans.add_session(make_user("org"), plan.id, {"date": day, "start_time": start, "end_time": end,
                                                         "subject_id": subject.id, **extra})


@pytest.mark.parametrize("start,end", [("11:00", "09:00"), ("09:00", "09:00")])
def test_a_session_ends_after_it_starts(start, end):
    plan = make_plan(publish=False)
    with pytest.raises(DomainError, match="结束时间须晚于开始时间") as exc:
        _session(plan, make_subject(), start, end)
    assert exc.value.field == "end_time" and plan.sessions == []


def test_session_bad_times_are_named():
    plan, subject = make_plan(publish=False), make_subject()
    with pytest.raises(DomainError, match="请填写开始时间"):
        _session(plan, subject, start="9点")
    with pytest.raises(DomainError, match="请填写考试日期"):
        _session(plan, subject, day="6月20日")


def test_a_session_comes_after_payment_and_ticket_download_opens():
    plan, subject = make_plan(publish=False), make_subject()
    with pytest.raises(DomainError, match="须晚于缴费截止时间"):
        _session(plan, subject, day=date(2030, 5, 31), start="09:00", end="11:00")
    with pytest.raises(DomainError, match="不能早于准考证下载开始时间"):
        _session(plan, subject, day=date(2030, 6, 12))


def test_the_subject_must_belong_to_the_plan_and_the_chosen_level():
    plan = make_plan(publish=False)
    junior = make_subject(Level.JUNIOR)
    with pytest.raises(DomainError, match="是初级科目，与所选等级中级不符"):
        _session(plan, junior, level="中级")
    other = catalog.save_certificate(SYSTEM, {"code": "T-8", "name": "另一个证书", "org_name": "某组织"})
    catalog.add_level(SYSTEM, other.id, "初级")
    foreign = make_subject(certificate=other)
    with pytest.raises(DomainError, match="不属于社会心理服务职业技能等级证书"):
        _session(plan, foreign)


def test_sessions_of_one_level_may_not_overlap():
    plan = make_plan(publish=False)
    theory, practice = make_subject(Level.JUNIOR), make_subject(Level.JUNIOR, mode="实操")
    _session(plan, theory, "09:00", "11:00")
    with pytest.raises(DomainError, match="时间重叠") as exc:
        _session(plan, practice, "10:30", "12:00")
    assert exc.value.field == "start_time"
    _session(plan, practice, "11:00", "12:00")  # back to back is fine
    _session(plan, make_subject(Level.MIDDLE), "09:00", "11:00")  # another level at the same time
    _session(plan, theory, "09:00", "11:00", day=EXAM_DAY + timedelta(days=1))
    db.session.expire(plan)  # loaded again: in date and time order
    assert len(plan.sessions) == 4
    assert [s.start_time for s in plan.sessions][:3] == [time(9), time(9), time(11)]


def test_sessions_change_only_in_a_draft():
    subject = make_subject()
    plan = make_plan([(subject, "09:00", "11:00")])
    with pytest.raises(DomainError, match="请先撤回发布"):
        _session(plan, subject, "14:00", "16:00")
    with pytest.raises(DomainError, match="请先撤回发布"):
        plans.delete_session(make_user("org"), plan.id, plan.sessions[0].id)
    plans.withdraw_plan(make_user("org"), plan.id)
    plans.delete_session(make_user("org"), plan.id, plan.sessions[0].id)
    assert db.session.scalar(select(func.count(ExamSession.id))) == 0


# ---- publishing -------------------------------------------------------------------------

def test_publish_needs_sessions_and_a_fee_for_each_of_their_levels():
    org = make_user("org")
    plan = make_plan(publish=False, fee_middle="")
    with pytest.raises(DomainError, match="还没有考试场次"):
        plans.publish_plan(org, plan.id)
    _session(plan, make_subject(Level.MIDDLE))
    with pytest.raises(DomainError, match="请先设置中级的报考费用"):
        plans.publish_plan(org, plan.id)
    plans.save_plan(org, plan_data(name=plan.name, fee_middle="400"), plan.id)
    plans.publish_plan(org, plan.id)
    assert plan.state == PlanState.PUBLISHED
    assert audit.history(plan)[-1].action == "exam_plan.publish"
    with pytest.raises(DomainError, match="不能执行「发布」"):
        plans.publish_plan(org, plan.id)


def test_withdraw_is_refused_once_a_school_has_rooms():
    subject = make_subject()
    plan = make_plan([(subject, "09:00", "11:00")])
    site = make_site()
    make_room(make_user("school", school=site.school), plan, site, subject)
    with pytest.raises(DomainError, match="已有院校为该计划设置了考场"):
        plans.withdraw_plan(make_user("org"), plan.id)
    assert plan.state == PlanState.PUBLISHED


def test_schools_see_published_plans_only():
    draft, published = make_plan(publish=False), make_plan([(make_subject(), "09:00", "11:00")])
    school = make_user("school")
    assert set(db.session.scalars(plans.list_plans(school))) == {published}
    with pytest.raises(NotInScope):
        plans.get_plan(school, draft.id)
    assert set(db.session.scalars(plans.list_plans(make_user("org")))) == {draft, published}
    with pytest.raises(ForbiddenAction):
        plans.publish_plan(school, published.id)


def test_registration_open_follows_the_window():
    plan = make_plan([(make_subject(), "09:00", "11:00")])
    assert plan.registration_open(datetime(2030, 5, 10, 12))
    assert not plan.registration_open(datetime(2030, 5, 20, 17, 1))
    assert not plan.registration_open(datetime(2030, 4, 30, 23, 59))


# ---- pages ------------------------------------------------------------------------------

def test_org_builds_and_publishes_a_plan_through_the_pages(client):
    subject = make_subject(name="综合理论")
    login_as(client, make_user("org"))
    bad = client.post("/exams/plans/new", data={**plan_data(name="页面计划"), "registration_start": "2030-05-01T09:00",
                                                "registration_end": "2030-04-01T09:00"})
    assert "报考截止时间须晚于报考开始时间" in bad.get_data(as_text=True)
    form = {k: (v.replace(" ", "T") if k.startswith(("registration", "payment", "ticket")) else v)
            for k, v in plan_data(name="页面计划").items()}
    response = client.post("/exams/plans/new", data=form)
    assert response.status_code == 302
    plan = db.session.scalar(select(ExamPlan).where(ExamPlan.name == "页面计划"))
    body = client.post(f"/exams/plans/{plan.id}", data={"date": "2030-06-20", "start_time": "11:00",
                                                        "end_time": "09:00", "level": "初级",
                                                        "subject_id": subject.id}).get_data(as_text=True)
    assert "结束时间须晚于开始时间" in body
    client.post(f"/exams/plans/{plan.id}", data={"date": "2030-06-20", "start_time": "09:00", "end_time": "11:00",
                                                 "level": "初级", "subject_id": subject.id})
    client.post(f"/exams/plans/{plan.id}/publish")
    assert db.session.get(ExamPlan, plan.id).state == PlanState.PUBLISHED
    login_as(client, make_user("school"))
    page = client.get(f"/exams/plans/{plan.id}").get_data(as_text=True)
    assert "综合理论" in page and "2030-06-20 09:00-11:00" in page and "添加场次" not in page
    assert "页面计划" in client.get("/exams/plans").get_data(as_text=True)


def test_demo_plan_is_open_for_registration(cli):
    from examadmin.exams.models import ExamPlan as Plan
    from examadmin.sites.models import ExamSite

    assert cli.invoke(args=["demo"]).exit_code == 0
    assert cli.invoke(args=["demo"]).exit_code == 0  # idempotent
    plan = db.session.scalar(select(Plan).where(Plan.name.like("%第4次全国统一考试%")))
    # the other two demo plans (one with tickets now, one past with published scores) belong
    # to the scheduling demo
    assert db.session.scalar(select(func.count(Plan.id))) == 3
    assert plan.published and plan.registration_open()
    pattern = [(s.level, s.start_time, s.end_time, s.subject.mode.value) for s in plan.sessions]
    assert pattern == [(Level.JUNIOR, time(9), time(11), "机考"), (Level.MIDDLE, time(14), time(16), "机考")] * 3
    assert len({s.date for s in plan.sessions}) == 3
    site = db.session.scalar(select(ExamSite))
    assert site.usable and site.school.code == "5150000001"
    assert {(s.full_mark, s.pass_mark) for s in db.session.scalars(select(Subject))} == {(100, 60)}


def test_cli_lists_and_publishes(cli):
    plan = make_plan([(make_subject(), "09:00", "11:00")], publish=False)
    db.session.commit()
    assert "草稿" in cli.invoke(args=["exams", "list"]).output
    result = cli.invoke(args=["exams", "publish", str(plan.id)])
    assert result.exit_code == 0 and "已发布" in result.output
    again = cli.invoke(args=["exams", "publish", str(plan.id)])
    assert again.exit_code == 1 and "不能执行「发布」" in again.output


def test_cli_refusals_of_the_permission_layer_and_unknown_users_are_messages(cli):
    """--as a user who may not, an unknown plan, an unknown --as user: exit 1 with the Chinese
    message, no traceback."""
    plan = make_plan([(make_subject(), "09:00", "11:00")], publish=False)
    school = make_user("school")
    db.session.commit()
    refused = cli.invoke(args=["exams", "publish", str(plan.id), "--as", school.username])
    assert refused.exit_code == 1 and "无权执行此操作" in refused.output and refused.exception.__class__ is SystemExit
    missing = cli.invoke(args=["exams", "publish", "2147480000"])
    assert missing.exit_code == 1 and "不在您的管理范围内" in missing.output
    nobody = cli.invoke(args=["exams", "publish", str(plan.id), "--as", "no.such.user"])
    assert nobody.exit_code == 1 and "找不到用户「no.such.user」" in nobody.output


def test_org_manages_subjects_through_the_pages(client):
    login_as(client, make_user("org"))
    data = {"certificate_level_id": level_of(Level.MIDDLE).id, "name": "实操考核", "mode": "实操",
            "full_mark": 100, "pass_mark": 120}
    assert "及格分（120）不能高于满分（100）" in client.post("/exams/subjects/new", data=data).get_data(as_text=True)
    assert client.post("/exams/subjects/new", data={**data, "pass_mark": 60}).status_code == 302
    subject = db.session.scalar(select(Subject).where(Subject.name == "实操考核"))
    page = client.get("/exams/subjects").get_data(as_text=True)
    assert "实操考核" in page and "实训室" in page
    client.post(f"/exams/subjects/{subject.id}/delete")
    assert db.session.get(Subject, subject.id) is None


def test_a_school_neither_sees_drafts_nor_adds_sessions(client):
    subject = make_subject()
    draft = make_plan(publish=False)
    published = make_plan([(subject, "09:00", "11:00")])
    db.session.commit()
    login_as(client, make_user("school"))
    assert client.get(f"/exams/plans/{draft.id}").status_code == 404
    assert draft.name not in client.get("/exams/plans").get_data(as_text=True)
    response = client.post(f"/exams/plans/{published.id}", data={"date": "2030-06-21", "start_time": "09:00",
                                                                "end_time": "11:00", "subject_id": subject.id})
    assert response.status_code == 403
    assert client.post(f"/exams/plans/{published.id}/withdraw").status_code == 403


def test_a_plan_short_name_is_its_round_for_lists_beside_a_level():
    from examadmin.exams.models import ExamPlan

    assert ExamPlan(name="2026年第3次全国统一考试（社会心理服务）").short_name == "第3次"
    assert ExamPlan(name="秋季考试").short_name == "秋季考试"
    assert ExamPlan(name="一个没有轮次但名字很长的考试计划").short_name == "一个没有轮次但名字…"


def test_a_plan_tells_its_stage_of_the_year_by_the_clock():
    plan = make_plan([(make_subject(), "09:00", "11:00")], publish=False)
    assert plan.stage() == "草稿"
    plans.publish_plan(make_user("org"), plan.id)
    assert plan.stage(datetime(2030, 4, 1)) == "未开始报考"
    assert plan.stage(datetime(2030, 5, 10)) == "报考中"
    assert plan.stage(datetime(2030, 6, 1)) == "报考已截止"
    assert plan.stage(datetime(2030, 6, 20, 11, 0)) == "考试已结束"
