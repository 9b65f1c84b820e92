"""Browser journey of issue 10 (scheduling part): school1 schedules the paid registrations of
the demo's open plan, looks at the seat plan, registers a proctor, assigns proctors and is
refused a second room in one session; the proctor account sees its own rooms."""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlalchemy import func, select

from examadmin.candidates.models import Candidate, CandidateKind, IdType
from examadmin.candidates.states import CandidateState
from examadmin.core import idcard
from examadmin.exams.models import ExamPlan
from examadmin.extensions import db
from examadmin.registrations.models import Registration
from examadmin.registrations.states import RegistrationState
from examadmin.sites.models import ExamSite
from tests.e2e.test_journey import sign_in, sign_out
from tests.e2e.test_sites_exams_journey import click_and_confirm, css, fill, flash_text, submit

PEOPLE = [("旅程甲", "心理2301"), ("旅程乙", "心理2301"), ("旅程丙", "护理2302")]


def _paid_registrations(app) -> tuple[int, str, int]:
    """Three more paid registrations in the open plan (the demo paid some already); (plan id,
    name, paid registrations now)."""
    with app.app_context():
        plan = db.session.scalar(select(ExamPlan).where(ExamPlan.name.like("%第4次全国统一考试%")))
        site = db.session.scalar(select(ExamSite).where(ExamSite.name.like("重庆示范职业技术学院%初级")))
        for index, (name, class_name) in enumerate(PEOPLE, start=1):
            first17 = f"50010620050{index}0{index}{300 + index * 2:03d}"
            candidate = Candidate(school_id=site.school_id, kind=CandidateKind.STUDENT, name=name,
                                  id_type=IdType.RESIDENT, id_number=first17 + idcard.check_char(first17),
                                  gender="女", class_name=class_name, state=CandidateState.ACCURATE)
            db.session.add(candidate)
            db.session.flush()
            db.session.add(Registration(
                plan_id=plan.id, candidate_id=candidate.id, school_id=site.school_id, site_id=site.id,
                certificate_level_id=site.certificate_level_id, id_type=candidate.id_type,
                id_number=candidate.id_number, kind=candidate.kind, fee=plan.fee_for(site.certificate_level.level),
                state=RegistrationState.PAID))
        db.session.commit()
        paid = db.session.scalar(select(func.count(Registration.id)).where(
            Registration.plan_id == plan.id, Registration.state == RegistrationState.PAID))
        result = plan.id, plan.name, paid
        db.session.remove()
        return result


def _slot(browser, index):
    """A room of the plan's first session on the assignment page."""
    card = browser.find_elements(By.CSS_SELECTOR, "[data-testid=session-card]")[0]
    return card.find_elements(By.CSS_SELECTOR, "[data-testid=slot]")[index]


def _assign(browser, index, proctor):
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    slot = _slot(browser, index)
    Select(slot.find_element(By.CSS_SELECTOR, "[data-testid=assign-proctor]")).select_by_visible_text(proctor)
    old = browser.find_element(By.TAG_NAME, "html")
    slot.find_element(By.CSS_SELECTOR, "[data-testid=assign-submit]").click()
    WebDriverWait(browser, 10).until(EC.staleness_of(old))


def test_schedule_seat_plan_and_proctors(browser, live_url, live_app, shot):
    plan_id, plan_name, paid = _paid_registrations(live_app)
    sign_in(browser, live_url, "school1")
    browser.get(f"{live_url}/scheduling/")
    Select(css(browser, "[data-testid=plan-select]")).select_by_visible_text(plan_name)
    submit(browser, "[data-testid=plan-filter] button")
    row = css(browser, "[data-testid=site-row]")
    assert row.find_element(By.CSS_SELECTOR, "[data-testid=paid]").text == str(paid)
    click_and_confirm(browser, "[data-testid=run-schedule]")
    assert f"已排考 {paid} 人" in flash_text(browser)
    assert css(browser, "[data-testid=site-row] [data-testid=scheduled]").text == str(paid)
    shot("schedule-done")

    # The seat plan of the first room: every paid registration seated (the demo's and ours).
    submit(browser, "[data-testid=site-rooms]")
    submit(browser, "[data-testid=seat-plan-link]")
    assert css(browser, "[data-testid=seats-taken]").text == str(paid)
    names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "[data-testid=seat-name]")]
    assert {p[0] for p in PEOPLE} <= set(names) and len(names) == paid
    seats = browser.find_elements(By.CSS_SELECTOR, "[data-testid=seat]")
    assert len(seats) == 40
    shot("seat-plan")

    # A new proctor, then proctors for the room: two in 301; the same person in 302 is refused.
    browser.get(f"{live_url}/scheduling/proctors")
    submit(browser, "[data-testid=proctor-new]")
    fill(browser, "name", "钱老师")
    fill(browser, "phone", "13800010009")
    fill(browser, "id_number", "500106198203040052")
    Select(browser.find_element(By.NAME, "role")).select_by_visible_text("副监考")
    submit(browser, ".card form [type=submit]")
    assert "已保存" in flash_text(browser)
    assert "钱老师" in css(browser, "[data-testid=proctors-table]").text
    assert "500106198203040052" not in css(browser, "[data-testid=proctors-table]").text

    browser.get(f"{live_url}/scheduling/?plan_id={plan_id}")
    submit(browser, "[data-testid=site-proctors]")
    for name in ("张伟（主监考）", "钱老师（副监考）"):
        _assign(browser, 0, name)
        assert "已安排监考" in flash_text(browser)
    assert "张伟" in _slot(browser, 0).find_element(By.CSS_SELECTOR, "[data-testid=slot-proctors]").text
    _assign(browser, 1, "张伟（主监考）")
    message = flash_text(browser)
    assert "实训楼 301 机房" in message and "实训楼 302 机房" in message and "不能" in message
    shot("proctors")
    sign_out(browser)

    # The proctor's own account sees its rooms in both plans.
    sign_in(browser, live_url, "proctor")
    browser.get(f"{live_url}/scheduling/mine")
    mine = css(browser, "[data-testid=my-assignments]").text
    assert "实训楼 301 机房" in mine and "实训楼 201 机房" in mine and "实训楼 302 机房" not in mine
    sign_out(browser)
