"""The steps after the exam on the dashboards: scores to enter and to publish, certificate records
to make, to sign (org, then the school) and to issue; each for its role, counted, linked."""
from __future__ import annotations

from datetime import timedelta
from unittest import mock

from sqlalchemy import select

from examadmin.certificates import services as certificates
from examadmin.certificates.models import CertificateRecord
from examadmin.core import clock
from examadmin.extensions import db
from examadmin.scores import services as scores
from examadmin.scores.models import Score
from examadmin.scores.states import PublicationStage
from tests.certificates.factories import make_result, make_setup, publish
from tests.conftest import make_user
from tests.dashboard.test_todos import _selects_of, todos
from tests.exams.factories import make_plan, make_subject
from tests.scores.factories import hold_exam, make_scored_setup, set_stage
from tests.scores.test_services import _enter_all, _room_id


def _to_enter(s) -> str:
    return f"待录入成绩（{s.plan.name}）"


def test_scores_to_enter_once_every_session_has_ended_counted_per_missing_seat(client):
    s = make_scored_setup(people=2, subjects=2, held=False)
    assert _to_enter(s) not in todos(client, s.org)  # the exam is ahead
    hold_exam(s.plan)
    assert todos(client, s.org)[_to_enter(s)] == (4, f"/scores/?plan_id={s.plan.id}")
    last = max(s.plan.sessions, key=lambda x: (x.date, x.start_time))
    held_on, last.date = last.date, clock.now().date() + timedelta(days=1)
    db.session.flush()
    assert _to_enter(s) not in todos(client, s.org)  # one session still to end
    last.date = held_on
    db.session.flush()
    # a seat marked 缺考 at check-in is entered by 开始公示 itself; an entered score is done
    s.seat(s.registrations[0], s.subjects[0]).absent = True
    room = _room_id(s, s.subjects[1])
    seat = s.seat(s.registrations[1], s.subjects[1])
    scores.save_grid(s.org, s.plan.id, room, {seat.id: {"score": "70"}})
    db.session.flush()
    assert todos(client, s.org)[_to_enter(s)] == (2, f"/scores/?plan_id={s.plan.id}")
    assert "未登记 <strong>3</strong>" in client.get(f"/scores/?plan_id={s.plan.id}").get_data(as_text=True)
    for other in (s.school_user, make_user("province"), make_user("sysadmin")):
        assert not any(label.startswith("待录入成绩") for label in todos(client, other))
    _enter_all(s)
    assert _to_enter(s) not in todos(client, s.org)


def test_scores_to_enter_leave_once_the_plan_is_on_display(client):
    s = make_scored_setup(people=1, subjects=1)
    assert todos(client, s.org)[_to_enter(s)][0] == 1
    set_stage(s.plan.id, PublicationStage.DISPLAY, display_ends_at=clock.now() + timedelta(days=3))
    assert _to_enter(s) not in todos(client, s.org)


def test_scores_ready_to_publish_after_the_display_period_with_every_objection_answered(client):
    s = make_scored_setup(people=2, subjects=1)
    _enter_all(s, "58")
    scores.open_display(s.org, s.plan.id, 3)
    label = f"可发布成绩（{s.plan.name}）"
    assert label not in todos(client, s.org)  # during the display period
    score = db.session.scalar(select(Score).where(Score.registration_id == s.registrations[0].id))
    objection = scores.raise_objection(s.school_user, score.id, "请复核")
    later = clock.now() + timedelta(days=4)
    with mock.patch("examadmin.core.clock.now", return_value=later):
        assert label not in todos(client, s.org)  # an objection is open
        assert f"待答复的成绩异议（{s.plan.name}）" in todos(client, s.org)
    scores.answer_objection(s.org, objection.id, "复核无误")
    with mock.patch("examadmin.core.clock.now", return_value=later):
        assert todos(client, s.org)[label] == (2, f"/scores/?plan_id={s.plan.id}")
        for other in (s.school_user, make_user("province")):
            assert label not in todos(client, other)
        scores.publish_final(s.org, s.plan.id)
        assert label not in todos(client, s.org)


def test_the_org_sees_records_to_make_to_sign_and_to_issue_per_plan(client):
    s = make_setup(passed=3, failed=1)
    make_label = f"待生成证书记录（{s.plan.name}）"
    sign_label, issue_label = f"待评价组织签发（{s.plan.name}）", f"待发放的证书（{s.plan.name}）"
    assert todos(client, s.org)[make_label] == (3, f"/certificates/?plan_id={s.plan.id}")
    certificates.make_records(s.plan.id, s.org)
    items = todos(client, s.org)
    assert make_label not in items
    count, link = items[sign_label]
    assert (count, link) == (3, f"/certificates/?plan_id={s.plan.id}&state=待评价组织签发")
    assert client.get(link).get_data(as_text=True).count('data-testid="record-row"') == 3
    for other in (s.school_user, s.signer, make_user("province"), make_user("sysadmin")):
        shown = todos(client, other)
        assert not any(label.startswith(("待评价组织签发", "待发放", "待生成证书记录")) for label in shown)
    certificates.org_sign(s.org, s.plan.id)
    _, token = certificates.start_signoff(s.school_user, s.plan.id, s.site.id)
    certificates.confirm_signoff(s.signer, token)
    items = todos(client, s.org)
    assert sign_label not in items
    assert items[issue_label] == (3, f"/certificates/?plan_id={s.plan.id}&state=待发放")


def test_a_plan_not_final_or_without_passes_has_no_records_to_make(client):
    s = make_setup(passed=2, failed=0, stage=PublicationStage.DISPLAY)
    nobody = make_plan([(make_subject(), "09:00", "11:00")])
    make_result(nobody, s.site, False)
    publish(nobody)
    shown = todos(client, s.org)
    assert not any(label.startswith("待生成证书记录") for label in shown)


def test_the_school_sees_its_records_waiting_for_its_sign_off(client):
    s = make_setup(passed=2, failed=0)
    certificates.make_records(s.plan.id, s.org)
    label = "考核站点待签发的证书"
    assert label not in todos(client, s.signer)  # still with the org
    certificates.org_sign(s.org, s.plan.id)
    signer_items, staff_items = todos(client, s.signer), todos(client, s.school_user)
    assert signer_items[label] == (2, "/certificates/?state=考核站点待签发")
    # any of the school's users may press 签发 (the signer then scans): the staff sees it too
    assert staff_items[label] == (2, "/certificates/?state=考核站点待签发")
    page = client.get("/certificates/?state=考核站点待签发").get_data(as_text=True)
    assert page.count('data-testid="site-sign"') == 1 and "<strong>2</strong> 份" in page
    other_school = make_user("school", signer=True)
    for other in (other_school, make_user("province"), s.org):
        assert label not in todos(client, other)
    _, token = certificates.start_signoff(s.school_user, s.plan.id, s.site.id)
    certificates.confirm_signoff(s.signer, token)
    assert label not in todos(client, s.signer)


def test_the_signer_and_the_staff_are_told_who_scans(client):
    s = make_setup(passed=1, failed=0)
    certificates.make_records(s.plan.id, s.org)
    certificates.org_sign(s.org, s.plan.id)
    client_page = lambda user: (todos(client, user), client.get("/").get_data(as_text=True))[1]  # noqa: E731
    assert "用您已登录的手机扫码确认" in client_page(s.signer)
    assert "由本院校的签发负责人用已登录的手机扫码确认" in client_page(s.school_user)


def test_the_school_sign_off_count_joins_the_dashboards_one_query_of_counts(client):
    s = make_setup(passed=1, failed=0)
    certificates.make_records(s.plan.id, s.org)
    certificates.org_sign(s.org, s.plan.id)
    todos(client, s.signer)
    selects = _selects_of(client, "/")
    assert len(selects) <= 4, "\n\n".join(q[:200] for q in selects)
    assert len([q for q in selects if "count(" in q.lower()]) == 1


def test_the_orgs_dashboard_takes_as_many_statements_for_many_plans_as_for_one(client):
    """Every after-exam source is one statement, however many plans wait."""
    first = make_setup(passed=2, failed=0)
    certificates.make_records(first.plan.id, first.org)
    make_scored_setup(people=1, subjects=1)
    todos(client, first.org)
    one = len(_selects_of(client, "/"))
    for _ in range(2):
        more = make_setup(passed=1, failed=0)
        certificates.make_records(more.plan.id, more.org)
        make_setup(passed=1, failed=0)  # records still to make
        make_scored_setup(people=1, subjects=1)
    shown = todos(client, first.org)
    assert sum(label.startswith("待评价组织签发") for label in shown) == 3
    assert sum(label.startswith("待生成证书记录") for label in shown) == 2
    assert sum(label.startswith("待录入成绩") for label in shown) == 3
    assert len(_selects_of(client, "/")) == one
    assert db.session.scalar(select(db.func.count(CertificateRecord.id))) == 4
