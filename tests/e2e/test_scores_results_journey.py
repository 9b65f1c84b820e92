"""Browser journey of issue 11, the part after publication: the school sees the results and
the charts, the candidate sees their score, and the public lookup finds it.

It runs on a server of its own with the demo alone: the demo enters the scores of its held
plan (第2次) through the score services and publishes them final (scores/demo.py). Nothing is
written past the services here, so a demo that stops publishing fails this journey.
"""
from __future__ import annotations

import threading

import pytest
from flask_migrate import upgrade
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from werkzeug.serving import make_server

from examadmin import create_app
from examadmin.config import ROOT
from examadmin.core import idcard
from examadmin.core.auth import User
from examadmin.demo import load_demo
from examadmin.extensions import db
from examadmin.registrations.models import Registration
from examadmin.scheduling.demo import PAST_PLAN_SUFFIX
from examadmin.scheduling.models import AdmissionTicket
from examadmin.exams.models import ExamPlan
from examadmin.scores import services
from examadmin.scores.models import Score, ScorePublication
from examadmin.scores.states import PublicationStage
from tests.conftest import dispose
from tests.e2e.test_journey import sign_in, sign_out


@pytest.fixture(scope="module")
def scored_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e-scores")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/e2e.db", "STORAGE_DIR": str(tmp / "storage"),
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "SCORE_LOOKUP_RATE_LIMIT": "20 per minute",
        "LOGIN_RATE_LIMIT": "100 per minute",
    })
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        load_demo()
        db.session.commit()
        plan = db.session.scalar(select(ExamPlan).where(ExamPlan.name.like(f"%{PAST_PLAN_SUFFIX}")))
        assert services.stage_of(plan.id) == PublicationStage.FINAL, "the demo no longer publishes its scores"
        # what the candidate account should see: its plan, ticket, score and the ID number
        candidate = db.session.scalar(select(User).where(User.username == "candidate"))
        registration, ticket, score, plan_name = db.session.execute(
            select(Registration, AdmissionTicket.ticket_number, Score.score, ExamPlan.name)
            .join(AdmissionTicket, AdmissionTicket.registration_id == Registration.id)
            .join(Score, Score.registration_id == Registration.id)
            .join(ExamPlan, ExamPlan.id == Registration.plan_id)
            .join(ScorePublication, ScorePublication.plan_id == Registration.plan_id)
            .where(Registration.candidate_id == candidate.candidate_id,
                   ScorePublication.stage == PublicationStage.FINAL)).first()
        expected = {"name": registration.candidate.name, "id_number": registration.id_number, "ticket": ticket,
                    "score": f"{score:.1f}".rstrip("0").rstrip("."), "plan": plan_name}
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", expected
    server.shutdown()
    dispose(app)


def _open(browser, url: str) -> None:
    browser.get(url)
    WebDriverWait(browser, 5).until(EC.presence_of_element_located((By.TAG_NAME, "main")))


def test_school_sees_charts_candidate_sees_score_public_finds_it(browser, scored_url, shot):
    base, expected = scored_url

    # The school opens the statistics of the published plan: figures, charts, distribution.
    sign_in(browser, base, "school1")
    link = browser.find_element(By.LINK_TEXT, "成绩统计")  # in the menu, far down: scroll to it first
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", link)
    row = WebDriverWait(browser, 5).until(EC.presence_of_element_located(
        (By.XPATH, f"//table[@data-testid='stats-plans']//tr[td[contains(., '{expected['plan']}')]]")))
    assert "成绩已发布" in row.text
    row.find_element(By.LINK_TEXT, "查看统计").click()
    chart = WebDriverWait(browser, 5).until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, "svg[data-testid=chart-school]")))
    assert "重庆示范职业技术学院" in chart.text
    assert browser.find_elements(By.CSS_SELECTOR, "svg[data-testid^=distribution-] rect")
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=total-rate]").text.endswith("%")
    assert chart.size["width"] > 300  # drawn, not an empty box
    shot("scores-stats-school")
    sign_out(browser)

    # The candidate sees their own score and result.
    sign_in(browser, base, "candidate")
    browser.find_element(By.LINK_TEXT, "我的成绩").click()
    card = WebDriverWait(browser, 5).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=my-result]")))
    assert expected["ticket"] in card.text and expected["score"] in card.text and "成绩已发布" in card.text
    shot("scores-mine")
    sign_out(browser)

    # Anyone: from the sign-in page to the lookup, by ID number and ticket number.
    _open(browser, f"{base}/login")
    browser.find_element(By.LINK_TEXT, "成绩查询").click()
    WebDriverWait(browser, 5).until(EC.presence_of_element_located((By.NAME, "id_number")))
    browser.find_element(By.NAME, "id_number").send_keys("1" * 18)
    browser.find_element(By.NAME, "ticket_number").send_keys(expected["ticket"])
    browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    WebDriverWait(browser, 5).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=lookup-not-found]")))
    browser.find_element(By.NAME, "id_number").send_keys(expected["id_number"].lower())
    ticket = browser.find_element(By.NAME, "ticket_number")
    ticket.clear()
    ticket.send_keys(expected["ticket"])
    browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    answer = WebDriverWait(browser, 5).until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, "[data-testid=lookup-answer]")))
    assert expected["name"] in answer.text and expected["score"] in answer.text
    assert idcard.mask(expected["id_number"]) in answer.text and expected["id_number"] not in browser.page_source
    assert expected["id_number"] not in browser.current_url
    shot("scores-lookup")
