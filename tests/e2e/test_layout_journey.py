"""Layout in a real browser: table headers on one line, and the phone's top bar and folding menu."""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.test_journey import sign_in, sign_out


def _header_heights(browser) -> list[tuple[str, float, float]]:
    """Each table header cell: its text, its height and its line height (one line: height < 2 lines)."""
    return browser.execute_script("""
        return Array.from(document.querySelectorAll('.table thead th')).filter(th => th.textContent.trim())
          .map(th => { const s = getComputedStyle(th);
                       return [th.textContent.trim(), th.getBoundingClientRect().height - parseFloat(s.paddingTop)
                               - parseFloat(s.paddingBottom), parseFloat(s.lineHeight) || 24]; });""")


def test_table_headers_stay_on_one_line(browser, live_url, shot):
    sign_in(browser, live_url, "school1")
    browser.set_window_size(1024, 800)  # a narrow laptop: the columns are tight
    try:
        for name, path in [("scheduling", "/scheduling/?plan_id=3"), ("rooms", "/exams/rooms")]:
            browser.get(f"{live_url}{path}")
            heights = _header_heights(browser)
            assert heights, path
            for text, height, line in heights:
                assert height < 1.6 * line, (path, text, height, line)
            shot(f"layout-headers-{name}")
        # a plan whose ticket window is closed: the rooms' 准考证 are not links
        for plan_id in (1, 2, 3):
            browser.get(f"{live_url}/tickets/?plan_id={plan_id}")
            closed = browser.find_elements(By.CSS_SELECTOR, "[data-testid=window-closed]")
            links = browser.find_elements(By.CSS_SELECTOR, "[data-testid=room-tickets]")
            greyed = browser.find_elements(By.CSS_SELECTOR, "[data-testid=room-tickets-closed]")
            assert not (closed and links) and not (greyed and not closed), plan_id
            if greyed:
                assert "准考证下载时间" in greyed[0].get_attribute("title")
            shot(f"layout-tickets-plan{plan_id}")
    finally:
        browser.set_window_size(1366, 900)
    sign_out(browser)


def test_on_a_phone_the_menu_folds_away_and_the_top_bar_is_one_line(browser, live_url, shot):
    browser.set_window_size(390, 844)
    try:
        sign_in(browser, live_url, "school1")
        menu = browser.find_element(By.CSS_SELECTOR, "[data-testid=sidebar]")
        assert not menu.is_displayed()  # the page starts with the work, not the menu
        bar = browser.find_element(By.CSS_SELECTOR, ".app-topbar")
        assert bar.size["height"] < 70, bar.size  # one line: 修改密码 / 退出 are not broken up
        for label in ("修改密码", "退出"):
            link = bar.find_element(By.XPATH, f".//*[normalize-space(text())='{label}']")
            assert link.size["height"] < 40, (label, link.size)
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        shot("layout-phone-closed")
        browser.find_element(By.CSS_SELECTOR, "[data-testid=menu-toggle]").click()
        WebDriverWait(browser, 5).until(lambda _: "show" in menu.get_attribute("class").split()
                                        and "collapsing" not in menu.get_attribute("class"))
        assert "考生" in menu.text
        shot("layout-phone-menu")
        sign_out(browser)
    finally:
        browser.set_window_size(1366, 900)


def test_on_a_phone_the_portals_registrations_read_without_scrolling_sideways(browser, live_url, shot):
    """The candidate's 我的报考 stacks each registration as label: value lines on a phone."""
    browser.set_window_size(390, 844)
    try:
        sign_in(browser, live_url, "candidate")
        browser.get(f"{live_url}/portal/")
        table = browser.find_element(By.CSS_SELECTOR, "[data-testid=portal-registrations]")
        fits = browser.execute_script("const t = arguments[0], box = t.parentElement.getBoundingClientRect();"
                                      "return t.scrollWidth <= box.width + 1", table)
        assert fits
        assert not table.find_element(By.CSS_SELECTOR, "thead").is_displayed()
        assert table.find_element(By.CSS_SELECTOR, "[data-testid=portal-fee]").get_attribute("data-label") == "报考费"
        shot("layout-phone-portal")
        sign_out(browser)
    finally:
        browser.set_window_size(1366, 900)
