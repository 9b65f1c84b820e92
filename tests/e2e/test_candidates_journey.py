"""Issue 5 in the browser: download the template, import a sheet with a bad row (shown,
nothing imported), import only the valid rows from the kept file, fix and import the rest,
upload photos, verify; a missing photo cannot be confirmed by hand, the dashboard's to-do
list leads to it, a photo fixes it."""
from __future__ import annotations

import io
import re
import zipfile

import openpyxl
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from examadmin.core import idcard
from tests.e2e.downloads import wait_for_download
from tests.e2e.test_journey import sign_in, sign_out


def make_id(born: str, seq: int) -> str:
    first17 = f"500106{born}{seq:03d}"
    return first17 + idcard.check_char(first17)


def upload(browser, live_url, path):
    browser.get(f"{live_url}/candidates/import")
    browser.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(path))
    browser.find_element(By.CSS_SELECTOR, "#import-form [type=submit]").click()
    return WebDriverWait(browser, 20).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=import-summary]"))).text


def test_candidates_import_journey(browser, live_url, shot, tmp_path):
    sign_in(browser, live_url, "school1")
    browser.get(f"{live_url}/candidates/")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=download-template]").click()
    template = wait_for_download(browser.download_dir, "考生导入模板_5150000001*.xlsx")

    workbook = openpyxl.load_workbook(template)
    sheet = workbook["考生信息"]
    good, bad = make_id("20040808", 101), make_id("20040909", 202)
    rows = [["马小云", "居民身份证", good, "", "汉族", "13912345678", "本校考生", "570116K", "心理健康教育", "心理2301",
             "2023101", "2023"],
            ["牛一鸣", "居民身份证", bad[:-1] + ("0" if bad[-1] != "0" else "1"), "", "汉族", "", "本校考生",
             "570116K", "心理健康教育", "心理2301", "2023102", "2023"]]
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            sheet.cell(row=r, column=c, value=value)
    first = tmp_path / "第一次.xlsx"
    workbook.save(first)

    summary = upload(browser, live_url, first)
    assert "未导入任何数据" in summary
    # The job's outcome says so: a refused import is not 已完成.
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=job-state-badge]").text == "未导入"
    assert "导入 0 行，1 处错误" in browser.find_element(By.CSS_SELECTOR, "[data-testid=import-outcome]").text
    errors = browser.find_element(By.CSS_SELECTOR, "[data-testid=import-errors]").text
    assert "3" in errors and "证件号码" in errors and "校验位" in errors
    shot("import-refused")

    # 只导入正确的行, straight from the refused file (no second upload).
    click(browser, "import-valid-only")
    summary = WebDriverWait(browser, 20).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=import-summary]"))).text
    assert "已导入" in summary and "新增 1" in summary
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=job-state-badge]").text == "部分导入"
    browser.get(f"{live_url}/jobs/")
    jobs_table = browser.find_element(By.CSS_SELECTOR, "[data-testid=jobs-table]").text
    assert "第一次.xlsx" in jobs_table and "未导入" in jobs_table and "部分导入" in jobs_table

    sheet.cell(row=3, column=3, value=bad)
    fixed = tmp_path / "改正后.xlsx"
    workbook.save(fixed)
    summary = upload(browser, live_url, fixed)
    assert "已导入" in summary and "新增 1" in summary and "未变 1" in summary

    browser.get(f"{live_url}/candidates/?q=马小云")
    table = browser.find_element(By.CSS_SELECTOR, "[data-testid=candidates-table]").text
    assert "马小云" in table and "信息待认证" in table and good not in table  # the ID is masked in lists
    upload_photos(browser, live_url, tmp_path, good, shot)
    verify_and_confirm(browser, live_url, shot, tmp_path, bad)
    sign_out(browser)


def upload_photos(browser, live_url, tmp_path, number, shot):
    """A zip as schools make it: the photo named by the ID number, plus Mac debris."""
    photo = io.BytesIO()
    Image.new("RGB", (600, 800), (200, 180, 170)).save(photo, "JPEG", quality=90)
    archive = tmp_path / "照片.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"{number}.JPG", photo.getvalue())
        z.writestr("__MACOSX/._x.jpg", b"junk")
        z.writestr("123456789012345678.jpg", photo.getvalue())  # nobody of this school
    browser.get(f"{live_url}/candidates/")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=photos-link]").click()
    browser.find_element(By.CSS_SELECTOR, "#photos-form input[type=file]").send_keys(str(archive))
    browser.find_element(By.CSS_SELECTOR, "#photos-form [type=submit]").click()
    summary = WebDriverWait(browser, 30).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=photos-summary]"))).text
    assert "1" in summary
    refused = browser.find_element(By.CSS_SELECTOR, "[data-testid=photos-errors]").text
    # the refused file is named, its ID number masked like everywhere outside the detail page (PIPL)
    assert "123456********5678.jpg" in refused and "123456789012345678" not in refused
    shot("photos-result")


def open_candidate(browser, live_url, name):
    browser.get(f"{live_url}/candidates/?q={name}")
    browser.find_element(By.LINK_TEXT, "查看").click()
    return WebDriverWait(browser, 5).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=candidate-state]")))


def click(browser, testid):
    element = browser.find_element(By.CSS_SELECTOR, f"[data-testid={testid}]")
    browser.execute_script("window.confirm = () => true;")  # the user answers 确定 to the page's question
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)


def verify_and_confirm(browser, live_url, shot, tmp_path, number):
    """Verify everyone waiting: with a photo the built-in check passes; without one it fails,
    the job page names who and why, and the missing photo cannot be confirmed by hand."""
    browser.get(f"{live_url}/candidates/")
    click(browser, "verify-pending")
    WebDriverWait(browser, 30).until(
        EC.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-testid=job-state]"), "需人工确认"))
    outcome = browser.find_element(By.CSS_SELECTOR, "[data-testid=job-message]").text
    assert re.match(r"认证 \d+ 人：通过 1，需人工确认 \d+", outcome)  # the demo school has others waiting
    failures = browser.find_element(By.CSS_SELECTOR, "[data-testid=verify-failures]")
    assert "牛一鸣" in failures.text and "没有照片" in failures.text
    shot("verify-job-outcome")
    failures.find_element(By.CSS_SELECTOR, "[data-testid=verify-failures-link]").click()
    table = browser.find_element(By.CSS_SELECTOR, "[data-testid=candidates-table]").text
    assert "没有照片" in table and "马小云" not in table  # the reason column of the filtered list

    assert open_candidate(browser, live_url, "马小云").text == "信息准确"
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=photo]").is_displayed()

    # The school's dashboard lists the candidate waiting for it.
    browser.get(f"{live_url}/")
    todo = next(a for a in browser.find_elements(By.CSS_SELECTOR, "[data-testid=todo]") if "需人工确认的考生" in a.text)
    waiting = int(todo.find_element(By.CSS_SELECTOR, "[data-testid=todo-count]").text)
    assert waiting >= 1
    shot("dashboard-todos")
    todo.click()
    assert "state=" in browser.current_url
    assert open_candidate(browser, live_url, "牛一鸣").text == "需人工确认"
    assert "照片" in browser.find_element(By.CSS_SELECTOR, "[data-testid=verify-reasons]").text
    # No manual confirmation of a missing photo: the page says to upload one.
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=confirm]")
    assert "照片问题不能人工确认" in browser.find_element(By.CSS_SELECTOR, "[data-testid=unconfirmable]").text

    upload_photos(browser, live_url, tmp_path, number, shot)
    open_candidate(browser, live_url, "牛一鸣")
    click(browser, "verify")
    WebDriverWait(browser, 10).until(
        EC.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-testid=candidate-state]"), "信息准确"))
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=verify-reasons]")  # the failure box is gone
    shot("candidate-verified-after-photo")
    browser.get(f"{live_url}/")
    left = [a for a in browser.find_elements(By.CSS_SELECTOR, "[data-testid=todo]") if "需人工确认的考生" in a.text]
    assert not left or int(left[0].find_element(By.CSS_SELECTOR, "[data-testid=todo-count]").text) == waiting - 1
