"""The photo upload checks its own CSRF token (its view is exempt from CSRFProtect): in Chinese."""
from __future__ import annotations

import io

from tests.conftest import login_as, make_user


def test_a_photo_upload_without_a_valid_token_is_refused_in_chinese(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    login_as(client, make_user("school"))
    for token in (None, "forged"):
        data = {"file": (io.BytesIO(b"PK\x05\x06" + b"\0" * 18), "p.zip")}
        if token:
            data["csrf_token"] = token
        page = client.post("/candidates/photos", data=data, content_type="multipart/form-data").get_data(
            as_text=True)
        assert "页面已过期或表单校验失败，请刷新页面后重新提交。" in page
        assert "CSRF" not in page.replace('name="csrf_token"', "").replace('id="csrf_token"', "")


def test_a_nul_in_the_photo_upload_form_is_refused_in_chinese(client, app):
    # this view parses its body only in its form (after raising the limit): the form checks it
    login_as(client, make_user("school"))
    data = {"file": (io.BytesIO(b"PK\x05\x06" + b"\0" * 18), "p.zip"), "submit": "a\x00b"}
    response = client.post("/candidates/photos", data=data, content_type="multipart/form-data")
    assert response.status_code == 400 and "无效字符" in response.get_data(as_text=True)
