"""The certificate issuance in a real browser: the org makes the records and signs, the school's
staff shows the QR code, the signer confirms from a second browser session (the phone), the
first screen moves on by itself, the org uploads the seal and issues, the job finishes.

A live server of its own: the demo has no final scores yet, so passed results of the demo's
published plan are inserted here (as issue 11's publication would leave them).
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
from examadmin.demo import load_demo
from examadmin.extensions import db
from tests.conftest import dispose
from tests.e2e.test_journey import sign_in


@pytest.fixture(scope="module")
def cert_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e-certs")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/e2e.db", "STORAGE_DIR": str(tmp / "storage"),
        "RATELIMIT_ENABLED": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "HUEY_IMMEDIATE": True,
    })
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        load_demo()
        plan_id = _passed_results(names=("周一", "吴二", "郑三"))
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", plan_id
    server.shutdown()
    dispose(app)


def _passed_results(names) -> int:
    from examadmin.candidates.models import Candidate, CandidateKind, IdType
    from examadmin.candidates.states import CandidateState
    from examadmin.core import idcard
    from examadmin.core.auth import User
    from examadmin.exams.models import ExamPlan
    from examadmin.registrations.models import Registration
    from examadmin.registrations.states import RegistrationState
    from examadmin.scores.models import Result, ScorePublication
    from examadmin.scores.states import PublicationStage
    from examadmin.sites.models import ExamSite

    school = db.session.scalar(select(User).where(User.username == "school1"))
    site = db.session.scalar(select(ExamSite).where(ExamSite.school_id == school.school_id))
    plan = db.session.scalar(select(ExamPlan).where(ExamPlan.certificate_id == site.certificate_level.certificate_id)
                             .order_by(ExamPlan.id))
    for i, name in enumerate(names):
        first17 = f"50010620000{i + 1}01{300 + i:03d}"
        candidate = Candidate(school_id=school.school_id, kind=CandidateKind.STUDENT, name=name,
                              id_type=IdType.RESIDENT, id_number=first17 + idcard.check_char(first17),
                              gender="男" if int(first17[16]) % 2 else "女", state=CandidateState.ACCURATE)
        db.session.add(candidate)
        db.session.flush()
        registration = Registration(plan_id=plan.id, candidate_id=candidate.id, school_id=school.school_id,
                                    site_id=site.id, certificate_level_id=site.certificate_level_id,
                                    id_type=candidate.id_type, id_number=candidate.id_number, kind=candidate.kind,
                                    fee=plan.fee_for(site.certificate_level.level), state=RegistrationState.PAID)
        db.session.add(registration)
        db.session.flush()
        db.session.add(Result(registration_id=registration.id, plan_id=plan.id, school_id=school.school_id,
                              certificate_level_id=site.certificate_level_id, id_type=candidate.id_type,
                              id_number=candidate.id_number, passed=True))
    if db.session.scalar(select(ScorePublication).where(ScorePublication.plan_id == plan.id)) is None:
        db.session.add(ScorePublication(plan_id=plan.id, stage=PublicationStage.FINAL))
    db.session.flush()
    return plan.id


@pytest.fixture
def phone(tmp_path_factory):
    """A second browser: the signer's phone, with its own session."""
    from selenium import webdriver

    from tests.e2e.conftest import CHROMEDRIVER, CHROMIUM

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-sync", "--window-size=412,915", "--lang=zh-CN",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-phone')}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.implicitly_wait(3)
    yield driver
    driver.quit()


def _state_count(browser, state: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, f"[data-testid='count-{state}'] [data-testid=count]").text


def test_certificates_are_signed_twice_and_issued(browser, cert_url, phone, shot, tmp_path):
    from examadmin.certificates.pdf import demo_seal_png

    base, plan_id = cert_url
    # the org makes the records and signs stage one
    sign_in(browser, base, "org")
    browser.get(f"{base}/certificates/?plan_id={plan_id}")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=make-records]").click()
    WebDriverWait(browser, 5).until(EC.text_to_be_present_in_element(
        (By.CSS_SELECTOR, "[data-testid=flash]"), "已生成 3 条证书记录"))
    assert _state_count(browser, "待评价组织签发") == "3"
    browser.find_element(By.CSS_SELECTOR, "[data-testid=org-sign]").click()
    browser.switch_to.alert.accept()
    WebDriverWait(browser, 5).until(EC.text_to_be_present_in_element(
        (By.CSS_SELECTOR, "[data-testid=flash]"), "3 份证书已处理"))
    assert _state_count(browser, "考核站点待签发") == "3"

    # the school's staff shows the QR code; the signer confirms on the phone
    sign_in(browser, base, "school1_staff")
    browser.get(f"{base}/certificates/")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=site-sign]").click()
    qr = browser.find_element(By.CSS_SELECTOR, "[data-testid=signoff-qr]")
    assert qr.get_attribute("src").startswith("data:image/png;base64,")
    url = qr.get_attribute("data-url")
    shot("certificates-signoff-qr")

    sign_in(phone, base, "school1")
    phone.get(url)
    summary = phone.find_element(By.CSS_SELECTOR, "[data-testid=signoff-summary]").text
    assert "3 份" in summary and "周一" in summary
    button = phone.find_element(By.CSS_SELECTOR, "[data-testid=confirm-signoff]")
    # on a phone-sized window the page (menu first) is long; headless Chromium reports the
    # scrolled button as covered, so press it the way a tap would after scrolling
    phone.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", button)
    assert "已确认签发 3 份证书" in phone.find_element(By.CSS_SELECTOR, "[data-testid=signoff-confirmed]").text

    # the first screen notices and moves on by itself
    WebDriverWait(browser, 10).until(EC.text_to_be_present_in_element(
        (By.CSS_SELECTOR, "[data-testid=flash]"), "签发负责人已扫码确认"))
    assert _state_count(browser, "待发放") == "3"
    # the same QR code again is refused
    phone.get(url)
    assert "已被使用" in phone.find_element(By.CSS_SELECTOR, "[data-testid=signoff-refused]").text

    # the org uploads the seal and issues; the job finishes
    seal = tmp_path / "seal.png"
    seal.write_bytes(demo_seal_png("评价组织"))
    sign_in(browser, base, "org")
    browser.get(f"{base}/certificates/seals")
    browser.find_element(By.NAME, "image").send_keys(str(seal))
    browser.find_element(By.CSS_SELECTOR, "#seal-form [type=submit]").click()
    WebDriverWait(browser, 5).until(EC.text_to_be_present_in_element(
        (By.CSS_SELECTOR, "[data-testid=flash]"), "电子印章已上传"))
    browser.get(f"{base}/certificates/?plan_id={plan_id}")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=issue]").click()
    browser.switch_to.alert.accept()
    WebDriverWait(browser, 20).until(EC.text_to_be_present_in_element(
        (By.CSS_SELECTOR, "[data-testid=job-state]"), "已完成"))
    shot("certificates-issued-job")
    browser.get(f"{base}/certificates/?plan_id={plan_id}&state=已发放")
    numbers = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "[data-testid=number]")]
    assert len(numbers) == 3 and all(len(n) == 17 for n in numbers)
