"""Admission tickets: the PDF's content, who may download what, and when."""
from __future__ import annotations

import io
import json
import logging
import re
from datetime import datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from examadmin.core import clock, pdf
from examadmin.core.jobs import Job, JobState
from examadmin.extensions import db
from examadmin.registrations.states import RegistrationState
from examadmin.tickets import services
from tests.conftest import login_as
from tests.scheduling.ticket_factories import IN_WINDOW, make_candidate, make_proctor_user, make_scheduled, place
from tests.sites.factories import make_user


@pytest.fixture
def in_window(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: IN_WINDOW)


def pdf_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def candidate_user(s, registration):
    user = make_user("candidate", school=registration.candidate.school)
    user.candidate_id = registration.candidate_id
    db.session.flush()
    return user


def test_a_ticket_shows_the_candidate_in_chinese_with_an_embedded_font(client, in_window):
    s = make_scheduled(2)
    registration, ticket = s.registrations[0], s.tickets[0]
    login_as(client, candidate_user(s, registration))
    response = client.get(f"/tickets/mine/{registration.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "陈晓明" in text and ticket.ticket_number in text
    assert "实训楼 301" in text and "须持本人准考证和有效身份证原件到准考证指定的考点参加考试" in text
    assert "如有调整或新增，以准考证信息为准" in text
    # the ID number is masked on the ticket, as everywhere outside the detail page
    number = registration.candidate.id_number
    assert number not in text and f"{number[:6]}********{number[-4:]}" in text
    # the Chinese font is embedded (a TrueType subset), so every viewer shows it
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = [f.get_object() for f in fonts.values()]
    assert any("/FontFile2" in str(f["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object())
               if "/DescendantFonts" in f else "/FontDescriptor" in f and "/FontFile2" in f["/FontDescriptor"].get_object()
               for f in embedded)
    # the photo and the QR code are images on the page
    assert len(reader.pages[0].images) >= 2


def test_without_a_truetype_font_the_cid_font_is_used_with_a_warning(monkeypatch, caplog, in_window):
    monkeypatch.setattr(pdf, "FONT_CANDIDATES", ("/nonexistent/font.ttc",))
    monkeypatch.delenv("PDF_FONT_PATH", raising=False)
    pdf.reset_font_choice()
    try:
        s = make_scheduled(1)
        with caplog.at_level(logging.WARNING, logger="examadmin.core.pdf"):
            buffer = io.BytesIO()
            pages = services.write_plan_tickets(s.school_user, s.plan.id, buffer)
        assert pages == 1
        assert pdf.cjk_font().name == "STSong-Light" and not pdf.cjk_font().embedded
        assert "fonts-wqy-microhei" in caplog.text
        assert b"STSong-Light" in buffer.getvalue()
    finally:
        pdf.reset_font_choice()  # the next document chooses again, with the real font list


def test_the_school_downloads_the_whole_plan_as_a_job_with_progress(client, in_window):
    s = make_scheduled(3)
    login_as(client, s.school_user)
    response = client.post(f"/tickets/plans/{s.plan.id}/job", data={"site_id": s.site.id})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    job = db.session.scalar(select(Job).where(Job.kind == "tickets_pdf").order_by(Job.id.desc()))
    assert job.state == JobState.DONE, job.error
    assert job.result == {"pages": 3} and job.done == job.total == 3
    assert job.result_name == f"准考证-{s.plan.name}-{s.site.name}.pdf"  # names the school knows, not ids
    with client.get(f"/jobs/{job.id}/download") as download:
        texts = pdf_text(download.data)
    assert len(texts) == 3
    assert [t.ticket_number for t in s.tickets] == [next(n for n in [t.ticket_number for t in s.tickets] if n in page)
                                                   for page in texts]


def test_a_room_downloads_only_its_candidates(client, in_window):
    s = make_scheduled(2)
    other_room = __import__("tests.exams.factories", fromlist=["make_room"]).make_room(
        s.school_user, s.plan, s.site, s.subject, name="实训楼 302")
    place(s, make_candidate(s.school_id, "何其他"), 1, room=other_room)
    for _ in range(2):  # the site's tickets are released once every room has its proctors
        make_proctor_user(s, room=other_room)
    login_as(client, s.school_user)
    texts = pdf_text(client.get(f"/tickets/rooms/{s.room.id}/tickets.pdf").data)
    assert len(texts) == 2 and not any("何其他" in t for t in texts)
    texts = pdf_text(client.get(f"/tickets/rooms/{other_room.id}/tickets.pdf").data)
    assert len(texts) == 1 and "何其他" in texts[0]


@pytest.mark.parametrize("moment,word", [(datetime(2030, 6, 12, 9, 0), "尚未开始"),
                                         (datetime(2030, 6, 22, 16, 1), "已经结束")])
def test_tickets_outside_the_window_are_refused_with_the_window(client, monkeypatch, moment, word):
    monkeypatch.setattr(clock, "now", lambda: moment)
    s = make_scheduled(1)
    login_as(client, s.school_user)
    response = client.get(f"/tickets/rooms/{s.room.id}/tickets.pdf", follow_redirects=True)
    body = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert "2030-06-13 09:00 至 2030-06-22 16:00" in body and word in body
    listing = client.get(f"/tickets/?plan_id={s.plan.id}").get_data(as_text=True)
    assert 'data-testid="room-tickets"' not in listing  # no link that only answers 不在下载时间内
    assert 'data-testid="room-tickets-closed"' in listing and "准考证下载时间：2030-06-13 09:00 至 2030-06-22 16:00" in listing
    assert client.post(f"/tickets/plans/{s.plan.id}/job", follow_redirects=True).status_code == 200
    assert db.session.scalar(select(Job).where(Job.kind == "tickets_pdf")) is None
    login_as(client, candidate_user(s, s.registrations[0]))
    body = client.get(f"/tickets/mine/{s.registrations[0].id}.pdf", follow_redirects=True).get_data(as_text=True)
    assert "2030-06-13 09:00 至 2030-06-22 16:00" in body


def _plan_download(listing: str) -> str:
    """The plan download form(s) of the tickets page."""
    start = listing.index('action="/tickets/plans/')
    return listing[listing.rindex("<form", 0, start):listing.index("</form>", start)]


def test_the_plan_download_cannot_be_sent_outside_the_window_and_says_when(client, monkeypatch):
    window = "2030-06-13 09:00 至 2030-06-22 16:00"
    monkeypatch.setattr(clock, "now", lambda: datetime(2030, 6, 12, 9, 0))
    s = make_scheduled(1)
    login_as(client, s.school_user)
    form = _plan_download(client.get(f"/tickets/?plan_id={s.plan.id}").get_data(as_text=True))
    assert "<fieldset disabled>" in form and re.search(r'data-testid="plan-tickets"[^>]*disabled', form)
    assert f'title="不在下载时间内，准考证下载时间：{window}"' in form
    monkeypatch.setattr(clock, "now", lambda: IN_WINDOW)
    listing = client.get(f"/tickets/?plan_id={s.plan.id}").get_data(as_text=True)
    form = _plan_download(listing)
    assert "disabled" not in form and "plan-tickets-closed" not in form and "下载全部准考证" in form


def test_each_session_row_links_its_test_exam_list_as_excel_and_as_csv(client, in_window):
    s = make_scheduled(2)
    login_as(client, s.school_user)
    listing = client.get(f"/tickets/?plan_id={s.plan.id}").get_data(as_text=True)
    links = {fmt: re.search(rf'href="([^"]+)" data-testid="session-test-exam-{fmt}"', listing) for fmt in ("xlsx", "csv")}
    assert all(links.values()), listing
    url = links["csv"].group(1).replace("&amp;", "&")
    assert f"session_id={s.session.id}" in url
    response = client.get(url)
    assert response.mimetype == "text/csv"
    lines = response.data.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("准考证号,姓名,证件号码") and len(lines) == 3
    assert {line.split(",")[0] for line in lines[1:]} == {t.ticket_number for t in s.tickets}


def test_a_candidate_gets_only_their_own_ticket(client, in_window):
    s = make_scheduled(2)
    login_as(client, candidate_user(s, s.registrations[0]))
    assert client.get(f"/tickets/mine/{s.registrations[1].id}.pdf").status_code == 404
    assert client.get(f"/tickets/rooms/{s.room.id}/tickets.pdf").status_code == 404
    assert client.post(f"/tickets/plans/{s.plan.id}/job").status_code in (302, 403)
    assert db.session.scalar(select(Job).where(Job.kind == "tickets_pdf")) is None


def test_another_school_cannot_download_or_see_materials(client, in_window):
    s = make_scheduled(1)
    login_as(client, make_user("school"))
    assert client.get(f"/tickets/rooms/{s.room.id}/tickets.pdf").status_code == 404
    assert client.get(f"/tickets/rooms/{s.room.id}/sessions/{s.session.id}/door-list.pdf").status_code == 404
    body = client.get(f"/tickets/plans/{s.plan.id}/test-exam.csv", follow_redirects=True).get_data(as_text=True)
    assert s.tickets[0].ticket_number not in body


def test_a_cancelled_registration_has_no_ticket(client, in_window):
    s = make_scheduled(2)
    s.registrations[1].state = RegistrationState.CANCELLED
    db.session.flush()
    login_as(client, s.school_user)
    texts = pdf_text(client.get(f"/tickets/rooms/{s.room.id}/tickets.pdf").data)
    assert len(texts) == 1 and s.tickets[1].ticket_number not in texts[0]


def test_no_scheduled_candidates_means_nothing_to_download(in_window):
    s = make_scheduled(0)
    with pytest.raises(Exception) as info:
        services.write_plan_tickets(s.school_user, s.plan.id, io.BytesIO())
    assert "还没有已排考的考生" in str(info.value)


def test_door_list_and_sign_in_sheet_list_the_room_in_seat_order(client, in_window):
    s = make_scheduled(3)
    login_as(client, s.school_user)
    door = client.get(f"/tickets/rooms/{s.room.id}/sessions/{s.session.id}/door-list.pdf")
    text = pdf_text(door.data)[0]
    assert "考 场 门 贴" in text and "实训楼 301" in text
    positions = [text.index(t.ticket_number) for t in s.tickets]
    assert positions == sorted(positions)
    assert text.index("陈晓明") < text.index("李娜") < text.index("王强")
    sheet = client.get(f"/tickets/rooms/{s.room.id}/sessions/{s.session.id}/sign-in.pdf")
    reader = PdfReader(io.BytesIO(sheet.data))
    text = reader.pages[0].extract_text()
    assert "考 生 签 到 表" in text and "考生签名" in text and "王强" in text
    assert len(reader.pages[0].images) == 3  # a photo per candidate
    assert s.registrations[0].candidate.id_number not in text


def test_test_exam_list_as_excel_and_csv_with_masked_ids(client, in_window):
    from python_calamine import CalamineWorkbook

    s = make_scheduled(2)
    s.registrations[1].candidate.name = "=HYPERLINK(1)"
    db.session.flush()
    login_as(client, make_user("org"))
    csv_text = client.get(f"/tickets/plans/{s.plan.id}/test-exam.csv").data.decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0] == "准考证号,姓名,证件号码,场次,科目,考场,座位号"
    number = s.registrations[0].candidate.id_number
    assert s.tickets[0].ticket_number in lines[1] and number not in csv_text and number[-4:] in lines[1]
    assert "'=HYPERLINK(1)" in csv_text
    response = client.get(f"/tickets/plans/{s.plan.id}/test-exam.xlsx?session_id={s.session.id}")
    path = __import__("pathlib").Path(__import__("tempfile").mkdtemp()) / "t.xlsx"
    path.write_bytes(response.data)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[0][:3] == ["准考证号", "姓名", "证件号码"] and len(rows) == 3
    assert rows[1][0] == s.tickets[0].ticket_number and "*" in rows[1][2]
    assert client.get(f"/tickets/plans/{s.plan.id}/test-exam.pdf", follow_redirects=True).status_code == 200


def test_cli_writes_a_plans_tickets(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: IN_WINDOW)
    s = make_scheduled(2)
    db.session.commit()
    out = tmp_path / "tickets.pdf"
    result = cli.invoke(args=["tickets", "--plan", str(s.plan.id), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["pages"] == 2 and data["seconds"] >= 0
    assert len(PdfReader(str(out)).pages) == 2
    monkeypatch.setattr(clock, "now", lambda: datetime(2030, 7, 1))
    result = cli.invoke(args=["tickets", "--plan", str(s.plan.id), "--out", str(out)])
    assert result.exit_code == 1 and "已经结束" in result.output


def test_ids_too_large_for_a_key_are_not_found_not_errors(client, in_window):
    from tests.scheduling.ticket_factories import make_proctor_user

    s = make_scheduled(1)
    big = "9" * 25
    for user in (s.school_user, make_proctor_user(s)):
        login_as(client, user)
        for url in (f"/tickets/rooms/{big}/tickets.pdf", f"/tickets/plans/{big}/test-exam.csv",
                    f"/tickets/checkin/{big}/{big}", f"/tickets/rooms/{s.room.id}/sessions/{big}/door-list.pdf"):
            assert client.get(url).status_code in (403, 404), url
        assert client.get(f"/tickets/?plan_id={big}").status_code in (200, 302)


def test_tickets_wait_for_the_proctor_rule_of_scheduling(client, monkeypatch, in_window):
    """The download asks scheduling's release rule (enough proctors per room) for every site it covers."""
    from examadmin.core.errors import DomainError
    from examadmin.scheduling.services import proctors

    asked = []

    def require_tickets_released(site_id, plan_id):
        asked.append((site_id, plan_id))
        raise DomainError("考场监考人员不足 2 人，准考证暂不发放")

    monkeypatch.setattr(proctors, "require_tickets_released", require_tickets_released)
    s = make_scheduled(1)
    login_as(client, s.school_user)
    body = client.get(f"/tickets/rooms/{s.room.id}/tickets.pdf", follow_redirects=True).get_data(as_text=True)
    assert "监考人员不足" in body and asked == [(s.site.id, s.plan.id)]
    login_as(client, candidate_user(s, s.registrations[0]))
    body = client.get(f"/tickets/mine/{s.registrations[0].id}.pdf", follow_redirects=True).get_data(as_text=True)
    assert "监考人员不足" in body


def test_without_enough_proctors_the_sites_tickets_are_not_released(client, in_window):
    s = make_scheduled(1, proctors=1)
    login_as(client, s.school_user)
    body = client.get(f"/tickets/rooms/{s.room.id}/tickets.pdf", follow_redirects=True).get_data(as_text=True)
    assert "准考证尚未发放" in body and s.room.name in body


@pytest.mark.parametrize("role, shown", [("school", True), ("org", False), ("sysadmin", False)])
def test_the_checkin_button_only_for_roles_that_may_check_in(client, in_window, role, shown):
    s = make_scheduled(1)
    login_as(client, s.school_user if role == "school" else make_user(role))
    listing = client.get("/tickets/").get_data(as_text=True)
    assert ('data-testid="checkin-link"' in listing) is shown
    if shown:
        assert 'data-testid="room-tickets"' in listing  # inside the window the room's tickets are a link


def test_a_candidates_ticket_download_takes_a_fixed_handful_of_queries(client, in_window):
    """The busiest request of the ticket week (bench/rush.py): the registration with what its
    audit record names in one query, and the proctor rule without loading rooms and sessions
    once the site is released."""
    from sqlalchemy import event

    s = make_scheduled(3)
    registration = s.registrations[0]
    login_as(client, candidate_user(s, registration))
    statements = []
    connection = db.session.connection()
    listener = lambda *args, **kwargs: statements.append(args[2])  # noqa: E731
    event.listen(connection, "before_cursor_execute", listener)
    try:
        response = client.get(f"/tickets/mine/{registration.id}.pdf")
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    selects = [q for q in statements if q.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 8, "\n".join(q[:120] for q in selects)


def test_a_drawn_ticket_is_kept_and_drawn_again_when_what_it_shows_changes(client, in_window, monkeypatch):
    """The ticket week downloads each ticket again and again: it is drawn once and kept in
    storage; a change of anything it shows (here the candidate's corrected name and a new
    room name) draws it again and replaces the kept file."""
    from examadmin.core.storage import get_storage

    s = make_scheduled(2)
    registration = s.registrations[0]
    login_as(client, candidate_user(s, registration))
    drawn = []
    real = services.render.render_tickets
    monkeypatch.setattr(services.render, "render_tickets", lambda *a, **kw: drawn.append(1) or real(*a, **kw))
    url = f"/tickets/mine/{registration.id}.pdf"

    first = client.get(url)
    again = client.get(url)
    assert first.status_code == again.status_code == 200
    assert again.data == first.data and len(drawn) == 1
    assert "陈晓明" in pdf_text(again.data)[0]

    registration.candidate.name = "陈晓鸣"
    db.session.flush()
    changed = client.get(url)
    assert len(drawn) == 2
    text = pdf_text(changed.data)[0]
    assert "陈晓鸣" in text and "陈晓明" not in text

    s.room.name = "实训楼 302"
    db.session.flush()
    moved = client.get(url)
    assert len(drawn) == 3 and "实训楼 302" in pdf_text(moved.data)[0]
    # one kept file per registration, holding the newest drawing
    kept = get_storage().read(services.TICKET_CACHE.format(registration_id=registration.id))
    assert kept.endswith(moved.data)
    # the other candidate's ticket is drawn for them, never served from this one
    other = s.registrations[1]
    login_as(client, candidate_user(s, other))
    theirs = client.get(f"/tickets/mine/{other.id}.pdf")
    assert len(drawn) == 4 and "陈晓鸣" not in pdf_text(theirs.data)[0]


def test_a_damaged_kept_ticket_is_drawn_again(client, in_window):
    from examadmin.core.storage import get_storage

    s = make_scheduled(1)
    registration = s.registrations[0]
    login_as(client, candidate_user(s, registration))
    url = f"/tickets/mine/{registration.id}.pdf"
    whole = client.get(url).data
    key = services.TICKET_CACHE.format(registration_id=registration.id)
    kept = get_storage().read(key)
    get_storage().save(key, kept[: len(kept) // 2])  # a half-written file, e.g. a full disk
    response = client.get(url)
    assert response.status_code == 200 and response.data.rstrip().endswith(b"%%EOF")
    assert pdf_text(response.data) == pdf_text(whole)
