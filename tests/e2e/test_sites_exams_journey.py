"""Browser journey of issue 4: a school applies for an exam site, the org rejects it, the
school fixes and resubmits, the org approves; the org publishes a plan; the school sets up
two rooms and sees the seats per session."""
from __future__ import annotations

from datetime import timedelta

from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from examadmin.core.clock import now
from tests.e2e.test_journey import sign_in, sign_out

SITE_NAME = "重庆应用技术职业学院社会心理服务中级"
PLAN_NAME = "浏览器旅程考试计划"


def css(browser, selector):
    return browser.find_element(By.CSS_SELECTOR, selector)


def flash_text(browser) -> str:
    return " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, "[data-testid=flash]"))


def set_value(browser, name, value):
    """Date and time inputs are typed differently per locale; set them as the form would send them."""
    field = browser.find_element(By.NAME, name)
    browser.execute_script("arguments[0].value = arguments[1]", field, value)


def submit(browser, selector):
    """Click and wait until the next page has replaced this one (no reading the old page)."""
    old = browser.find_element(By.TAG_NAME, "html")
    for attempt in range(3):
        try:
            css(browser, selector).click()
            break
        except (StaleElementReferenceException, WebDriverException) as exc:
            # the page was still being replaced by the previous step: find the button again
            if attempt == 2 or "document" not in str(exc) and not isinstance(exc, StaleElementReferenceException):
                raise
            old = browser.find_element(By.TAG_NAME, "html")
    WebDriverWait(browser, 10).until(EC.staleness_of(old))


def click_and_confirm(browser, selector):
    old = browser.find_element(By.TAG_NAME, "html")
    css(browser, selector).click()
    WebDriverWait(browser, 5).until(EC.alert_is_present()).accept()
    WebDriverWait(browser, 10).until(EC.staleness_of(old))


def open_todo(browser, live_url, label):
    """Follow a to-do of the dashboard that says something is waiting (a count of at least 1)."""
    browser.get(f"{live_url}/")
    todos = css(browser, "[data-testid=todos]")
    item = next(a for a in todos.find_elements(By.CSS_SELECTOR, "[data-testid=todo]") if label in a.text)
    assert int(item.find_element(By.CSS_SELECTOR, "[data-testid=todo-count]").text) >= 1
    old = browser.find_element(By.TAG_NAME, "html")
    item.click()
    WebDriverWait(browser, 10).until(EC.staleness_of(old))


def fill(browser, name, value):
    field = browser.find_element(By.NAME, name)
    field.clear()
    field.send_keys(str(value))


def test_site_review_plan_publishing_and_rooms(browser, live_url, shot):
    # The school applies for a 中级 site and forgets the microphones.
    sign_in(browser, live_url, "school2")
    browser.get(f"{live_url}/sites/")
    submit(browser, "[data-testid=site-apply]")
    Select(browser.find_element(By.NAME, "certificate_level_id")).select_by_visible_text(
        "社会心理服务职业技能等级证书（中级）")
    fill(browser, "address", "重庆市沙坪坝区大学城中路 1 号 实训楼")
    fill(browser, "contact_name", "张老师")
    fill(browser, "contact_phone", "023-65001234")
    fill(browser, "computer_rooms", 2)
    fill(browser, "seats", 60)
    for name in ("has_cameras", "has_computers", "has_network", "has_headsets"):
        browser.find_element(By.NAME, name).click()
    submit(browser, "[data-testid=site-form] [type=submit]")
    assert "缺少麦克风" in css(browser, "[data-testid=site-form]").text
    shot("site-form-error")
    browser.find_element(By.NAME, "has_microphones").click()
    submit(browser, "[data-testid=site-form] [type=submit]")
    assert css(browser, "[data-testid=site-name]").text == SITE_NAME
    assert css(browser, "[data-testid=site-state]").text == "待审核"
    site_url = browser.current_url
    sign_out(browser)

    # The org finds it through the to-do list of its dashboard and rejects it with a reason.
    sign_in(browser, live_url, "org")
    open_todo(browser, live_url, "待审核的考核站点")
    assert "state=" in browser.current_url
    queue = css(browser, "[data-testid=sites-table]")
    assert SITE_NAME in queue.text
    shot("site-queue")
    old = browser.find_element(By.TAG_NAME, "html")
    queue.find_element(By.LINK_TEXT, "审核").click()
    WebDriverWait(browser, 10).until(EC.staleness_of(old))
    css(browser, "[data-testid=site-reject-reason]").send_keys("考位数量与机房数量不符，请核实")
    submit(browser, "[data-testid=site-reject]")
    assert css(browser, "[data-testid=site-state]").text == "已驳回"
    sign_out(browser)

    # The school sees the rejection waiting on its dashboard, reads the reason, fixes the
    # seats and resubmits the same application.
    sign_in(browser, live_url, "school2")
    open_todo(browser, live_url, "被驳回的考核站点申请")
    assert SITE_NAME in css(browser, "[data-testid=sites-table]").text
    browser.get(site_url)
    assert "考位数量与机房数量不符" in css(browser, "[data-testid=site-reason]").text
    submit(browser, "[data-testid=site-edit]")
    fill(browser, "seats", 80)
    submit(browser, "[data-testid=site-form] [type=submit]")
    assert "重新提交" in flash_text(browser)
    assert css(browser, "[data-testid=site-state]").text == "待审核" and browser.current_url == site_url
    sign_out(browser)

    # The org approves.
    sign_in(browser, live_url, "org")
    browser.get(site_url)
    click_and_confirm(browser, "[data-testid=site-approve]")
    WebDriverWait(browser, 5).until(
        EC.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-testid=site-state]"), "已通过"))
    assert "审核通过" in css(browser, "[data-testid=site-history]").text
    shot("site-approved")

    # The org creates a plan with two 中级 sessions and publishes it.
    day = (now() + timedelta(days=40)).date()
    at = lambda days, clock: f"{day + timedelta(days=days):%Y-%m-%d}T{clock}"  # noqa: E731
    browser.get(f"{live_url}/exams/plans")
    submit(browser, "[data-testid=plan-new]")
    fill(browser, "name", PLAN_NAME)
    Select(browser.find_element(By.NAME, "certificate_id")).select_by_visible_text("社会心理服务职业技能等级证书")
    for name, value in (("registration_start", at(-39, "09:00")), ("registration_end", at(-20, "17:00")),
                        ("payment_deadline", at(-10, "17:00")), ("ticket_start", at(-7, "09:00")),
                        ("ticket_end", at(1, "17:00"))):
        set_value(browser, name, value)
    fill(browser, "fee_middle", "400")
    submit(browser, "[data-testid=plan-form] [type=submit]")
    for offset in (0, 1):
        set_value(browser, "date", f"{day + timedelta(days=offset):%Y-%m-%d}")
        set_value(browser, "start_time", "14:00")
        set_value(browser, "end_time", "16:00")
        Select(browser.find_element(By.NAME, "level")).select_by_visible_text("中级")
        subjects = Select(browser.find_element(By.NAME, "subject_id"))
        # only the chosen level's subjects are offered
        assert [o.text.split(" · ")[0] for o in subjects.options[1:]] == ["中级"]
        subjects.select_by_index(1)  # the 中级 subject
        submit(browser, "[data-testid=session-form] [type=submit]")
        assert "已添加考试场次" in flash_text(browser)
    assert css(browser, "[data-testid=sessions-table]").text.count("14:00-16:00") == 2
    click_and_confirm(browser, "[data-testid=plan-publish]")
    WebDriverWait(browser, 5).until(
        # published: the badge tells the plan's stage (未开始报考 / 报考中 / 报考已截止), no longer 草稿
        EC.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-testid=plan-stage]"), "报考"))
    shot("plan-published")
    sign_out(browser)

    # The school sees the plan read-only and sets up two rooms at its new site.
    sign_in(browser, live_url, "school2")
    browser.get(f"{live_url}/exams/plans")
    old = browser.find_element(By.TAG_NAME, "html")
    css(browser, "[data-testid=plans-table]").find_element(By.LINK_TEXT, PLAN_NAME).click()
    WebDriverWait(browser, 10).until(EC.staleness_of(old))
    assert "400.00 元" in css(browser, "[data-testid=plan-facts]").text
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=session-form]")
    for name, seats in (("实训楼 301", 40), ("实训楼 302", 35)):
        browser.get(f"{live_url}/exams/rooms")
        submit(browser, "[data-testid=room-new]")
        # One page: choosing the plan fills the sites, choosing the site the subjects (no reload).
        form = css(browser, "[data-testid=room-form]")
        Select(browser.find_element(By.NAME, "plan_id")).select_by_visible_text(
            f"{PLAN_NAME}（社会心理服务职业技能等级证书）")
        WebDriverWait(browser, 10).until(
            EC.text_to_be_present_in_element((By.NAME, "site_id"), SITE_NAME))
        Select(browser.find_element(By.NAME, "site_id")).select_by_visible_text(SITE_NAME)
        WebDriverWait(browser, 10).until(
            lambda b: len(Select(b.find_element(By.NAME, "subject_id")).options) > 1)
        assert form == css(browser, "[data-testid=room-form]")  # the same page, not reloaded
        Select(browser.find_element(By.NAME, "subject_id")).select_by_index(1)
        assert "机房" in Select(browser.find_element(By.NAME, "subject_id")).first_selected_option.text
        fill(browser, "name", name)
        fill(browser, "seats", seats)
        submit(browser, "[data-testid=room-form] [type=submit]")
        assert f"考场「{name}」已保存" in flash_text(browser)
    rooms = css(browser, "[data-testid=rooms-table]").text
    assert "实训楼 301" in rooms and "实训楼 302" in rooms
    seats = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "[data-testid=session-seats]")]
    assert seats == ["75", "75"]  # both 中级 sessions of the plan at the new site
    shot("rooms-overview")
    sign_out(browser)
