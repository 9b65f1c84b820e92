"""Public verification (证书查询): by number + ID number in a POST body, or by the QR code's URL."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from examadmin.certificates import numbers, revocation, signing, verification
from examadmin.certificates.models import Verification
from examadmin.certificates.states import CertificateState
from examadmin.extensions import db
from tests.candidates.helpers import id_number as make_id
from tests.conftest import login_as, make_user

from .factories_issued import make_plan_and_site, make_record


@pytest.fixture
def issued():
    plan, site, school_user = make_plan_and_site()
    return make_record(plan, site, name="王小明")


def post(client, number, id_number):
    return client.post("/certificates/verify", data={"number": number, "id_number": id_number})


def test_check_character_catches_a_single_typo_and_a_swap():
    number = numbers.make_number(2026, 1, 123)
    assert numbers.is_well_formed(number)
    for i in range(len(number)):
        for ch in "0123456789X":
            if ch != number[i]:
                assert not numbers.is_well_formed(number[:i] + ch + number[i + 1:]), (i, ch)
    for i in range(len(number) - 1):
        if number[i] != number[i + 1]:
            swapped = number[:i] + number[i + 1] + number[i] + number[i + 2:]
            assert not numbers.is_well_formed(swapped), i


def test_by_number_shows_the_certificate_with_a_masked_id(client, issued):
    response = post(client, issued.number, issued.id_number)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "查验结果：有效" in page
    assert "王小明" in page and issued.number in page
    assert issued.id_number not in page
    assert issued.id_number[:6] + "********" + issued.id_number[-4:] in page
    assert issued.certificate_level.certificate.org_name in page
    assert issued.certificate_level.level.value in page
    assert "校验通过" in page
    assert response.headers["Cache-Control"] == "no-store"


def test_number_typed_with_spaces_and_small_letters_is_found(client, issued):
    typed = " ".join([issued.number[:5].lower(), issued.number[5:]])
    answer = verification.verify_by_number(f" {typed} ", issued.id_number.lower())
    assert answer.status == verification.VALID


def test_mismatches_answer_the_same_not_found(client, issued):
    other = make_id(born="19990101")
    wrong_id = post(client, issued.number, other).get_data(as_text=True)
    unknown = post(client, numbers.make_number(2099, 1, 99_999_999), issued.id_number).get_data(as_text=True)
    for page in (wrong_id, unknown):
        assert "查验结果：未找到" in page
        assert "王小明" not in page
    strip = lambda page: page.split('name="csrf_token" value="')[0]  # noqa: E731
    assert strip(wrong_id) == strip(unknown)
    assert db.session.scalar(select(Verification).where(Verification.record_id == issued.id)) is None


def test_a_mistyped_number_is_caught_before_any_lookup(client, issued, monkeypatch):
    looked_up = []
    monkeypatch.setattr(verification, "_load", lambda clause: looked_up.append(clause))
    last = issued.number[-1]
    typo = issued.number[:-1] + ("0" if last != "0" else "1")
    answer = verification.verify_by_number(typo, issued.id_number)
    assert answer.status == verification.MISTYPED and not answer.found
    assert looked_up == []
    assert "校验位不符" in post(client, typo, issued.id_number).get_data(as_text=True)


def test_records_not_issued_yet_are_not_found(client):
    plan, site, _ = make_plan_and_site()
    waiting = make_record(plan, site, state=CertificateState.GENERATING)
    waiting.signature = signing.sign(waiting)
    assert verification.verify_by_number(waiting.number, waiting.id_number).status == verification.NOT_FOUND
    assert verification.verify_by_code(waiting.verify_code).status == verification.NOT_FOUND


def test_the_qr_url_verifies_by_its_unguessable_code(client, issued):
    response = client.get(f"/certificates/v/{issued.verify_code}")
    page = response.get_data(as_text=True)
    assert "查验结果：有效" in page and "王小明" in page
    assert response.headers["Cache-Control"] == "no-store"
    assert issued.number not in issued.verify_code
    assert "查验结果：未找到" in client.get("/certificates/v/" + "A" * 32).get_data(as_text=True)
    assert client.get("/certificates/v/" + "A" * 500).status_code == 200


def test_an_unknown_qr_code_says_the_code_is_invalid_the_same_for_every_code(client, issued):
    plan, site, _ = make_plan_and_site()
    not_yet = make_record(plan, site, state=CertificateState.READY)
    strip = lambda page: page.split('name="csrf_token" value="')[0]  # noqa: E731
    pages = [client.get(f"/certificates/v/{code}").get_data(as_text=True)
             for code in ("A" * 32, "zz", "B" * 500, not_yet.verify_code)]
    assert "未找到该证书：二维码无效或已损坏，请用证书编号和证件号码查验" in pages[0]
    assert "所填证书编号" not in pages[0]
    assert all(strip(page) == strip(pages[0]) for page in pages)
    # the form keeps its message: there something was filled in
    typed = post(client, numbers.make_number(2099, 1, 99_999_999), issued.id_number).get_data(as_text=True)
    assert "未找到与所填证书编号和证件号码相符的证书" in typed


def test_public_pages_need_no_sign_in_and_the_id_travels_only_in_a_post(client, issued):
    form = client.get("/certificates/verify")
    assert form.status_code == 200
    assert 'method="post"' in form.get_data(as_text=True)
    # a GET with the ID number in the query string does not verify anything
    page = client.get(f"/certificates/verify?number={issued.number}&id_number={issued.id_number}").get_data(as_text=True)
    assert "王小明" not in page


def test_revoked_certificate_says_so_with_the_date(client, issued):
    assert "有效期至" in post(client, issued.number, issued.id_number).get_data(as_text=True)
    org = make_user("org")
    revocation.revoke(org, issued.id, "证书信息有误，经核实撤销")
    page = post(client, issued.number, issued.id_number).get_data(as_text=True)
    assert "查验结果：已撤销" in page
    assert f"{issued.revoked_at:%Y-%m-%d}" in page
    # no validity beside 已撤销: it would read as if the certificate were still good until then
    assert "有效期至" not in page and "有效期状态" not in page
    answer = verification.verify_by_code(issued.verify_code)
    assert answer.status == verification.REVOKED and answer.valid_until is None and answer.validity == ""


def test_an_altered_record_reports_the_signature_broken(client, issued):
    db.session.execute(db.text("UPDATE certificate_record SET name = '李四' WHERE id = :id"), {"id": issued.id})
    db.session.expire_all()
    answer = verification.verify_by_code(issued.verify_code)
    assert answer.status == verification.BROKEN
    assert answer.signature_ok is False
    page = client.get(f"/certificates/v/{issued.verify_code}").get_data(as_text=True)
    assert "签名无效" in page and "校验未通过" in page


def test_a_copied_qr_code_on_a_forged_record_does_not_hold(issued):
    forged_signature = issued.signature
    issued.issue_date = issued.issue_date.replace(year=issued.issue_date.year - 3)
    assert issued.signature == forged_signature
    assert signing.verify_signature(issued) is False


def test_every_verification_is_written_to_the_history_the_org_and_the_school_see(app, client, issued):
    post(client, issued.number, issued.id_number)
    client.get(f"/certificates/v/{issued.verify_code}")
    rows = db.session.scalars(select(Verification).where(Verification.record_id == issued.id)
                              .order_by(Verification.id)).all()
    assert [(r.channel, r.answer) for r in rows] == [("编号查询", "有效"), ("扫码查询", "有效")]
    assert rows[0].ip

    school_user = make_user("school", school=issued.school)
    for user in (make_user("org"), school_user):
        viewer = app.test_client()
        login_as(viewer, user)
        page = viewer.get(f"/certificates/{issued.id}/history").get_data(as_text=True)
        assert "编号查询" in page and "扫码查询" in page
    other_school = app.test_client()
    login_as(other_school, make_user("school"))
    assert other_school.get(f"/certificates/{issued.id}/history").status_code == 404
    candidate = app.test_client()
    login_as(candidate, make_user("candidate", school=issued.school))
    assert candidate.get(f"/certificates/{issued.id}/history").status_code == 403


def test_rate_limited_per_address_even_for_correct_data(app, client, issued):
    limit = int(app.config["VERIFY_RATE_LIMIT"].split()[0])
    for _ in range(limit):
        assert post(client, issued.number, issued.id_number).status_code == 200
    refused = post(client, issued.number, issued.id_number)
    assert refused.status_code == 429 and refused.headers["Cache-Control"] == "no-store"
    assert "王小明" not in refused.get_data(as_text=True)
    # the QR URL shares the limit: the same address cannot go round it
    by_qr = client.get(f"/certificates/v/{issued.verify_code}")
    assert by_qr.status_code == 429 and by_qr.headers["Cache-Control"] == "no-store"
    # another address is not affected
    other = client.post("/certificates/verify", data={"number": issued.number, "id_number": issued.id_number},
                        environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200 and "王小明" in other.get_data(as_text=True)


def test_empty_or_huge_input_gets_a_clear_message(client, issued):
    assert "请填写证书编号和证件号码" in post(client, "", "").get_data(as_text=True)
    invisible = post(client, issued.number, "\u200b\u200b")
    assert invisible.status_code == 200 and "请填写证书编号和证件号码" in invisible.get_data(as_text=True)
    response = post(client, "9" * 5000, "1" * 5000)
    assert response.status_code == 200
    assert "查验结果" in response.get_data(as_text=True)


def test_the_public_key_is_shown(client):
    assert signing.public_key_text() in client.get("/certificates/verify").get_data(as_text=True)


def test_the_signing_key_is_generated_once_with_mode_600(app):
    import os
    import stat
    from pathlib import Path

    signing.public_key_text()
    path = Path(app.config["INSTANCE_DIR"]) / signing.KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    before = path.read_bytes()
    signing._cache.clear()
    signing.public_key_text()
    assert path.read_bytes() == before


def test_a_revocation_undone_in_the_database_is_not_answered_valid(client, issued, caplog):
    """The signature leaves the state out (it changes after issue); the revocation's audit entry
    tells an un-revoked record apart, and each such verification is logged."""
    from examadmin.core.audit import AuditLog

    revocation.revoke(make_user("org"), issued.id, "冒名顶替")
    db.session.flush()
    db.session.execute(db.text("UPDATE certificate_record SET state = :state, revoked_at = NULL, revoke_reason = '' "
                               "WHERE id = :id"), {"state": CertificateState.ISSUED.value, "id": issued.id})
    db.session.expire_all()
    by_qr = verification.verify_by_code(issued.verify_code)
    assert by_qr.state == "记录异常（按已撤销处理）" and by_qr.status == verification.ANOMALY  # not 已发放
    answer = verification.verify_by_number(issued.number, issued.id_number)
    assert answer.status == verification.ANOMALY and answer.signature_ok is True
    assert "撤销" in answer.message and answer.valid_until is None
    page = post(client, issued.number, issued.id_number).get_data(as_text=True)
    assert "查验结果：记录异常" in page and "查验结果：有效" not in page and "有效期至" not in page
    assert CertificateState.ISSUED.value not in page
    entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "certificate.state_anomaly")).all()
    assert len(entries) == 3 and all(e.entity_id == issued.id for e in entries)
    assert any("was revoked but its state" in r.getMessage() for r in caplog.records)


def test_a_record_never_revoked_is_not_flagged(issued):
    from examadmin.core.audit import AuditLog

    assert verification.verify_by_code(issued.verify_code).status == verification.VALID
    assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "certificate.state_anomaly")) is None
