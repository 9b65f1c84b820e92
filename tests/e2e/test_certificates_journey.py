"""Issue 12 in a real browser, as one chained journey: the org makes the records and signs, the
school's staff shows the QR code, the signer confirms from a second browser session (the phone),
the first screen moves on by itself, the org uploads the seal and issues, the job finishes; then
the school downloads the zip, one of the issued people downloads their own e-certificate in the
portal, the public verifies by number + ID number and by the QR code's URL, the org revokes and
the public sees 已撤销.

A live server of its own, because the journey changes what others rely on (it issues and
revokes). The demo's final plan is issued by the demo already; three passed results of its
own are added to it (as issue 11's publication leaves them), and one of these people gets a
portal account through the portal's services (school1 opens it, the person activates it).
"""
from __future__ import annotations

import io
import threading
import zipfile
from types import SimpleNamespace

import pytest
from flask_migrate import upgrade
from pypdf import PdfReader
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from werkzeug.serving import make_server

from examadmin import create_app
from examadmin.config import ROOT
from examadmin.demo import load_demo
from examadmin.extensions import db
from tests.certificates.factories import qr_in_pdf
from tests.conftest import dispose
from tests.e2e.downloads import wait_for_download
from tests.e2e.test_journey import sign_in


PASSWORD = "Zhou-2026-cert"


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
        plan_id, site_id, people = _passed_results(names=("周一", "吴二", "郑三"))
        _portal_account(people[0])
        db.session.commit()
        person = (people[0].name, people[0].id_number)
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(base=f"http://127.0.0.1:{server.server_port}", plan_id=plan_id, site_id=site_id,
                          app=app, person=person)
    server.shutdown()
    dispose(app)


def _portal_account(candidate) -> None:
    """school1 opens the person's portal account and the person activates it with a password."""
    from examadmin.core.auth import find_user
    from examadmin.portal import services as portal

    (slip,) = portal.open_accounts(find_user("school1"), [candidate.id])
    portal.activate(candidate.id_number, slip.code, PASSWORD, PASSWORD)


def _passed_results(names) -> tuple[int, int, list]:
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
    people = []
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
        people.append(candidate)
    if db.session.scalar(select(ScorePublication).where(ScorePublication.plan_id == plan.id)) is None:
        db.session.add(ScorePublication(plan_id=plan.id, stage=PublicationStage.FINAL))
    db.session.flush()
    return plan.id, site.id, people


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


def test_certificates_from_records_to_revocation(browser, cert_url, phone, shot, tmp_path):
    from examadmin.certificates.pdf import _qr_matrix, demo_seal_png

    base, plan_id, site_id = cert_url.base, cert_url.plan_id, cert_url.site_id
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

    # the school downloads the plan and site's e-certificates as a zip (a job)
    with cert_url.app.app_context():
        from examadmin.certificates.models import CertificateRecord

        issued = {r.name: (r.id, r.number, r.verify_code) for r in db.session.scalars(
            select(CertificateRecord).where(CertificateRecord.number.in_(numbers)))}
        db.session.remove()
    assert set(issued) == {"周一", "吴二", "郑三"}
    sign_in(browser, base, "school1")
    browser.get(f"{base}/certificates/downloads")
    seen = set(browser.download_dir.iterdir())
    browser.find_element(By.CSS_SELECTOR, f"[data-testid=zip-{plan_id}-{site_id}]").click()
    WebDriverWait(browser, 20).until(EC.text_to_be_present_in_element(
        (By.CSS_SELECTOR, "[data-testid=job-state]"), "已完成"))
    WebDriverWait(browser, 5).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=job-download]"))).click()
    archive = wait_for_download(browser.download_dir, "电子证书_*.zip", seen=seen)
    names = zipfile.ZipFile(archive).namelist()
    assert all(f"{number}_{name}.pdf" in names for name, (_, number, _) in issued.items())
    shot("certificates-zip")

    # 周一 signs in to the portal and downloads their own e-certificate, and only their own
    name, id_number = cert_url.person
    record_id, number, code = issued[name]
    browser.delete_all_cookies()
    browser.get(f"{base}/portal/login")
    browser.find_element(By.NAME, "id_number").send_keys(id_number)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    WebDriverWait(browser, 5).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=portal-name]")))
    browser.get(f"{base}/certificates/mine")
    assert number in browser.find_element(By.CSS_SELECTOR, "[data-testid=my-certificates]").text
    assert all(browser.find_elements(By.CSS_SELECTOR, f"[data-testid=download-{other_id}]") == []
               for other, (other_id, _, _) in issued.items() if other != name)
    seen = set(browser.download_dir.iterdir())
    browser.find_element(By.CSS_SELECTOR, f"[data-testid=download-{record_id}]").click()
    pdf = wait_for_download(browser.download_dir, f"{number}_*.pdf", seen=seen).read_bytes()
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert name in text and number in text and id_number in text
    # its QR code carries this server's verification URL
    qr_url = f"{base}/certificates/v/{code}"
    assert qr_in_pdf(pdf, len(_qr_matrix(qr_url))) == _qr_matrix(qr_url)

    # the public verifies by number + ID number, and by opening the QR code's URL
    answer = _verify(browser, base, number, id_number)
    assert "查验结果：有效" in answer and name in answer and id_number not in answer and "校验通过" in answer
    assert id_number not in browser.current_url
    shot("certificates-verify")
    browser.get(qr_url)
    assert "查验结果：有效" in browser.find_element(By.CSS_SELECTOR, "[data-testid=verify-answer]").text
    mistyped = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert "证书编号有误" in _verify(browser, base, mistyped, id_number)

    # the org sees the verifications and revokes; the public sees 已撤销
    sign_in(browser, base, "org")
    browser.get(f"{base}/certificates/{record_id}/history")
    history = browser.find_element(By.CSS_SELECTOR, "[data-testid=verifications]").text
    assert "编号查询" in history and "扫码查询" in history
    browser.find_element(By.NAME, "reason").send_keys("经核查证书信息有误")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=revoke]").click()
    assert "确认撤销证书" in browser.switch_to.alert.text
    browser.switch_to.alert.accept()
    WebDriverWait(browser, 5).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=revoked]")))
    answer = _verify(browser, base, number, id_number)
    assert "查验结果：已撤销" in answer and "有效期至" not in answer
    browser.get(qr_url)
    assert "已撤销" in browser.find_element(By.CSS_SELECTOR, "[data-testid=verify-answer]").text
    shot("certificates-revoked")


def _verify(browser, base, number, id_number) -> str:
    browser.delete_all_cookies()
    browser.get(f"{base}/certificates/verify")
    browser.find_element(By.NAME, "number").send_keys(number)
    browser.find_element(By.NAME, "id_number").send_keys(id_number)
    browser.find_element(By.CSS_SELECTOR, "[data-testid=verify-submit]").click()
    return WebDriverWait(browser, 5).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=verify-answer]"))).text
