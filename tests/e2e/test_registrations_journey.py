"""Issue 9 in the browser (registration part): the school picks a verified candidate on the
candidate list and registers her at its 初级 site, sees the quota ledger go down, cancels
the registration and sees the place come back. Runs on the demo (吴桐 is left unregistered)."""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.e2e.test_journey import sign_in, sign_out

NAME = "吴桐"


def css(browser, selector):
    return browser.find_element(By.CSS_SELECTOR, selector)


def submit(browser, selector):
    old = browser.find_element(By.TAG_NAME, "html")
    element = css(browser, selector)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)
    WebDriverWait(browser, 10).until(EC.staleness_of(old))


def junior_nursing_used(browser, live_url) -> tuple[int, int]:
    """(已使用, 其中报考占用) of the demo school's 初级 护理 line in the quota ledger."""
    browser.get(f"{live_url}/pilots/quota")
    for row in browser.find_elements(By.CSS_SELECTOR, "[data-testid=quota-table] tbody tr"):
        cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        if "初级" in cells and any("护理" in c for c in cells):
            return int(cells[7]), int(cells[9])
    raise AssertionError("no 初级 护理 line in the ledger")


def test_register_see_the_quota_go_down_cancel_and_see_it_come_back(browser, live_url, shot):
    sign_in(browser, live_url, "school1")
    before = junior_nursing_used(browser, live_url)

    browser.get(f"{live_url}/candidates/?q={NAME}")
    box = css(browser, f"input[name=ids][aria-label='选择 {NAME}']")
    browser.execute_script("arguments[0].click();", box)
    submit(browser, "[data-testid=register-selected]")
    assert "请确保考生信息准确、考核站点正常开启后，再操作报考" in css(browser, "[data-testid=platform-warning]").text
    assert css(browser, f"input[name=ids][data-name='{NAME}']").is_selected()
    plan = Select(css(browser, "[data-testid=reg-plan]"))
    if len(plan.options) == 2:  # the only open plan comes chosen
        assert plan.first_selected_option.get_attribute("value") == plan.options[1].get_attribute("value")
    plan.select_by_index(1)
    site = Select(css(browser, "[data-testid=reg-site]"))
    site.select_by_index(next(i for i, o in enumerate(site.options) if "初级" in o.text))
    shot("registration-form")
    submit(browser, "[data-testid=reg-submit]")
    assert "已报考 1 名考生" in css(browser, "[data-testid=flash]").text
    figures = css(browser, "[data-testid=reg-figures]").text
    assert "初级" in figures
    shot("registrations-list")

    after = junior_nursing_used(browser, live_url)
    assert after == (before[0] + 1, before[1] + 1)

    browser.get(f"{live_url}/registrations/?q={NAME}")
    table = css(browser, "[data-testid=reg-table]")
    assert NAME in table.text and "待缴费" in table.text
    table.find_element(By.LINK_TEXT, "查看").click()
    assert "300.00 元" in css(browser, "[data-testid=reg-fee]").text
    assert "机考" in css(browser, "[data-testid=reg-subjects]").text
    css(browser, "#reason").send_keys("考生因实习冲突放弃本次考试")
    old = browser.find_element(By.TAG_NAME, "html")
    button = css(browser, "[data-testid=cancel-registration]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", button)
    WebDriverWait(browser, 5).until(EC.alert_is_present())
    alert = browser.switch_to.alert
    assert alert.text.startswith(f"确定取消{NAME}报考") and "指标退回本校" in alert.text
    alert.accept()
    WebDriverWait(browser, 10).until(EC.staleness_of(old))
    assert "已取消" in css(browser, "[data-testid=reg-state]").text
    shot("registration-cancelled")

    assert junior_nursing_used(browser, live_url) == before
    browser.get(f"{live_url}/candidates/?q={NAME}")
    assert "初级 · 已取消" in css(browser, "[data-testid=candidate-registrations]").text
    sign_out(browser)


def test_the_province_reads_the_whole_plan_name_and_figures_labelled_per_level(browser, live_url, shot):
    sign_in(browser, live_url, "cq_province")
    browser.get(f"{live_url}/registrations/")
    select = css(browser, "[data-testid=reg-plan-filter]")
    chosen = Select(select).first_selected_option.text
    assert chosen and chosen != "全部考试计划"
    # the text of the chosen plan fits the select: measured as the browser lays it out (font, padding, arrow)
    text_width, box_width = browser.execute_script("""
        const s = arguments[0], style = getComputedStyle(s);
        const ctx = document.createElement('canvas').getContext('2d');
        ctx.font = style.font;
        const inner = s.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return [ctx.measureText(s.options[s.selectedIndex].text).width, inner];""", select)
    assert text_width <= box_width, (chosen, text_width, box_width)
    assert css(browser, "[data-testid=reg-figures-title]").text == "统计（按等级，全部考核站点合计）"
    head = css(browser, "[data-testid=reg-figures] thead").text
    assert "考核站点" not in head
    shot("registrations-province")
    sign_out(browser)
