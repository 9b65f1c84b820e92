"""Sign-in, sessions and the account rules a user would notice."""
from __future__ import annotations

import time

import pytest

from examadmin.core import auth
from examadmin.core.auth import SYSTEM
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from tests.conftest import PASSWORD, login_as, make_user


def sign_in(client, username, password=PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


def test_sign_in_and_out(client):
    user = make_user("org")
    db.session.commit()
    response = sign_in(client, user.username)
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    page = client.get("/")
    assert user.name in page.get_data(as_text=True)
    client.post("/logout")
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("username,password", [("org_x", "wrong-pass1"), ("nobody", PASSWORD)])
def test_wrong_user_or_password_gets_one_generic_message(client, username, password):
    make_user("org", username="org_x")
    db.session.commit()
    body = sign_in(client, username, password).get_data(as_text=True)
    assert "用户名或密码错误" in body
    assert "不存在" not in body


def test_disabled_user_cannot_sign_in(client):
    user = make_user("school")
    auth.set_user_active(SYSTEM, user.id, False)
    db.session.commit()
    assert "用户名或密码错误" in sign_in(client, user.username).get_data(as_text=True)


def test_repeated_failures_are_slowed_down(client):
    make_user("org", username="slowme")
    db.session.commit()
    for _ in range(5):
        assert sign_in(client, "slowme", "bad-pass-1").status_code == 200
    blocked = sign_in(client, "slowme", PASSWORD)
    assert blocked.status_code == 429
    assert "尝试次数过多" in blocked.get_data(as_text=True)


def test_sign_out_ends_the_users_other_sessions(app):
    user = make_user("school")
    db.session.commit()
    laptop, phone = app.test_client(), app.test_client()
    login_as(laptop, user)
    login_as(phone, user)
    assert phone.get("/").status_code == 200
    laptop.post("/logout")
    assert phone.get("/").status_code == 302


def test_password_change_ends_other_sessions_but_keeps_this_one(app):
    user = make_user("school")
    db.session.commit()
    here, elsewhere = app.test_client(), app.test_client()
    login_as(here, user)
    login_as(elsewhere, user)
    response = here.post("/account/password", data={"current": PASSWORD, "password": "newpass123",
                                                     "confirm": "newpass123"})
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert auth.authenticate(user.username, "newpass123") is not None


def test_password_rules_are_shown_on_the_form(client):
    user = make_user("school")
    login_as(client, user)
    body = client.post("/account/password", data={"current": PASSWORD, "password": "12345678",
                                                  "confirm": "12345678"}).get_data(as_text=True)
    assert "密码需同时包含字母和数字" in body
    body = client.post("/account/password", data={"current": "wrong", "password": "abc12345",
                                                  "confirm": "abc12345"}).get_data(as_text=True)
    assert "当前密码不正确" in body


def test_disabling_a_user_ends_their_sessions(client):
    user = make_user("school")
    login_as(client, user)
    assert client.get("/").status_code == 200
    auth.set_user_active(SYSTEM, user.id, False)
    db.session.commit()
    assert client.get("/").status_code == 302


def test_idle_session_expires(client):
    user = make_user("org")
    login_as(client, user)
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - 31 * 60
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "长时间未操作" in client.get("/login").get_data(as_text=True)


def test_reset_password_forces_a_change_at_next_sign_in(client):
    user = make_user("school")
    _, temporary = auth.reset_password(SYSTEM, user.id)
    db.session.commit()
    assert sign_in(client, user.username, temporary).status_code == 302
    response = client.get("/catalog/schools")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")


def test_next_parameter_never_leaves_the_site(client):
    user = make_user("org")
    db.session.commit()
    response = client.post("/login?next=https://evil.example/", data={"username": user.username,
                                                                     "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_security_headers_and_no_store_on_signed_in_pages(client):
    user = make_user("school")
    login_as(client, user)
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    static = client.get("/static/app.css")
    static.close()
    assert static.headers.get("Cache-Control") != "no-store"  # assets may be cached


def test_session_cookie_is_httponly_and_lax(client):
    user = make_user("org")
    db.session.commit()
    cookie = sign_in(client, user.username).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forms_need_a_csrf_token(app, client):
    make_user("org", username="csrfuser")
    db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = sign_in(client, "csrfuser")
        assert response.status_code == 400
        assert "页面已过期" in response.get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_upload_over_the_limit_gets_a_chinese_message(app, client):
    user = make_user("org")
    login_as(client, user)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = client.post("/audit/export", data={"x": "y" * 4096})
        assert response.status_code == 413
        assert "上传的文件超过了" in response.get_data(as_text=True)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 50 * 1024 * 1024


def test_missing_page_is_a_chinese_404(client):
    user = make_user("org")
    login_as(client, user)
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


def test_user_rules():
    with pytest.raises(DomainError, match="已被使用"):
        make_user("org", username="dup")
        make_user("org", username="DUP")
    with pytest.raises(DomainError, match="签发负责人"):
        make_user("province", signer=True)
    with pytest.raises(DomainError, match="请选择所属院校"):
        auth.create_user(SYSTEM, username="noscope", name="无范围", role="school", password=PASSWORD)


@pytest.mark.parametrize("role,message", [("candidate", "考生账号由院校在「考生账号」页"),
                                          ("proctor", "监考账号由院校在「监考人员」页")])
def test_the_admin_cannot_make_a_candidate_or_proctor_account_by_hand(client, role, message):
    admin = make_user("sysadmin")
    school = make_user("school").school
    with pytest.raises(DomainError, match=message):
        auth.create_user(admin, username=f"hand_{role}", name="手建", role=role, password=PASSWORD,
                         school_id=school.id)
    login_as(client, admin)
    page = client.get("/admin/users/new").get_data(as_text=True)
    roles = page[page.index('name="role"'):].split("</select>")[0]
    assert 'value="school"' in roles and 'value="candidate"' not in roles and 'value="proctor"' not in roles
    body = client.post("/admin/users/new", data={"username": f"hand_{role}", "name": "手建", "role": role,
                                                 "school_id": school.id, "password": PASSWORD}).get_data(as_text=True)
    assert db.session.scalar(db.select(auth.User).where(auth.User.username == f"hand_{role}")) is None
    assert message in body and "Not a valid choice" not in body
