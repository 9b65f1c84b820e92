"""Issue 14 in the browser: the demo holder short of hours (holder2) records hours, the school
verifies them, the holder applies for re-registration with the signed form, the city and the
province approve, and public verification shows the new validity."""
from __future__ import annotations

from datetime import timedelta

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from examadmin.core import clock
from tests.e2e.downloads import wait_for_download
from tests.e2e.test_journey import sign_in

PNG = "学时证明.png"


def _wait_text(browser, css: str, text: str, timeout: float = 8) -> None:
    WebDriverWait(browser, timeout).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))


def _click(browser, element) -> None:
    """Scroll the element into view first (a fixed footer or the menu may cover it otherwise)."""
    from selenium.common.exceptions import ElementClickInterceptedException

    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    try:
        element.click()
    except ElementClickInterceptedException:  # e.g. a date picker's popup still over it: click as a script would
        browser.execute_script("arguments[0].click()", element)


def _accept_confirm(browser) -> None:
    WebDriverWait(browser, 5).until(EC.alert_is_present())
    browser.switch_to.alert.accept()


def test_holder_records_hours_school_verifies_holder_applies_city_and_province_approve(
        browser, live_url, shot, tmp_path):
    from examadmin.certificates.pdf import demo_seal_png

    evidence = tmp_path / PNG
    evidence.write_bytes(demo_seal_png("学时证明"))
    today = clock.now().date()
    days = [today.isoformat(), (today - timedelta(days=1)).isoformat()]  # at most 24 hours a day

    # 1. holder2 (60 verified hours) cannot apply yet: the page says how many are missing.
    sign_in(browser, live_url, "holder2")
    size = browser.get_window_size()
    browser.set_window_size(400, 800)  # a phone: the state and the button fit without scrolling sideways
    browser.get(f"{live_url}/renewals/mine")
    width = browser.execute_script("return document.documentElement.clientWidth")
    for css in ("[data-testid^=phone-apply-]", "[data-testid=my-validity] [data-testid=validity-state]"):
        rect = browser.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.right]",
                                      browser.find_element(By.CSS_SELECTOR, css))
        assert 0 <= rect[0] and rect[1] <= width, (css, rect, width)
    shot("renewal-mine-phone")
    browser.set_window_size(size["width"], size["height"])
    browser.get(f"{live_url}/renewals/mine")
    assert "待再登记" in browser.find_element(By.CSS_SELECTOR, "[data-testid=my-validity]").text
    _click(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid^=apply-]"))
    _wait_text(browser, "[data-testid=hours-short]", "还差 30.0 学时")
    shot("renewal-short")

    # 2. The holder records 24 + 6 hours of continuing education in the portal (part A's page).
    for hours, day in (("24", days[0]), ("6", days[1])):
        browser.get(f"{live_url}/hours/mine")
        form = browser.find_element(By.ID, "hours-form")
        form.find_element(By.NAME, "kind").send_keys("继续教育")
        date_input = form.find_element(By.NAME, "date")
        browser.execute_script("arguments[0].value = arguments[1]", date_input, day)
        form.find_element(By.NAME, "provider").send_keys("重庆市心理学会继续教育中心")
        form.find_element(By.NAME, "hours").send_keys(hours)
        form.find_element(By.NAME, "evidence").send_keys(str(evidence))
        _click(browser, form.find_element(By.CSS_SELECTOR, "[type=submit]"))
        WebDriverWait(browser, 8).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=flash]")))
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=my-hours]").text.count("待审核") == 2

    # 3. The school verifies both.
    sign_in(browser, live_url, "school1")
    browser.get(f"{live_url}/hours/?state=待审核")
    rows = [r for r in browser.find_elements(By.CSS_SELECTOR, "[data-testid=hours-table] tbody tr")
            if "重庆市心理学会继续教育中心" in r.text and any(d in r.text for d in days)]
    assert len(rows) == 2
    for row in rows:
        _click(browser, row.find_element(By.CSS_SELECTOR, "input[type=checkbox]"))
    _click(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=bulk-verify]"))
    _accept_confirm(browser)
    WebDriverWait(browser, 8).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=flash]")))

    # 4. The holder now has 90 hours, starts the application, downloads the form, uploads it signed, submits.
    sign_in(browser, live_url, "holder2")
    browser.get(f"{live_url}/renewals/mine")
    _click(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid^=apply-]"))
    _wait_text(browser, "[data-testid=cycle-hours]", "90.0")
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid=hours-ok]")
    _click(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=start-application]"))
    WebDriverWait(browser, 8).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=form-pdf]")))
    application_url = browser.current_url
    _click(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=form-pdf]"))
    form_pdf = wait_for_download(browser.download_dir, "再登记申请表_*.pdf")
    assert form_pdf.read_bytes().startswith(b"%PDF")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=upload-signed_form]").send_keys(str(form_pdf))
    _click(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=upload-signed_form-button]"))
    WebDriverWait(browser, 8).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=file-signed_form]")))
    _click(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=submit]"))
    _wait_text(browser, "[data-testid=application-state]", "市级审核中")
    shot("renewal-submitted")

    # 5. The city (沙坪坝区) passes it on; the province approves.
    sign_in(browser, live_url, "cq_city")
    browser.get(application_url)
    hour_rows = browser.find_elements(By.CSS_SELECTOR, "[data-testid=hour-record]")
    assert sum("重庆市心理学会继续教育中心" in r.text and any(d in r.text for d in days)
               for r in hour_rows) == 2  # the hours behind the total, today's two among them
    _click(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=pass]"))
    _wait_text(browser, "[data-testid=application-state]", "省级审核中")
    sign_in(browser, live_url, "cq_province")
    browser.get(application_url)
    _click(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=approve]"))
    _accept_confirm(browser)
    _wait_text(browser, "[data-testid=application-state]", "审核通过")
    new_expiry = browser.find_element(By.CSS_SELECTOR, "[data-testid=new-expiry]").text
    assert new_expiry

    # 6. The holder follows it under 我的申请 and the public verification shows the new date.
    sign_in(browser, live_url, "holder2")
    browser.get(f"{live_url}/renewals/mine")
    assert "审核通过" in browser.find_element(By.CSS_SELECTOR, "[data-testid=my-applications]").text
    assert "已再登记" in browser.find_element(By.CSS_SELECTOR, "[data-testid=my-validity]").text
    browser.get(f"{live_url}/certificates/mine")
    number = browser.find_element(By.CSS_SELECTOR, "[data-testid=my-certificates] tbody tr td:nth-child(2)").text
    from sqlalchemy import select

    from examadmin.certificates.models import CertificateRecord
    from examadmin.extensions import db
    from tests.e2e.conftest import _LIVE

    with _LIVE["app"].app_context():
        id_number = db.session.scalar(select(CertificateRecord.id_number).where(CertificateRecord.number == number))
        db.session.remove()
    browser.delete_all_cookies()
    browser.get(f"{live_url}/certificates/verify")
    browser.find_element(By.NAME, "number").send_keys(number)
    browser.find_element(By.NAME, "id_number").send_keys(id_number)
    _click(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=verify-submit]"))
    _wait_text(browser, "[data-testid=verify-valid-until]", new_expiry)
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=verify-validity]").text == "已再登记"
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=verify-status]").text == "查验结果：有效"
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=verify-registration-number]").text.startswith("ZC")
    shot("renewal-verified")
