"""The hours review list in the browser (issue 14 follow-up): bulk 核验 with nothing ticked says
what is missing before it asks for confirmation."""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.test_journey import sign_in


def test_bulk_verify_with_nothing_ticked_says_so_instead_of_asking_to_confirm(browser, live_url):
    sign_in(browser, live_url, "school1")
    browser.get(f"{live_url}/hours/")
    button = browser.find_element(By.CSS_SELECTOR, "[data-testid=bulk-verify]")  # the demo has a 待审核 record
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    WebDriverWait(browser, 5).until(EC.alert_is_present())
    alert = browser.switch_to.alert
    assert alert.text == "请至少选择一条学时记录"  # not the confirmation 确定核验所选学时记录？
    alert.accept()
    assert browser.current_url.endswith("/hours/")  # nothing was submitted
    # Ticked, the confirmation comes, and 核验 goes through.
    box = browser.find_element(By.CSS_SELECTOR, "input[name=record_id]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    box.click()
    browser.find_element(By.CSS_SELECTOR, "[data-testid=bulk-verify]").click()
    WebDriverWait(browser, 5).until(EC.alert_is_present())
    alert = browser.switch_to.alert
    assert alert.text == "确定核验所选学时记录？"
    alert.accept()
    WebDriverWait(browser, 5).until(EC.text_to_be_present_in_element(
        (By.CSS_SELECTOR, "[data-testid=flash]"), "已核验 1 条学时记录"))
