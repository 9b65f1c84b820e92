"""Issue 9's payment part in the browser: the school makes an order for two students and
uploads a voucher, the org confirms it; a social candidate's order is left unpaid and lapses
after the payment deadline (shown at once, then written by `registrations lapse`).

The registrations themselves are prepared directly in the live server's database (as the
registration step leaves them), so that this journey does not depend on the registration
pages; on a plan of its own, so that its lapse touches nothing of the other journeys.
"""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from examadmin.candidates.models import Candidate, CandidateKind, IdType
from examadmin.candidates.states import CandidateState
from examadmin.catalog.models import Level, School
from examadmin.core import clock, idcard
from examadmin.core.auth import find_user
from examadmin.exams.demo import DEMO_SCHOOL, SUBJECT_NAME
from examadmin.exams.models import Subject
from examadmin.exams.services import plans
from examadmin.extensions import db
from examadmin.registrations.models import Registration
from examadmin.registrations.states import RegistrationState
from examadmin.sites.models import ExamSite
from tests.e2e.test_journey import sign_in, sign_out

PEOPLE = [("缴费甲", CandidateKind.STUDENT, "20040101"), ("缴费乙", CandidateKind.STUDENT, "20040202"),
          ("缴费丙", CandidateKind.SOCIAL, "19900303")]


def prepare(app) -> tuple[int, datetime]:
    """A published plan closing payment in two days and three 待缴费 registrations of school1."""
    with app.app_context():
        org, school = find_user("org"), db.session.scalar(select(School).where(School.code == DEMO_SCHOOL))
        subject = db.session.scalar(select(Subject).where(Subject.name == SUBJECT_NAME))
        site = db.session.scalar(select(ExamSite).where(ExamSite.school_id == school.id,
                                                        ExamSite.certificate_level_id == subject.certificate_level_id))
        today = clock.now().date()
        at = lambda days, hour: datetime.combine(today + timedelta(days=days), time(hour))  # noqa: E731
        plan = plans.save_plan(org, {
            "name": "缴费旅程考试计划", "certificate_id": subject.certificate_level.certificate_id,
            "registration_start": at(-3, 9), "registration_end": at(1, 17), "payment_deadline": at(2, 17),
            "ticket_start": at(3, 9), "ticket_end": at(10, 16), "fee_junior": "300", "fee_middle": "400",
            "fee_senior": "500"})
        plans.add_session(org, plan.id, {"date": today + timedelta(days=10), "start_time": "09:00",
                                         "end_time": "11:00", "level": Level.JUNIOR, "subject_id": subject.id})
        plans.publish_plan(org, plan.id)
        for index, (name, kind, born) in enumerate(PEOPLE):
            first17 = f"500106{born}{900 + index:03d}"
            candidate = Candidate(school_id=school.id, kind=kind, name=name, id_type=IdType.RESIDENT,
                                  id_number=first17 + idcard.check_char(first17), gender="男",
                                  state=CandidateState.ACCURATE)
            db.session.add(candidate)
            db.session.flush()
            # Retakers and social candidates take no quota place: the quota is the registration journey's.
            db.session.add(Registration(
                plan_id=plan.id, candidate_id=candidate.id, school_id=school.id, site_id=site.id,
                certificate_level_id=subject.certificate_level_id, id_type=candidate.id_type,
                id_number=candidate.id_number, kind=kind, is_retake=kind == CandidateKind.STUDENT,
                fee=plan.fee_for(Level.JUNIOR), state=RegistrationState.UNPAID))
        deadline = plan.payment_deadline
        plan_id = plan.id
        db.session.commit()
        db.session.remove()
    return plan_id, deadline


def flash_says(wait, text: str) -> None:
    """Wait for the next page's message (the page before may still show a message of its own)."""
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-testid=flash]"), text))


def voucher(tmp_path):
    path = tmp_path / "银行回单.png"
    Image.new("RGB", (300, 120), "white").save(path, "PNG")
    return path


def test_payment_journey(browser, live_url, live_app, shot, tmp_path, monkeypatch):
    plan_id, deadline = prepare(live_app)
    wait = WebDriverWait(browser, 10)

    # The school: an order for the two students, then a voucher.
    sign_in(browser, live_url, "school1")
    browser.get(f"{live_url}/registrations/payments/new")
    Select(browser.find_element(By.CSS_SELECTOR, "[data-testid=payment-plan]")).select_by_value(str(plan_id))
    browser.find_element(By.CSS_SELECTOR, "[data-testid=payment-plan-go]").click()
    table = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=eligible-table]")))
    assert "缴费甲" in table.text and "缴费乙" in table.text and "缴费丙" not in table.text
    assert "缴费丙" in browser.find_element(By.CSS_SELECTOR, "[data-testid=social-table]").text
    for name in ("缴费甲", "缴费乙"):
        browser.find_element(By.CSS_SELECTOR, f"input[aria-label='选择 {name}']").click()
    shot("payment-new")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=school-order-create]").click()
    amount = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=payment-amount]")))
    assert amount.text == "600.00 元"
    order_url = browser.current_url
    browser.find_element(By.CSS_SELECTOR, "[data-testid=voucher-file]").send_keys(str(voucher(tmp_path)))
    browser.find_element(By.CSS_SELECTOR, "[data-testid=voucher-ref]").send_keys("ICBC20260001")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=voucher-submit]").click()
    flash_says(wait, "付款凭证已提交")
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=payment-state]").text == "待确认"

    # The social candidate's own order, left without a voucher.
    browser.get(f"{live_url}/registrations/payments/new?plan_id={plan_id}")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=social-order-create]").click()
    flash_says(wait, "已为社会考生「缴费丙」创建个人缴费订单")
    social_url = browser.current_url
    sign_out(browser)

    # The org confirms the school's order.
    sign_in(browser, live_url, "org")
    browser.get(f"{live_url}/registrations/payments?state=待确认&plan_id={plan_id}")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=payment-open]").click()
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=voucher-preview]").is_displayed()
    shot("payment-review")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=payment-confirm]").click()
    wait.until(EC.alert_is_present()).accept()
    flash_says(wait, "其中 2 条报考为「已缴费」")
    states = browser.find_element(By.CSS_SELECTOR, "[data-testid=payment-registrations]").text
    assert states.count("已缴费") == 2
    assert browser.current_url == order_url
    sign_out(browser)

    # After the deadline: the unpaid social registration shows as lapsed at once, then is written so.
    monkeypatch.setattr(clock, "now", lambda: deadline + timedelta(hours=1))
    sign_in(browser, live_url, "school1")
    browser.get(social_url)
    table = browser.find_element(By.CSS_SELECTOR, "[data-testid=payment-registrations]").text
    assert "已放弃（未缴费）" in table and f"缴费截止 {deadline:%Y-%m-%d %H:%M}" in table
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid=voucher-file]") == []
    result = live_app.test_cli_runner().invoke(args=["registrations", "lapse", "--plan", str(plan_id), "--json"])
    assert result.exit_code == 0 and json.loads(result.output) == {"lapsed": 1, "places_returned": 0}
    browser.refresh()
    assert "已放弃（未缴费）" in browser.find_element(By.CSS_SELECTOR, "[data-testid=payment-registrations]").text
    history = browser.find_element(By.CSS_SELECTOR, "[data-testid=payment-history]").text
    assert "创建缴费订单" in history
    browser.get(order_url)
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=payment-registrations]").text.count("已缴费") == 2
    shot("payment-after-deadline")
    sign_out(browser)
