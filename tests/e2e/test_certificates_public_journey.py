"""Issue 12 (after issue) in the browser: the school zips and downloads, the candidate downloads their
own, the public verifies by number and by the QR URL, the org revokes and the public sees it.

Until the issuance half is merged, the issued certificates of the demo's scheduled plan are
prepared here as stage three leaves them (tests/certificates/factories.py); the integrator
chains this journey after the issuance journey.
"""
from __future__ import annotations

import time
import zipfile

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from examadmin.core.auth import User
from examadmin.exams.models import ExamPlan
from examadmin.extensions import db
from examadmin.registrations.models import Registration
from examadmin.scores.models import Result
from examadmin.sites.models import ExamSite
from tests.e2e.conftest import _LIVE as LIVE
from tests.e2e.test_journey import sign_in, sign_out


def wait_for_download(folder, pattern: str, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in folder.glob(pattern) if not p.name.endswith(".crdownload")]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no {pattern} downloaded")


def _issue_two():
    """Two issued certificates of school1's demo candidates, the first the demo candidate account's."""
    from tests.certificates.factories_issued import make_record

    app = LIVE["app"]
    with app.app_context():
        account = db.session.scalar(select(User).where(User.username == "candidate"))
        # registrations without a result yet (make_record gives each a passed one): the demo's past
        # plan has its results already
        registrations = db.session.scalars(
            select(Registration).join(ExamPlan, ExamPlan.id == Registration.plan_id)
            .where(Registration.school_id == account.school_id,
                   ~select(Result.id).where(Result.registration_id == Registration.id).exists())
            .order_by((Registration.candidate_id == account.candidate_id).desc(), Registration.id)).all()
        first, second = registrations[0], next(r for r in registrations[1:] if r.plan_id == registrations[0].plan_id)
        plan = db.session.get(ExamPlan, first.plan_id)
        site = db.session.get(ExamSite, first.site_id)
        records = [make_record(plan, site, registration=r) for r in (first, second)]
        data = [(r.id, r.number, r.id_number, r.verify_code, r.name, plan.id, site.id) for r in records]
        db.session.commit()
        db.session.remove()
    return data


def _verify(browser, live_url, number, id_number) -> str:
    browser.delete_all_cookies()
    browser.get(f"{live_url}/certificates/verify")
    browser.find_element(By.NAME, "number").send_keys(number)
    browser.find_element(By.NAME, "id_number").send_keys(id_number)
    browser.find_element(By.CSS_SELECTOR, "[data-testid=verify-submit]").click()
    return WebDriverWait(browser, 5).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=verify-answer]"))).text


def test_certificates_public_journey(browser, live_url, shot):
    (mine_id, number, id_number, code, name, plan_id, site_id), (other_id, *_rest) = _issue_two()

    # the school zips the plan and site's e-certificates (a job) and downloads the zip
    sign_in(browser, live_url, "school1")
    browser.get(f"{live_url}/certificates/downloads")
    browser.find_element(By.CSS_SELECTOR, f"[data-testid=zip-{plan_id}-{site_id}]").click()
    WebDriverWait(browser, 20).until(
        EC.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-testid=job-state]"), "已完成"))
    WebDriverWait(browser, 5).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=job-download]"))).click()
    archive = wait_for_download(browser.download_dir, "电子证书_*.zip")
    names = zipfile.ZipFile(archive).namelist()
    assert f"{number}_{name}.pdf" in names and len(names) >= 2
    shot("certificates-zip")
    sign_out(browser)

    # the candidate downloads their own
    sign_in(browser, live_url, "candidate")
    browser.get(f"{live_url}/certificates/mine")
    table = browser.find_element(By.CSS_SELECTOR, "[data-testid=my-certificates]").text
    assert number in table
    browser.find_element(By.CSS_SELECTOR, f"[data-testid=download-{mine_id}]").click()
    pdf = wait_for_download(browser.download_dir, f"{number}_*.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert browser.find_elements(By.CSS_SELECTOR, f"[data-testid=download-{other_id}]") == []
    sign_out(browser)

    # the public verifies by number + ID number, and by the QR code's URL
    answer = _verify(browser, live_url, number, id_number)
    assert "查验结果：有效" in answer and name in answer and id_number not in answer and "校验通过" in answer
    assert id_number not in browser.current_url
    shot("certificates-verify")
    browser.get(f"{live_url}/certificates/v/{code}")
    assert "查验结果：有效" in browser.find_element(By.CSS_SELECTOR, "[data-testid=verify-answer]").text
    mistyped = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert "证书编号有误" in _verify(browser, live_url, mistyped, id_number)

    # the org sees the verifications and revokes; the public sees it
    sign_in(browser, live_url, "org")
    browser.get(f"{live_url}/certificates/{mine_id}/history")
    history = browser.find_element(By.CSS_SELECTOR, "[data-testid=verifications]").text
    assert "编号查询" in history and "扫码查询" in history
    browser.find_element(By.NAME, "reason").send_keys("演示：经核查证书信息有误")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=revoke]").click()
    WebDriverWait(browser, 5).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=revoked]")))
    sign_out(browser)
    answer = _verify(browser, live_url, number, id_number)
    assert "查验结果：已撤销" in answer
    browser.get(f"{live_url}/certificates/v/{code}")
    assert "已撤销" in browser.find_element(By.CSS_SELECTOR, "[data-testid=verify-answer]").text
    shot("certificates-revoked")
