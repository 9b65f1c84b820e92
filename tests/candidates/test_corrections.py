"""Corrections of locked data (信息更正): the machine, the rules, the letter, the pages, the scope."""
from __future__ import annotations

import io
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from examadmin.candidates import corrections, services, verification
from examadmin.candidates.models import Candidate, CorrectionRequest
from examadmin.candidates.states import CORRECTION, CandidateState, CorrectionState
from examadmin.core import audit, idcard
from examadmin.core.errors import DomainError
from examadmin.core.permissions import ForbiddenAction, NotInScope
from examadmin.extensions import db
from tests.candidates.helpers import id_number
from tests.candidates.test_verification import add, photo_bytes
from tests.conftest import login_as, make_user
from tests.workflow_table import check_move

C = CorrectionState
ROLES = ["sysadmin", "org", "province", "city", "school", "candidate", None]
ALLOWED = {
    (C.PENDING, "approve", "org"): C.APPROVED,
    (C.PENDING, "reject", "org"): C.REJECTED,
}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.mark.parametrize("state,action,role",
                         [(s, a, r) for s in C for a in ("approve", "reject") for r in ROLES])
def test_every_move_of_the_correction_machine(state, action, role, monkeypatch):
    check_move(CORRECTION, SimpleNamespace(state=state, id=1), action, role, ALLOWED.get((state, action, role)),
               monkeypatch)


# ---- factories ---------------------------------------------------------------------------------

def locked(user, **kwargs) -> Candidate:
    candidate = add(user, **kwargs)
    verification.request_verification(user, candidate.id)
    assert candidate.state == CandidateState.ACCURATE
    return candidate


def file(user, candidate, *, name=None, number=None, id_type="居民身份证", reason="户籍信息变更",
         letter=PDF, letter_name="更正函.pdf") -> CorrectionRequest:
    raw = {"name": name if name is not None else candidate.name, "id_type": id_type,
           "id_number": number if number is not None else candidate.id_number}
    return corrections.file_correction(user, candidate.id, raw, reason, letter_name, letter)


@pytest.fixture
def school_user():
    return make_user("school")


@pytest.fixture
def org():
    return make_user("org")


# ---- filing ---------------------------------------------------------------------------------------

def test_a_name_change_is_filed_with_old_and_new_values(school_user):
    candidate = locked(school_user, name="张三")
    request = file(school_user, candidate, name="张叁")
    assert request.state == C.PENDING and request.school_id == candidate.school_id
    assert request.new_values == {"name": "张叁"} and request.old_values == {"name": "张三"}
    assert request.letter_name == "更正函.pdf" and request.letter_key.endswith(".pdf")
    entry = audit.history(request)[0]
    assert entry.action == "correction.create" and entry.after["new"] == {"name": "张叁"}
    assert candidate.name == "张三"  # nothing changes before the org approves


def test_only_a_locked_candidate_needs_a_correction(school_user):
    candidate = add(school_user)
    with pytest.raises(DomainError, match="尚未认证为「信息准确」.*可直接修改"):
        file(school_user, candidate, name="李四")


def test_one_pending_request_per_candidate(school_user, org):
    candidate = locked(school_user)
    first = file(school_user, candidate, name="李四")
    with pytest.raises(DomainError, match="已有一份待审核的信息更正申请"):
        file(school_user, candidate, name="王五")
    corrections.reject_correction(org, first.id, "函件未盖章")
    assert file(school_user, candidate, name="王五").state == C.PENDING  # after a decision, a new one


@pytest.mark.parametrize("change,message", [
    ({"name": ""}, "姓名不能为空"),
    ({"number": "500107200305121230"}, "校验位不正确"),
    ({"number": "12345"}, "应为 18 位"),
    ({}, "与现有信息相同，无需更正"),
    ({"reason": " "}, "请填写更正原因"),
])
def test_new_values_follow_the_field_rules(school_user, change, message):
    candidate = locked(school_user)
    with pytest.raises(DomainError, match=message):
        file(school_user, candidate, **change)
    assert db.session.scalar(select(func.count(CorrectionRequest.id))) == 0


def test_the_new_number_may_not_clash_with_another_candidate_of_the_school(school_user):
    candidate, other = locked(school_user), add(school_user, name="李四")
    with pytest.raises(DomainError, match="本校已有证件号码为.*李四"):
        file(school_user, candidate, number=other.id_number)
    services.hide_candidate(school_user, other.id)
    with pytest.raises(DomainError, match="已被本校删除"):
        file(school_user, candidate, number=other.id_number)
    # the same number at another school is no clash
    elsewhere = add(make_user("school"), name="外校")
    assert file(school_user, candidate, number=elsewhere.id_number).state == C.PENDING


@pytest.mark.parametrize("data,accepted", [
    (PDF, True),
    (photo_bytes(), True),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, True),
    (b"PK\x03\x04 a zip named .pdf", False),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old Word file", False),
    (b"<html><script>alert(1)</script>", False),
    (b"", False),
])
def test_the_letter_is_judged_by_its_content(school_user, data, accepted):
    candidate = locked(school_user)
    if accepted:
        assert file(school_user, candidate, name="李四", letter=data).state == C.PENDING
    else:
        with pytest.raises(DomainError, match="函件"):
            file(school_user, candidate, name="李四", letter=data)


def test_a_letter_too_large_is_refused(school_user, monkeypatch):
    monkeypatch.setattr(corrections, "MAX_LETTER_BYTES", 1024)
    with pytest.raises(DomainError, match="超过"):
        file(school_user, locked(school_user), name="李四", letter=PDF + b"\0" * 1024)


def test_the_letter_name_loses_its_folders(school_user):
    request = file(school_user, locked(school_user), name="李四", letter_name="C:\\Users\\a\\../函.pdf")
    assert request.letter_name == "函.pdf"


def test_the_letter_takes_the_extension_of_its_content_and_loses_disguising_characters(client, school_user):
    """A PDF called "‮gnp.html" showed as "lmth.png" and, once saved, opened as a web page."""
    request = file(school_user, locked(school_user), name="李四", letter_name="函\u202egnp.html")
    assert request.letter_name == "函gnp.pdf"
    request.letter_name = "旧函\u202egnp.html"  # a name stored before the rule
    db.session.commit()
    login_as(client, school_user)
    letter = client.get(f"/candidates/corrections/{request.id}/letter")
    letter.close()
    assert letter.mimetype == "application/pdf"
    assert "%E6%97%A7%E5%87%BDgnp.pdf" in letter.headers["Content-Disposition"]
    assert "html" not in letter.headers["Content-Disposition"]


def test_control_and_format_characters_are_left_out_of_a_new_name(school_user):
    request = file(school_user, locked(school_user), name="吴\x07桐\u200b\u202e")
    assert request.new_values["name"] == "吴桐"


# ---- deciding -------------------------------------------------------------------------------------

def test_approval_changes_the_data_and_audits_before_and_after(school_user, org):
    candidate = locked(school_user, name="张三", number=id_number(born="20030512", male=True))
    old_number = candidate.id_number
    new_number = id_number(born="20040101", male=False)
    request = file(school_user, candidate, name="张珊", number=new_number)
    assert request.new_values == {"name": "张珊", "id_number": new_number, "gender": "女", "birth_date": "2004-01-01"}
    corrections.approve_correction(org, request.id, "函件齐全")
    assert request.state == C.APPROVED and request.decided_at and request.decision_note == "函件齐全"
    assert (candidate.name, candidate.id_number, candidate.gender, candidate.birth_date) == (
        "张珊", new_number, "女", date(2004, 1, 1))
    assert candidate.state == CandidateState.ACCURATE  # still locked
    change = [e for e in audit.history(candidate) if e.action == "candidate.correct"][0]
    # PIPL: the audit log keeps the ID numbers masked (the correction request itself keeps them whole)
    assert change.before == {"name": "张三", "id_number": idcard.mask(old_number), "gender": "男",
                             "birth_date": "2003-05-12"}
    assert change.after["id_number"] == idcard.mask(new_number)
    assert change.after["name"] == "张珊" and change.after["correction_id"] == request.id
    assert change.actor_role == "org"
    with pytest.raises(DomainError, match="状态为「已通过」，不能再审核"):
        corrections.approve_correction(org, request.id)


def test_rejection_needs_a_reason_and_changes_nothing(school_user, org):
    candidate = locked(school_user, name="张三")
    request = file(school_user, candidate, name="李四")
    with pytest.raises(DomainError, match="请填写驳回原因"):
        corrections.reject_correction(org, request.id, "")
    corrections.reject_correction(org, request.id, "函件未盖章")
    assert request.state == C.REJECTED and request.decision_note == "函件未盖章"
    assert candidate.name == "张三"
    with pytest.raises(DomainError, match="「已驳回」，不能再审核"):
        corrections.approve_correction(org, request.id)


def test_approval_checks_the_clash_again(school_user, org):
    first, second = locked(school_user, name="甲"), locked(school_user, name="乙")
    new_number = id_number()
    one = file(school_user, first, number=new_number)
    two = file(school_user, second, number=new_number)
    corrections.approve_correction(org, one.id)
    with pytest.raises(DomainError, match="本校已有证件号码为"):
        corrections.approve_correction(org, two.id)
    assert two.state == C.PENDING and second.id_number != new_number


def test_only_the_org_decides(school_user, org):
    request = file(school_user, locked(school_user), name="李四")
    with pytest.raises(ForbiddenAction):
        corrections.approve_correction(school_user, request.id)
    with pytest.raises(ForbiddenAction):
        corrections.reject_correction(make_user("province"), request.id, "不行")
    with pytest.raises(NotInScope):
        corrections.get_correction(make_user("school"), request.id)
    with pytest.raises(NotInScope):
        file(make_user("school"), request.candidate, name="王五")
    assert corrections.approve_correction(org, request.id).state == C.APPROVED


# ---- pages -----------------------------------------------------------------------------------------

def test_the_whole_flow_through_the_pages(app, school_user, org):
    candidate = locked(school_user, name="张三")
    school, reviewer = app.test_client(), app.test_client()
    login_as(school, school_user)
    login_as(reviewer, org)

    page = school.get(f"/candidates/{candidate.id}/correction").get_data(as_text=True)
    assert 'data-testid="correction-form"' in page and 'value="张三"' in page
    # the number is masked here, in the card and the form alike (only the detail page shows it whole)
    assert candidate.id_number not in page and idcard.mask(candidate.id_number) in page
    bad = school.post(f"/candidates/{candidate.id}/correction", data={
        "name": "张叁", "id_type": "居民身份证", "id_number": candidate.id_number, "reason": "改名",
        "letter": (io.BytesIO(b"PK\x03\x04 not a letter"), "函.pdf")}, content_type="multipart/form-data")
    assert bad.status_code == 200 and "不是 PDF、JPEG 或 PNG 文件" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count(CorrectionRequest.id))) == 0

    response = school.post(f"/candidates/{candidate.id}/correction", data={
        "name": "张叁", "id_type": "居民身份证", "id_number": "", "reason": "派出所已更名",
        "letter": (io.BytesIO(PDF), "更正函.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302
    request = db.session.scalar(select(CorrectionRequest))
    assert response.headers["Location"].endswith(f"/candidates/corrections/{request.id}")
    page = school.get(response.headers["Location"]).get_data(as_text=True)
    assert "待审核" in page and "张三" in page and "张叁" in page and 'data-testid="correction-approve"' not in page
    assert school.get(f"/candidates/{candidate.id}/correction").get_data(as_text=True).count('data-testid="pending"')

    listing = reviewer.get("/candidates/corrections?state=待审核").get_data(as_text=True)
    assert f"/candidates/corrections/{request.id}" in listing and candidate.school.name in listing
    letter = reviewer.get(f"/candidates/corrections/{request.id}/letter?download=1")
    assert letter.status_code == 200 and letter.data == PDF and letter.mimetype == "application/pdf"
    assert "attachment" in letter.headers["Content-Disposition"]
    letter.close()
    page = reviewer.get(f"/candidates/corrections/{request.id}").get_data(as_text=True)
    assert 'data-testid="correction-approve"' in page

    assert school.post(f"/candidates/corrections/{request.id}/approve").status_code == 403
    page = reviewer.post(f"/candidates/corrections/{request.id}/approve", data={"reason": "函件齐全"},
                         follow_redirects=True).get_data(as_text=True)
    assert "已通过「张叁」的信息更正" in page
    assert db.session.get(Candidate, candidate.id).name == "张叁"
    history = school.get(f"/candidates/{candidate.id}").get_data(as_text=True)
    assert "信息更正（审核通过）" in history


def test_rejection_through_the_pages_shows_the_reason_to_the_school(app, school_user, org):
    request = file(school_user, locked(school_user), name="李四")
    school, reviewer = app.test_client(), app.test_client()
    login_as(school, school_user)
    login_as(reviewer, org)
    page = reviewer.post(f"/candidates/corrections/{request.id}/reject", data={"reason": ""},
                         follow_redirects=True).get_data(as_text=True)
    assert "请填写驳回原因" in page
    reviewer.post(f"/candidates/corrections/{request.id}/reject", data={"reason": "函件未盖章"})
    page = school.get(f"/candidates/corrections/{request.id}").get_data(as_text=True)
    assert "已驳回" in page and "函件未盖章" in page


def test_an_image_letter_is_shown_inline(client, school_user):
    request = file(school_user, locked(school_user), name="李四", letter=photo_bytes(), letter_name="函.jpg")
    login_as(client, school_user)
    assert 'data-testid="letter-preview"' in client.get(f"/candidates/corrections/{request.id}").get_data(as_text=True)
    letter = client.get(f"/candidates/corrections/{request.id}/letter")
    assert letter.mimetype == "image/jpeg" and "inline" in letter.headers["Content-Disposition"]
    letter.close()


def test_another_school_gets_404_everywhere(client, school_user):
    candidate = locked(school_user)
    request = file(school_user, candidate, name="李四")
    login_as(client, make_user("school"))
    for url in (f"/candidates/{candidate.id}/correction", f"/candidates/corrections/{request.id}",
                f"/candidates/corrections/{request.id}/letter"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/candidates/{candidate.id}/correction", data={
        "name": "王五", "id_type": "居民身份证", "id_number": candidate.id_number, "reason": "x",
        "letter": (io.BytesIO(PDF), "a.pdf")}, content_type="multipart/form-data").status_code == 404
    listing = client.get("/candidates/corrections").get_data(as_text=True)
    assert f"/candidates/corrections/{request.id}" not in listing and "暂无信息更正申请" in listing
    assert client.post(f"/candidates/corrections/{request.id}/approve").status_code == 403


@pytest.mark.parametrize("role,status", [("org", 200), ("sysadmin", 200), ("province", 200), ("school", 200),
                                         ("candidate", 403)])
def test_the_corrections_list_by_role(client, role, status):
    login_as(client, make_user(role))
    assert client.get("/candidates/corrections").status_code == status
