"""Browser journey of issue 11 (score part): the org imports scores, opens the display period,
a school objects and the org answers with a correction, the period passes, the org publishes.

The demo's scheduled plan is already published, so the journey prepares a second scheduled
plan of school1's candidates (registration pages are another issue's) through the services.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from openpyxl import Workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from examadmin.candidates.models import Candidate
from examadmin.catalog.models import Level
from examadmin.core import clock
from examadmin.core.auth import User
from examadmin.exams.demo import FEES, SUBJECT_NAME
from examadmin.exams.models import Subject
from examadmin.exams.services import plans
from examadmin.extensions import db
from examadmin.registrations.models import Registration
from examadmin.scheduling.demo import _register_and_pay, _rooms
from examadmin.scheduling.models import AdmissionTicket
from examadmin.scheduling.services import seats
from examadmin.scores.models import ScorePublication
from examadmin.sites.models import ExamSite
from tests.e2e.test_journey import sign_in, sign_out
from tests.e2e.test_sites_exams_journey import click_and_confirm, css, fill, flash_text, submit

PLAN_NAME = "成绩旅程考试计划"


#: the candidate whose score school1 objects to (刘明 failed the demo's past plan, so may sit again)
OBJECTED = "刘明"


@pytest.fixture(scope="module")
def live_url(tmp_path_factory):
    """A demo server of this journey's own: it publishes results for the demo's people (吴桐
    passes), which the registration journey, in any order, must find unregistered."""
    from tests.e2e.conftest import demo_server

    with demo_server(tmp_path_factory.mktemp("e2e-scores")) as url:
        yield url


@pytest.fixture(scope="module")
def live_app(live_url):
    return live_url.app


def _scheduled_plan(app) -> tuple[int, list[tuple[str, str]]]:
    """A published plan with school1's candidates scheduled; (plan id, [(ticket, name)])."""
    with app.app_context():
        org = db.session.scalar(select(User).where(User.username == "org"))
        school_user = db.session.scalar(select(User).where(User.username == "school1"))
        subject = db.session.scalar(select(Subject).where(Subject.name == SUBJECT_NAME)
                                    .where(Subject.certificate_level.has(level=Level.JUNIOR)))
        site = db.session.scalar(select(ExamSite).where(ExamSite.school_id == school_user.school_id,
                                                        ExamSite.certificate_level_id == subject.certificate_level_id))
        today = clock.now().date()
        at = lambda days, hour: datetime.combine(today + timedelta(days=days), time(hour))  # noqa: E731
        plan = plans.save_plan(org, {"name": PLAN_NAME, "certificate_id": subject.certificate_level.certificate_id,
                                     "registration_start": at(-60, 9), "registration_end": at(-40, 17),
                                     "payment_deadline": at(-35, 17), "ticket_start": at(-30, 9),
                                     "ticket_end": at(-20, 16), **FEES})
        plans.add_session(org, plan.id, {"date": today - timedelta(days=21), "start_time": time(9),
                                         "end_time": time(11), "subject_id": subject.id})
        plans.publish_plan(org, plan.id)
        _rooms(school_user, plan, site, subject, [("旅程机房", 30)])
        # those who did not pass the demo's past plan (a pass is not registered for the level again)
        _register_and_pay(org, school_user, plan, site, [OBJECTED, "黄晓雯", "吴桐"])
        db.session.flush()
        seats.schedule(school_user, plan.id, site.id, seed=1)
        tickets = db.session.execute(
            select(AdmissionTicket.ticket_number, Candidate.name)
            .join(Registration, Registration.id == AdmissionTicket.registration_id)
            .join(Candidate, Candidate.id == Registration.candidate_id)
            .where(AdmissionTicket.plan_id == plan.id).order_by(AdmissionTicket.ticket_number)).all()
        plan_id = plan.id
        db.session.commit()
        db.session.remove()
    return plan_id, [tuple(t) for t in tickets]


def test_org_imports_displays_answers_an_objection_and_publishes(browser, live_url, live_app, shot, tmp_path):
    plan_id, tickets = _scheduled_plan(live_app)
    wb = Workbook()
    ws = wb.active
    ws.append(["准考证号", "科目", "成绩", "缺考", "违纪"])
    scores = {name: ("58" if name == OBJECTED else "75") for _, name in tickets}
    for ticket, name in tickets:
        ws.append([ticket, SUBJECT_NAME, scores[name], "", ""])
    path = tmp_path / "成绩.xlsx"
    wb.save(path)

    # The org imports the sheet as a job and returns to the plan.
    sign_in(browser, live_url, "org")
    browser.get(f"{live_url}/scores/")
    Select(css(browser, "[data-testid=plan-select]")).select_by_visible_text(PLAN_NAME)
    submit(browser, "[data-testid=plan-filter] button")
    assert css(browser, "[data-testid=stage]").text == "成绩登记中"
    submit(browser, "[data-testid=import-link]")
    browser.find_element(By.NAME, "file").send_keys(str(path))
    submit(browser, "#import-form [type=submit]")
    WebDriverWait(browser, 15).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=import-summary]")))
    assert f"共 {len(tickets)} 行，修改 {len(tickets)}" in css(browser, "[data-testid=import-summary]").text
    shot("scores-import")
    submit(browser, "[data-testid=back-to-plan]")
    assert "未登记 0" in css(browser, "[data-testid=counts]").text

    # The grid answers the keyboard: Enter moves to the next row's score.
    submit(browser, "[data-testid=entry-link]")
    inputs = browser.find_elements(By.CSS_SELECTOR, "[data-grid-score]")
    assert len(inputs) == len(tickets)
    inputs[0].click()
    inputs[0].send_keys("\n")
    assert browser.switch_to.active_element == inputs[1]
    shot("scores-grid")
    browser.back()

    # Display for 3 days.
    browser.get(f"{live_url}/scores/?plan_id={plan_id}")
    fill(browser, "display_days", 3)
    click_and_confirm(browser, "[data-testid=open-display]")
    assert "已开始成绩公示" in flash_text(browser)
    assert css(browser, "[data-testid=stage]").text == "成绩公示中"
    sign_out(browser)

    # school1 sees the scores and objects to 刘明's.
    sign_in(browser, live_url, "school1")
    browser.get(f"{live_url}/scores/plans/{plan_id}/scores?q={OBJECTED}")
    row = css(browser, "[data-testid=score-row]")
    assert "58" in row.text and "不合格" in row.text
    submit(browser, "[data-testid=score-detail]")
    fill(browser, "reason", "第 5 题评分与标准答案不符，请复核")
    submit(browser, "#objection-form [type=submit]")
    assert "异议已提交" in flash_text(browser)
    shot("scores-objection")
    sign_out(browser)

    # The org answers with a correction.
    sign_in(browser, live_url, "org")
    browser.get(f"{live_url}/scores/plans/{plan_id}/objections")
    assert css(browser, "[data-testid=objection-state]").text == "待答复"
    fill(browser, "answer", "复核属实，第 5 题加 4 分")
    css(browser, "[data-testid=answer-change]").click()
    fill(browser, "score", "62")
    submit(browser, "[data-testid=answer-submit]")
    assert "成绩已更正" in flash_text(browser)
    assert css(browser, "[data-testid=objection-state]").text == "已答复"

    # Publishing waits for the end of the display period.
    browser.get(f"{live_url}/scores/?plan_id={plan_id}")
    assert not css(browser, "[data-testid=publish]").is_enabled()  # the service would refuse it
    assert "公示期内不能发布" in css(browser, "[data-testid=publish-reason]").text
    with live_app.app_context():  # the three days pass
        pub = db.session.scalar(select(ScorePublication).where(ScorePublication.plan_id == plan_id))
        pub.display_started_at -= timedelta(days=4)
        pub.display_ends_at -= timedelta(days=4)
        db.session.commit()
        db.session.remove()
    browser.get(f"{live_url}/scores/?plan_id={plan_id}")
    click_and_confirm(browser, "[data-testid=publish]")
    assert "成绩已发布" in flash_text(browser)
    assert css(browser, "[data-testid=stage]").text == "成绩已发布"
    shot("scores-published")
    sign_out(browser)

    # The school sees the corrected score, passed, with its history.
    sign_in(browser, live_url, "school1")
    browser.get(f"{live_url}/scores/plans/{plan_id}/scores?q={OBJECTED}")
    row = css(browser, "[data-testid=score-row]")
    assert "62" in row.text and "合格" in row.text and "不合格" not in row.text
    submit(browser, "[data-testid=score-detail]")
    assert "复核属实，第 5 题加 4 分" in css(browser, "[data-testid=score-history]").text
    sign_out(browser)
