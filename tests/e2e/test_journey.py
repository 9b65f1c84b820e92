"""The browser journey through the system; later capabilities add their steps here."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from examadmin.demo import DEMO_PASSWORD

ROLES = [
    ("admin", "系统管理员", "全国", "用户管理"),
    ("org", "评价组织", "全国", "证书与等级"),
    ("cq_province", "省级教育行政部门", "重庆市", "院校"),
    ("cq_city", "地市级教育局", "沙坪坝区", "院校"),
    ("school1", "试点院校", "重庆示范职业技术学院", "院校"),
    ("candidate", "考生", "重庆示范职业技术学院", "我的首页"),
]


def sign_in(browser, base, username, password=DEMO_PASSWORD):
    browser.delete_all_cookies()
    browser.get(f"{base}/login")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    # Wait for the answer page (the workspace, or the login page with its message).
    WebDriverWait(browser, 5).until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, "[data-testid=whoami], [data-testid=flash]")))


def sign_out(browser):
    browser.find_element(By.CSS_SELECTOR, "[data-testid=logout]").click()
    WebDriverWait(browser, 5).until(EC.presence_of_element_located((By.NAME, "username")))


@pytest.mark.parametrize("username,role_label,scope,menu_item", ROLES)
def test_each_role_signs_in_and_sees_its_workspace(browser, live_url, shot, username, role_label, scope, menu_item):
    sign_in(browser, live_url, username)
    who = WebDriverWait(browser, 5).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=whoami]")))
    assert role_label in who.text and scope in who.text
    menu = browser.find_element(By.TAG_NAME, "aside").text
    if username == "candidate":  # a candidate's home is the portal, not the staff 工作台 and its steps
        assert browser.current_url.endswith("/portal/") and "后台任务" not in menu
        assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=workflow-steps]")
        browser.find_element(By.CSS_SELECTOR, "[data-testid=brand]").click()
        WebDriverWait(browser, 5).until(EC.url_matches(r".*/portal/$"))
    else:
        assert browser.find_element(By.CSS_SELECTOR, "[data-testid=workflow-steps]").text.count("证书") >= 2
    assert menu_item in menu
    # Bootstrap is served by the app itself (the intranet has no internet).
    assert browser.execute_script("return getComputedStyle(document.body).margin") == "0px"
    shot(f"home-{username}")
    sign_out(browser)


def test_wrong_password_gets_the_generic_message(browser, live_url):
    sign_in(browser, live_url, "school1", "not-the-password1")
    flash = browser.find_element(By.CSS_SELECTOR, "[data-testid=flash]")
    assert "用户名或密码错误" in flash.text


def test_org_exports_the_audit_log_and_watches_the_job(browser, live_url, shot):
    sign_in(browser, live_url, "org")
    browser.get(f"{live_url}/audit/")
    assert "登录" in browser.find_element(By.CSS_SELECTOR, "[data-testid=audit-table]").text
    browser.find_element(By.CSS_SELECTOR, "[data-testid=audit-export]").click()
    WebDriverWait(browser, 15).until(
        EC.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-testid=job-state]"), "已完成"))
    link = browser.find_element(By.CSS_SELECTOR, "[data-testid=job-download]")
    assert link.is_displayed() and "审计日志" in link.text
    shot("job-done")
    sign_out(browser)
