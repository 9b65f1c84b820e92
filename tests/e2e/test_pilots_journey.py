"""Issue 3 in the browser: draft and submit, city passes, province returns, school fixes
and resubmits, province approves; the quota ledger shows the approved places."""
from __future__ import annotations

import re

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.e2e.test_journey import sign_in, sign_out


def state(browser) -> str:
    return browser.find_element(By.CSS_SELECTOR, "[data-testid=app-state]").text


def click(browser, testid, confirm=False):
    element = browser.find_element(By.CSS_SELECTOR, f"[data-testid={testid}]")
    if confirm:  # the page asks "确认…？" first; answer yes, as the user would
        browser.execute_script("window.confirm = () => true;")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)


def test_pilot_application_journey(browser, live_url, shot):
    sign_in(browser, live_url, "school1")
    browser.get(f"{live_url}/pilots/plans")
    rows = browser.find_elements(By.CSS_SELECTOR, "[data-testid=plans-table] tbody tr")
    chongqing = next(r for r in rows if "重庆市" in r.text)
    assert "进行中" in chongqing.text and "是" in chongqing.text
    chongqing.find_element(By.LINK_TEXT, "立即申报").click()

    Select(browser.find_element(By.NAME, "certificate_level_id")).select_by_visible_text("社会心理服务职业技能等级证书（高级）")
    # The major picker is searched by typing (its list offers the catalogue); the code is enough.
    browser.find_element(By.CSS_SELECTOR, "[data-testid=major-0]").send_keys("570116K")
    for field, value in (("students", "100"), ("teachers", "5"), ("requested", "120")):
        browser.find_element(By.CSS_SELECTOR, f"[data-testid={field}-0]").send_keys(value)
    # Totals follow the typing; a row is added in place and what was typed stays.
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=total-requested]").text == "120"
    rows_before = len(browser.find_elements(By.CSS_SELECTOR, "#lines tbody tr"))
    browser.find_element(By.CSS_SELECTOR, "[data-testid=add-row]").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#lines tbody tr")) == rows_before + 1
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=major-0]").get_attribute("value") == "570116K"
    browser.find_element(By.CSS_SELECTOR, f"[data-testid=students-{rows_before}]").send_keys("7")
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=total-students]").text == "107"
    browser.find_element(By.CSS_SELECTOR, f"[data-testid=students-{rows_before}]").clear()
    click(browser, "save-draft")
    assert "不能超过在校学生数" in browser.find_element(By.CSS_SELECTOR, "[data-testid=flash]").text
    requested = browser.find_element(By.CSS_SELECTOR, "[data-testid=requested-0]")
    requested.clear()
    requested.send_keys("60")
    click(browser, "save-draft")
    assert state(browser) == "未提交"
    app_url = browser.current_url
    app_id = re.search(r"/applications/(\d+)", app_url).group(1)
    click(browser, "submit")
    assert state(browser) == "市级审核中"
    sign_out(browser)

    sign_in(browser, live_url, "cq_city")
    browser.get(app_url)
    click(browser, "pass")
    assert state(browser) == "省级审核中"
    sign_out(browser)

    sign_in(browser, live_url, "cq_province")
    browser.get(f"{live_url}/pilots/applications?state=省级审核中")
    assert f"{app_id}" in browser.find_element(By.CSS_SELECTOR, "[data-testid=applications-table]").text
    browser.get(app_url)
    browser.find_element(By.CSS_SELECTOR, "[data-testid=reason]").send_keys("在校学生数与学籍系统不一致，请核对")
    click(browser, "return")
    assert state(browser) == "审核退回"
    sign_out(browser)

    sign_in(browser, live_url, "school1")
    browser.get(app_url)
    assert "请核对" in browser.find_element(By.CSS_SELECTOR, "[data-testid=return-reason]").text
    click(browser, "edit")
    students = browser.find_element(By.CSS_SELECTOR, "[data-testid=students-0]")
    students.clear()
    students.send_keys("90")
    click(browser, "save-submit")
    assert state(browser) == "省级审核中"  # returned by the province: back to the province
    assert browser.current_url == app_url
    sign_out(browser)

    sign_in(browser, live_url, "cq_province")
    browser.get(app_url)
    approved = browser.find_element(By.CSS_SELECTOR, "[data-testid=approved-0]")
    approved.clear()
    approved.send_keys("55")
    click(browser, "approve", confirm=True)
    assert state(browser) == "审核通过"
    history = browser.find_element(By.CSS_SELECTOR, "[data-testid=history]").text
    for step in ("提交试点申报", "地市审核通过", "退回试点申报", "审核通过试点申报"):
        assert step in history
    shot("pilots-approved")
    browser.get(f"{live_url}/pilots/quota")
    ledger = browser.find_element(By.CSS_SELECTOR, "[data-testid=quota-table]").text
    assert "高级" in ledger and "心理健康教育" in ledger and "55" in ledger
    sign_out(browser)
