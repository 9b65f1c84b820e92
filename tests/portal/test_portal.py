"""The candidate portal: accounts opened by the school, activation, sign-in, the candidate's page."""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

from python_calamine import CalamineWorkbook
from sqlalchemy import select

from examadmin.core import clock
from examadmin.core.auth import User
from examadmin.extensions import db
from examadmin.portal import services
from examadmin.portal.models import PortalAccount
from tests.conftest import login_as
from tests.scheduling.ticket_factories import IN_WINDOW, make_scheduled
from tests.sites.factories import make_user

PASSWORD = "kaosheng2030"


def read_slips(data: bytes) -> list[list]:
    path = Path(tempfile.mkdtemp()) / "slips.xlsx"
    path.write_bytes(data)
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


def open_all(client, school_user) -> dict[str, str]:
    """Open every account of the school through the page; {name: code} from the slips."""
    login_as(client, school_user)
    response = client.post("/portal/accounts/open", data={"scope": "all"})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    rows = read_slips(response.data)
    assert rows[0][:5] == ["姓名", "班级", "学号", "证件号码", "激活码"]
    return {row[0]: row[4] for row in rows[1:]}


def test_the_school_opens_accounts_in_bulk_and_gets_slips_with_masked_ids(client):
    s = make_scheduled(3)
    codes = open_all(client, s.school_user)
    assert set(codes) == {"陈晓明", "李娜", "王强"}
    # a second run opens nothing new
    body = client.post("/portal/accounts/open", data={"scope": "all"}, follow_redirects=True).get_data(as_text=True)
    assert "都已开通账号" in body
    accounts = db.session.scalars(select(PortalAccount)).all()
    assert len(accounts) == 3
    for account in accounts:
        code = codes[account.candidate.name]
        assert len(code) == 9 and code[4] == "-"
        assert account.code_hash and code not in account.code_hash and account.code_hash == services.code_hash(code)
        assert account.user.role == "candidate" and account.user.candidate_id == account.candidate_id
    slip_ids = [row[3] for row in read_slips(services.slips_workbook(
        [services.Slip(a.candidate, "ABCD2345") for a in accounts], "http://x/portal/activate"))[1:]]
    for account, shown in zip(accounts, slip_ids):
        number = account.candidate.id_number
        # masked except the last four (issue 10, item 7): not even the region code shows
        assert shown == "*" * 14 + number[-4:] and number[:6] not in shown
    page = client.get("/portal/accounts").get_data(as_text=True)
    assert page.count("待激活") >= 3


def test_a_school_cannot_open_accounts_for_another_schools_candidates(client):
    s = make_scheduled(1)
    other = make_user("school")
    login_as(client, other)
    body = client.post("/portal/accounts/open", data={"candidate_id": [str(s.registrations[0].candidate_id)]},
                       follow_redirects=True).get_data(as_text=True)
    assert "都已开通账号" in body or "请先选择考生" in body
    assert db.session.scalar(select(PortalAccount)) is None


def test_activation_with_the_code_once_then_id_number_and_password(client):
    s = make_scheduled(1)
    codes = open_all(client, s.school_user)
    candidate = s.registrations[0].candidate
    client.post("/logout")
    fresh = client.application.test_client()
    wrong = fresh.post("/portal/activate", data={"id_number": candidate.id_number, "code": "AAAA-AAAA",
                                                 "password": PASSWORD, "confirm": PASSWORD})
    assert wrong.status_code == 200 and services.GENERIC_ACTIVATION_ERROR in wrong.get_data(as_text=True)
    # a lower-case ID and a code typed without the dash work
    response = fresh.post("/portal/activate", data={"id_number": candidate.id_number.lower(),
                                                    "code": codes[candidate.name].replace("-", "").lower(),
                                                    "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/")
    page = fresh.get("/portal/").get_data(as_text=True)
    assert "陈晓明" in page and "已排考" in page
    account = db.session.scalar(select(PortalAccount))
    db.session.refresh(account)
    assert account.code_hash is None and account.activated_at is not None
    # the code is spent
    again = client.application.test_client().post(
        "/portal/activate", data={"id_number": candidate.id_number, "code": codes[candidate.name],
                                  "password": PASSWORD, "confirm": PASSWORD})
    assert services.GENERIC_ACTIVATION_ERROR in again.get_data(as_text=True)
    # from now on: ID number and password
    other = client.application.test_client()
    bad = other.post("/portal/login", data={"id_number": candidate.id_number, "password": "wrong-pass1"})
    assert services.GENERIC_LOGIN_ERROR in bad.get_data(as_text=True)
    assert bad.headers["Cache-Control"] == "no-store"  # it echoes the number typed
    good = other.post("/portal/login", data={"id_number": candidate.id_number, "password": PASSWORD})
    assert good.status_code == 302
    assert "陈晓明" in other.get("/portal/").get_data(as_text=True)


def test_after_the_slips_download_the_page_learns_it_and_says_what_was_done(client):
    s = make_scheduled(2)
    login_as(client, s.school_user)
    response = client.post("/portal/accounts/open", data={"scope": "all", "download_token": "abc123"})
    response.close()
    assert "download_done=abc123" in " ".join(response.headers.getlist("Set-Cookie"))
    page = client.get("/portal/accounts").get_data(as_text=True)
    assert "已开通 2 个考生账号" in page and "激活码只在这份通知单中" in page and "待激活" in page
    odd = client.post("/portal/accounts/reissue", data={"candidate_id": [r.candidate_id for r in s.registrations],
                                                        "download_token": "<script>"})
    odd.close()
    assert "download_done" not in " ".join(odd.headers.getlist("Set-Cookie"))


def test_the_rate_limit_key_never_holds_the_id_number(app):
    from examadmin.portal.views import _key

    number = "500106200401020706"
    with app.test_request_context("/portal/login", method="POST", data={"id_number": f" {number} "}):
        key = _key()
    with app.test_request_context("/portal/login", method="POST", data={"id_number": number.lower()}):
        assert _key() == key  # the same number, however typed, is one counter
    assert number not in key and number[-6:] not in key


def test_wrong_activation_codes_are_rate_limited(client):
    s = make_scheduled(1)
    open_all(client, s.school_user)
    number = s.registrations[0].candidate.id_number
    fresh = client.application.test_client()
    statuses = [fresh.post("/portal/activate", data={"id_number": number, "code": f"WRONG{i:03d}",
                                                     "password": PASSWORD, "confirm": PASSWORD}).status_code
                for i in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[-1] == 429


def test_an_unknown_id_number_gets_the_same_answer(client):
    fresh = client.application.test_client()
    body = fresh.post("/portal/activate", data={"id_number": "110101200001011234", "code": "ABCD-EFGH",
                                                "password": PASSWORD, "confirm": PASSWORD}).get_data(as_text=True)
    assert services.GENERIC_ACTIVATION_ERROR in body


def test_a_reissued_code_resets_a_forgotten_password(client):
    s = make_scheduled(1)
    codes = open_all(client, s.school_user)
    candidate = s.registrations[0].candidate
    user = services.activate(candidate.id_number, codes[candidate.name], PASSWORD, PASSWORD)
    db.session.commit()
    signed_in = client.application.test_client()
    assert signed_in.post("/portal/login", data={"id_number": candidate.id_number, "password": PASSWORD}
                          ).status_code == 302
    assert signed_in.get("/portal/").status_code == 200
    slips = services.reissue_codes(s.school_user, [candidate.id])
    db.session.commit()
    # the old password and every open session end at once; the account waits for activation
    assert services.authenticate(candidate.id_number, PASSWORD) is None
    assert signed_in.get("/portal/").status_code == 302
    assert db.session.scalar(select(PortalAccount).where(PortalAccount.user_id == user.id)).state_label == "待激活"
    services.activate(candidate.id_number, slips[0].code, "neuesPasswort9", "neuesPasswort9")
    assert services.authenticate(candidate.id_number, PASSWORD) is None
    assert services.authenticate(candidate.id_number, "neuesPasswort9").id == user.id


def test_the_portal_shows_the_ticket_download_inside_the_window(client, monkeypatch):
    s = make_scheduled(1)
    candidate = s.registrations[0].candidate
    user = make_user("candidate", school=candidate.school)
    user.candidate_id = candidate.id
    login_as(client, user)
    monkeypatch.setattr(clock, "now", lambda: IN_WINDOW.replace(month=5))
    page = client.get("/portal/").get_data(as_text=True)
    assert s.tickets[0].ticket_number in page and "不在下载时间内" in page and 'data-testid="download-ticket"' not in page
    monkeypatch.setattr(clock, "now", lambda: IN_WINDOW)
    page = client.get("/portal/").get_data(as_text=True)
    assert 'data-testid="download-ticket"' in page
    assert candidate.id_number not in page and candidate.id_number[-4:] in page
    with client.get("/portal/photo") as photo:
        assert photo.mimetype == "image/jpeg"


def test_a_candidate_without_a_school_user_role_cannot_manage_accounts(client):
    s = make_scheduled(1)
    user = make_user("candidate", school=s.registrations[0].candidate.school)
    login_as(client, user)
    assert client.get("/portal/accounts").status_code == 403
    assert client.post("/portal/accounts/open", data={"scope": "all"}).status_code == 403


def test_password_rules_apply_at_activation(client):
    s = make_scheduled(1)
    codes = open_all(client, s.school_user)
    candidate = s.registrations[0].candidate
    body = client.application.test_client().post(
        "/portal/activate", data={"id_number": candidate.id_number, "code": codes[candidate.name],
                                  "password": "short", "confirm": "short"}).get_data(as_text=True)
    assert "密码至少需要" in body
    assert db.session.scalar(select(User).where(User.candidate_id == candidate.id)) is not None


def test_an_existing_candidate_user_is_taken_over_by_the_portal_account(client):
    s = make_scheduled(1)
    candidate = s.registrations[0].candidate
    old = make_user("candidate", school=candidate.school)
    old.candidate_id = candidate.id
    db.session.flush()
    slips = services.open_accounts(s.school_user, [candidate.id])
    account = db.session.scalar(select(PortalAccount).where(PortalAccount.candidate_id == candidate.id))
    assert account.user_id == old.id
    assert services.activate(candidate.id_number, slips[0].code, PASSWORD, PASSWORD).id == old.id


def test_activation_slips_as_pdf_to_print_and_cut(client):
    from pypdf import PdfReader

    s = make_scheduled(9)
    login_as(client, s.school_user)
    response = client.post("/portal/accounts/open", data={"scope": "all", "format": "pdf"})
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 2  # eight slips a page
    text = "".join(page.extract_text() for page in reader.pages)
    assert text.count("考生账号激活通知单") == 9 and "陈晓明" in text and "/portal/activate" in text
    number = s.registrations[0].candidate.id_number
    assert number not in text and number[-4:] in text and "*" * 14 + number[-4:] in text
    assert number[:6] not in text  # masked except the last four: no region code either
    codes = [a.code_hash for a in db.session.scalars(select(PortalAccount))]
    assert len(codes) == 9 and all(codes)


def test_the_account_search_is_a_post_and_the_id_number_never_lands_in_a_url(client):
    s = make_scheduled(3)
    wanted = s.registrations[0].candidate
    login_as(client, s.school_user)
    response = client.post("/portal/accounts", data={"q": wanted.id_number, "state": "none"})
    assert response.status_code == 302 and wanted.id_number not in response.location
    assert "search=1" in response.location and "state=none" in response.location
    page = client.get(response.location).get_data(as_text=True)
    names = [r.candidate.name for r in s.registrations]
    assert wanted.name in page and not any(n in page for n in names if n != wanted.name)
    assert 'method="post" action="/portal/accounts"' in page
    # a number in the address is not searched for (nothing to copy into a link)
    page = client.get(f"/portal/accounts?q={wanted.id_number}").get_data(as_text=True)
    assert all(n in page for n in names)


def test_the_rate_limit_keeps_one_id_number_however_it_is_written(client):
    s = make_scheduled(1)
    open_all(client, s.school_user)
    number = s.registrations[0].candidate.id_number
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in number)
    spellings = [number, f" {number[:6]} {number[6:]} ", full_width, "\u200b".join(number), number.lower(),
                 f"{number}\u200b", f"\u3000{number}"]
    fresh = client.application.test_client()
    statuses = [fresh.post("/portal/activate", data={"id_number": written, "code": f"WRONG{i:03d}",
                                                     "password": PASSWORD, "confirm": PASSWORD}).status_code
                for i, written in enumerate(spellings)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429], statuses
