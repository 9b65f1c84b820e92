"""Browser journey of issue 10 (tickets half): the school downloads the plan's tickets as a
job and one room's door list, opens candidate accounts and hands out slips; the candidate
activates the account and downloads the ticket; a proctor checks candidates in from a
phone-sized window.

Seat scheduling is built in parallel with this journey, so the seats and ticket numbers
are put in place the way scheduling leaves them, on a live server of its own.
"""
from __future__ import annotations

import re
import threading
from datetime import datetime, time as clock_time, timedelta

import pytest
from pypdf import PdfReader
from python_calamine import CalamineWorkbook
from selenium.common.exceptions import ElementClickInterceptedException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from werkzeug.serving import make_server

from examadmin import create_app
from examadmin.candidates.models import Candidate
from examadmin.catalog.models import Level
from examadmin.config import ROOT
from examadmin.core import auth, clock
from examadmin.core.auth import SYSTEM, User
from examadmin.demo import DEMO_PASSWORD, load_demo
from examadmin.exams.models import Subject
from examadmin.exams.services import plans, rooms
from examadmin.extensions import db
from examadmin.registrations.models import Registration
from examadmin.registrations.states import RegistrationState
from examadmin.scheduling.models import AdmissionTicket, Proctor, ProctorAssignment, Seat
from examadmin.sites.models import ExamSite
from tests.conftest import dispose
from tests.e2e.downloads import wait_for_download
from tests.e2e.test_journey import sign_in, sign_out

PLAN_NAME = "浏览器旅程准考证计划"
NEW_PASSWORD = "kaosheng2030"


def _schedule_demo_candidates() -> dict:
    """A plan whose ticket window is open and whose session runs today, three demo candidates
    of school1 seated in one room with ticket numbers, and a proctor assigned to it."""
    user = lambda name: db.session.scalar(select(User).where(User.username == name))  # noqa: E731
    org, school = user("org"), user("school1")
    site = db.session.scalar(select(ExamSite).where(ExamSite.school_id == school.school_id))
    subject = db.session.scalar(select(Subject).where(Subject.certificate_level_id == site.certificate_level_id))
    today = clock.now().date()
    at = lambda days, hour: datetime.combine(today + timedelta(days=days), clock_time(hour))  # noqa: E731
    plan = plans.save_plan(org, {
        "name": PLAN_NAME, "certificate_id": site.certificate_level.certificate_id,
        "registration_start": at(-30, 9), "registration_end": at(-20, 17), "payment_deadline": at(-15, 17),
        "ticket_start": at(-2, 9), "ticket_end": at(5, 16), "fee_junior": "300", "fee_middle": "400"})
    plans.add_session(org, plan.id, {"date": today, "start_time": "00:00", "end_time": "23:59",
                                     "level": Level.JUNIOR, "subject_id": subject.id})
    plans.publish_plan(org, plan.id)
    session = plan.sessions[0]
    room = rooms.save_room(school, {"plan_id": plan.id, "site_id": site.id, "subject_id": subject.id,
                                    "name": "实训楼 301", "seats": 30})
    room.scheduled = True
    people = db.session.scalars(select(Candidate).where(Candidate.school_id == school.school_id)
                                .order_by(Candidate.id).limit(3)).all()
    numbers, tokens_by_name = {}, {}
    for seat_number, candidate in enumerate(people, start=1):
        registration = Registration(
            plan_id=plan.id, candidate_id=candidate.id, school_id=school.school_id, site_id=site.id,
            certificate_level_id=site.certificate_level_id, id_type=candidate.id_type,
            id_number=candidate.id_number, kind=candidate.kind, fee=300, state=RegistrationState.SCHEDULED)
        db.session.add(registration)
        db.session.flush()
        number = f"{today.year}{plan.id:03d}{site.id:03d}{room.id:03d}{seat_number:03d}{seat_number}"
        db.session.add_all([
            Seat(registration_id=registration.id, plan_id=plan.id, school_id=school.school_id, site_id=site.id,
                 subject_id=subject.id, session_id=session.id, room_id=room.id, seat_number=seat_number),
            AdmissionTicket(registration_id=registration.id, plan_id=plan.id, school_id=school.school_id,
                            ticket_number=number)])
        numbers[candidate.name] = (number, candidate.id_number)
        tokens_by_name[candidate.name] = registration.id
    proctor_user = auth.create_user(SYSTEM, username="proctor_demo", name="周监考", role="proctor",
                                    password=DEMO_PASSWORD, school_id=school.school_id, must_change_password=False)
    proctor = Proctor(school_id=school.school_id, name="周监考", phone="13800000000", id_number="500106199001011234",
                      user_id=proctor_user.id)
    db.session.add(proctor)
    db.session.flush()
    db.session.add(ProctorAssignment(proctor_id=proctor.id, room_id=room.id, session_id=session.id,
                                     school_id=school.school_id))
    # a second proctor: the site's tickets are released with two in every room (MIN_PROCTORS_PER_ROOM)
    second = Proctor(school_id=school.school_id, name="吴监考", phone="13800000001", id_number="500106199002021238")
    db.session.add(second)
    db.session.flush()
    db.session.add(ProctorAssignment(proctor_id=second.id, room_id=room.id, session_id=session.id,
                                     school_id=school.school_id))
    db.session.commit()
    from examadmin.tickets.data import load_tickets

    tokens = {name: load_tickets(Registration.id == rid)[0].token for name, rid in tokens_by_name.items()}
    return {"plan_id": plan.id, "room_id": room.id, "session_id": session.id, "numbers": numbers,
            "tokens": tokens}


@pytest.fixture(scope="module")
def tickets_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e-tickets")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/e2e.db", "STORAGE_DIR": str(tmp / "storage"),
        "RATELIMIT_ENABLED": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "HUEY_IMMEDIATE": True,
    })
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        load_demo()
        db.session.commit()
        data = _schedule_demo_candidates()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", data
    server.shutdown()
    dispose(app)


def css(browser, selector):
    return browser.find_element(By.CSS_SELECTOR, selector)


def click(browser, selector):
    """Scroll the element to the middle first: on a phone the menu sits above the content."""
    element = css(browser, selector)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    try:
        element.click()
    except ElementClickInterceptedException:
        # on a phone-sized window the status panel of the last scan may still cover the button
        browser.execute_script("arguments[0].click()", element)


def submit(browser, selector):
    old = browser.find_element(By.TAG_NAME, "html")
    click(browser, selector)
    WebDriverWait(browser, 10).until(EC.staleness_of(old))


def test_tickets_accounts_and_check_in(browser, tickets_site, shot):
    url, data = tickets_site
    # 陈同学 is the demo's `candidate`, whose portal account is open and active already
    first_name = next(name for name in data["numbers"] if name != "陈同学")
    first_number, first_id = data["numbers"][first_name]

    # The school downloads the whole plan's tickets: a job with progress, then one PDF.
    sign_in(browser, url, "school1")
    browser.get(f"{url}/tickets/")
    assert PLAN_NAME in css(browser, "[data-testid=plan-select]").text
    assert css(browser, "[data-testid=window-open]").is_displayed()
    assert "实训楼 301" in css(browser, "[data-testid=rooms-table]").text
    shot("tickets-school")
    submit(browser, "[data-testid=plan-tickets]")
    WebDriverWait(browser, 30).until(
        EC.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-testid=job-state]"), "已完成"))
    css(browser, "[data-testid=job-download]").click()
    pdf = wait_for_download(browser.download_dir, f"准考证-{PLAN_NAME}*.pdf", timeout=20)
    reader = PdfReader(str(pdf))
    assert len(reader.pages) == 3
    pages = [page.extract_text() for page in reader.pages]
    assert any(first_name in text and first_number in text for text in pages)

    # The door list of the room, in seat order.
    browser.get(f"{url}/tickets/?plan_id={data['plan_id']}")
    css(browser, "[data-testid=door-list]").click()
    door = wait_for_download(browser.download_dir, "考场门贴-*.pdf")
    assert first_number in PdfReader(str(door)).pages[0].extract_text()

    # Candidate accounts: open them all and download the activation slips.
    browser.get(f"{url}/portal/accounts")
    css(browser, "[data-testid=open-all]").click()
    slips = wait_for_download(browser.download_dir, "考生账号激活通知单-*.xlsx")
    rows = CalamineWorkbook.from_path(str(slips)).get_sheet_by_index(0).to_python()
    code, shown_id = next((row[4], row[3]) for row in rows[1:] if row[0] == first_name)
    assert first_id not in str(rows) and shown_id == "*" * 14 + first_id[-4:]  # masked except the last four
    # the page reloads by itself once the slips have arrived: the accounts now read 待激活
    WebDriverWait(browser, 20).until(
        EC.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-testid=accounts-table]"), "待激活"))
    assert "激活码只在这份通知单中" in browser.find_element(By.TAG_NAME, "main").text
    sign_out(browser)

    # The candidate follows the sign-in page's hint, activates the account and downloads the ticket.
    browser.delete_all_cookies()
    browser.get(f"{url}/login")
    css(browser, "[data-testid=portal-login-link]").click()
    css(browser, "[data-testid=activate-link]").click()
    for name, value in (("id_number", first_id), ("code", code), ("password", NEW_PASSWORD),
                        ("confirm", NEW_PASSWORD)):
        browser.find_element(By.NAME, name).send_keys(value)
    submit(browser, "form [type=submit]")
    assert first_name in css(browser, "[data-testid=portal-name]").text
    assert first_number in css(browser, "[data-testid=portal-ticket]").text
    shot("portal-candidate")
    css(browser, "[data-testid=download-ticket]").click()
    own = wait_for_download(browser.download_dir, f"准考证-{first_number}.pdf")
    text = PdfReader(str(own)).pages[0].extract_text()
    assert first_name in text and first_number in text
    sign_out(browser)
    # from now on: ID number and password
    browser.get(f"{url}/portal/login")
    browser.find_element(By.NAME, "id_number").send_keys(first_id)
    browser.find_element(By.NAME, "password").send_keys(NEW_PASSWORD)
    submit(browser, "form [type=submit]")
    assert first_name in css(browser, "[data-testid=portal-name]").text
    sign_out(browser)

    # A proctor on a phone checks candidates in at the door.
    browser.set_window_size(390, 844)
    try:
        sign_in(browser, url, "proctor_demo")
        shot("checkin-stations-phone")
        submit(browser, "[data-testid=station]")
        # the camera test of this module may have checked another candidate in first (random order)
        before = int(re.search(r"已签到 (\d+) / 3", css(browser, "[data-testid=checkin-count]").text).group(1))
        assert before in (0, 1)
        field = css(browser, "[data-testid=ticket-number-input]")
        field.send_keys(first_number)
        submit(browser, "[data-testid=checkin-submit]")
        assert "签到成功" in css(browser, "[data-testid=checkin-status]").text
        assert first_name in css(browser, "[data-testid=checkin-name]").text
        assert f"已签到 {before + 1} / 3" in css(browser, "[data-testid=checkin-count]").text
        # the page fits the phone: no sideways scrolling
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        shot("checkin-phone")
        css(browser, "[data-testid=ticket-number-input]").send_keys(first_number)
        submit(browser, "[data-testid=checkin-submit]")
        assert "请勿重复签到" in css(browser, "[data-testid=checkin-status]").text
        css(browser, "[data-testid=ticket-number-input]").send_keys("000000")
        submit(browser, "[data-testid=checkin-submit]")
        assert "找不到准考证号" in css(browser, "[data-testid=checkin-error]").text
    finally:
        browser.set_window_size(1366, 900)


def _camera_video(path, token: str) -> None:
    """A Y4M video for Chromium's fake camera: the ticket's QR code held up in front of it."""
    from PIL import Image

    from examadmin.core.pdf import qr_image

    frame = Image.new("L", (640, 480), 255)
    code = qr_image(token, box=9)
    frame.paste(code, ((640 - code.width) // 2, (480 - code.height) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (320 * 240)
    with open(path, "wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(10):
            out.write(b"FRAME\n" + luma + chroma + chroma)


def test_a_proctor_scans_a_ticket_with_the_phone_camera(browser, tickets_site, tmp_path):
    """The camera path: Chromium's fake camera shows a ticket's QR code; the page decodes it
    (jsQR here: desktop Chromium has no BarcodeDetector) and checks the candidate in."""
    from selenium import webdriver

    from tests.e2e.conftest import CHROMEDRIVER, CHROMIUM

    url, data = tickets_site
    name = list(data["tokens"])[2]  # [1] is checked in by hand in the journey above
    video = tmp_path / "camera.y4m"
    _camera_video(video, data["tokens"][name])
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--window-size=390,844", "--lang=zh-CN", f"--user-data-dir={tmp_path / 'profile'}",
                "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={video}"):
        options.add_argument(arg)
    phone = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        phone.implicitly_wait(3)
        sign_in(phone, url, "proctor_demo")
        submit(phone, "[data-testid=station]")
        click(phone, "#scan-start")
        status = WebDriverWait(phone, 20).until(
            EC.presence_of_element_located((By.CSS_SELECTOR, "#checkin-result .fw-semibold")))
        WebDriverWait(phone, 20).until(lambda d: name in d.find_element(By.ID, "checkin-result").text)
        assert "签到成功" in phone.find_element(By.ID, "checkin-result").text, status.text
        phone.refresh()
        assert "已签到" in css(phone, "[data-testid=checkin-roll]").text
    finally:
        phone.quit()
