"""Verification (认证): the machine, the built-in verifier's reasons, one and batch, 人工确认, locking."""
from __future__ import annotations

import io
from datetime import date
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import select

from examadmin.candidates import services, verification
from examadmin.candidates.models import Candidate
from examadmin.candidates.states import CANDIDATE, CandidateState
from examadmin.core import audit
from examadmin.core.errors import DomainError
from examadmin.core.jobs import Job, JobState
from examadmin.core.permissions import ForbiddenAction, NotInScope
from examadmin.core.storage import get_storage
from examadmin.extensions import db
from tests.candidates.helpers import id_number
from tests.conftest import login_as, make_user
from tests.workflow_table import check_move

S = CandidateState
ROLES = ["sysadmin", "org", "province", "city", "school", "candidate", None]  # None: the system

# (state, action, role) -> target; every other combination must be refused
ALLOWED = {
    (S.PENDING, "verify", "school"): S.VERIFYING,
    (S.NEEDS_REVIEW, "verify", "school"): S.VERIFYING,
    (S.VERIFYING, "pass", None): S.ACCURATE,
    (S.VERIFYING, "fail", None): S.NEEDS_REVIEW,
    (S.NEEDS_REVIEW, "confirm", "school"): S.ACCURATE,
    (S.NEEDS_REVIEW, "reset", "school"): S.PENDING,
}


def _cases():
    actions = sorted({m.action for m in CANDIDATE.moves})
    for state in S:
        for action in actions:
            for role in ROLES:
                yield state, action, role


@pytest.mark.parametrize("state,action,role", list(_cases()))
def test_every_move_of_the_candidate_machine(state, action, role, monkeypatch):
    check_move(CANDIDATE, SimpleNamespace(state=state, id=1), action, role, ALLOWED.get((state, action, role)),
               monkeypatch)


# ---- factories --------------------------------------------------------------------------------

def photo_bytes(size=(358, 441), fmt="JPEG") -> bytes:
    buffer = io.BytesIO()
    with Image.new("RGB", size, "white") as image:
        image.save(buffer, fmt)
    return buffer.getvalue()


def attach_photo(candidate: Candidate, data: bytes | None = None, suffix: str = ".jpg") -> None:
    storage = get_storage()
    candidate.photo_key = storage.save(storage.new_key("photos", suffix), data if data is not None else photo_bytes())


def add(user, *, name="张三", number=None, photo=True, **extra) -> Candidate:
    candidate = services.add_candidate(user, {"name": name, "id_number": number or id_number(),
                                              "kind": "社会考生", **extra})
    if photo:
        attach_photo(candidate)
    db.session.flush()
    return candidate


@pytest.fixture
def school_user():
    return make_user("school")


# ---- the built-in verifier -----------------------------------------------------------------------

def test_good_data_and_a_standard_photo_pass(school_user):
    assert verification.BuiltinVerifier().check(add(school_user)) == []


def test_missing_photo_is_a_reason(school_user):
    assert verification.BuiltinVerifier().check(add(school_user, photo=False)) == ["没有照片：请先上传考生照片"]


def test_photo_of_the_wrong_size_is_a_reason(school_user):
    candidate = add(school_user, photo=False)
    attach_photo(candidate, photo_bytes((300, 400)))
    assert verification.BuiltinVerifier().check(candidate) == [
        "照片尺寸为 300×400 像素，应为 358×441 像素：请重新上传"]


def test_photo_not_jpeg_unreadable_or_gone_are_reasons(school_user):
    verifier = verification.BuiltinVerifier()
    candidate = add(school_user, photo=False)
    attach_photo(candidate, photo_bytes(fmt="PNG"), ".png")
    assert verifier.check(candidate) == ["照片格式为 PNG，应为 JPEG：请重新上传"]
    attach_photo(candidate, photo_bytes()[:200])  # truncated
    assert verifier.check(candidate) == ["照片无法读取（文件已损坏或不是图片）：请重新上传"]
    attach_photo(candidate, b"not an image at all")
    assert verifier.check(candidate) == ["照片无法读取（文件已损坏或不是图片）：请重新上传"]
    get_storage().delete(candidate.photo_key)
    assert verifier.check(candidate) == ["照片文件缺失：请重新上传考生照片"]


def test_gender_and_birth_date_that_disagree_with_the_number_are_reasons(school_user):
    candidate = add(school_user, number=id_number(born="20030512", male=True))
    candidate.gender = "女"  # bad data from before the rules, say
    candidate.birth_date = date(2003, 5, 13)
    assert verification.BuiltinVerifier().check(candidate) == [
        "出生日期（2003-05-13）与身份证号码不符（号码显示为 2003-05-12）",
        "性别（女）与身份证号码不符（号码显示为男）",
    ]


def test_a_bad_id_number_and_a_missing_photo_are_both_listed(school_user):
    candidate = add(school_user, photo=False)
    candidate.id_number = candidate.id_number[:17] + ("0" if candidate.id_number[17] != "0" else "1")
    assert verification.BuiltinVerifier().check(candidate) == [
        "身份证号码校验位不正确，请核对是否输错", "没有照片：请先上传考生照片"]


def test_other_papers_need_a_number_and_a_gender(school_user):
    candidate = add(school_user, id_type="护照", number="E12345678", gender="女")
    assert verification.BuiltinVerifier().check(candidate) == []
    candidate.gender = ""
    assert verification.BuiltinVerifier().check(candidate) == ["性别未填写"]


# ---- the verifier setting and an outside service ----------------------------------------------

class Refusing:
    label = "测试"

    def check(self, candidate):
        return ["外部服务：人像不一致"]


def test_the_setting_chooses_the_verifier(app, school_user, monkeypatch):
    assert isinstance(verification.get_verifier(), verification.BuiltinVerifier)
    monkeypatch.setitem(verification.VERIFIERS, "refusing", Refusing)
    monkeypatch.setitem(app.config, "CANDIDATE_VERIFIER", "refusing")
    candidate = verification.request_verification(school_user, add(school_user).id)
    assert candidate.state == S.NEEDS_REVIEW and candidate.verify_reasons == ["外部服务：人像不一致"]
    monkeypatch.setitem(app.config, "CANDIDATE_VERIFIER", f"{__name__}:Refusing")  # a dotted path
    assert isinstance(verification.get_verifier(), Refusing)
    monkeypatch.setitem(app.config, "CANDIDATE_VERIFIER", "nosuch")
    with pytest.raises(RuntimeError, match="unknown verifier"):
        verification.get_verifier()


class FakePhotoService(verification.PhotoServiceVerifier):
    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def compare(self, candidate, photo):
        self.calls.append((candidate.id_number, photo[:3]))
        if self.answer is None:
            raise verification.ServiceUnavailable()
        return self.answer


def test_an_outside_photo_service_is_asked_only_after_the_local_checks(school_user):
    good, no_photo = add(school_user), add(school_user, photo=False)
    service = FakePhotoService([])
    assert service.check(good) == [] and service.calls == [(good.id_number, b"\xff\xd8\xff")]
    assert service.check(no_photo) == ["没有照片：请先上传考生照片"] and len(service.calls) == 1
    assert FakePhotoService(["人像比对不一致"]).check(good) == ["人像比对不一致"]
    assert FakePhotoService(None).check(good) == [verification.PhotoServiceVerifier.UNAVAILABLE]


# ---- one candidate --------------------------------------------------------------------------------

def test_verification_passes_and_locks(school_user):
    candidate = verification.request_verification(school_user, add(school_user).id)
    assert candidate.state == S.ACCURATE and candidate.locked and candidate.verified_at
    assert candidate.verify_reasons is None
    moves = [(e.action, e.actor_role) for e in audit.history(candidate) if e.action != "candidate.create"]
    assert moves == [("candidate.verify", "school"), ("candidate.pass", "system")]
    with pytest.raises(DomainError, match="姓名已锁定.*信息更正"):
        services.update_candidate(school_user, candidate.id, {"name": "李四", "id_number": candidate.id_number,
                                                              "kind": "社会考生"})
    with pytest.raises(DomainError, match="不需要再申请认证"):
        verification.request_verification(school_user, candidate.id)


def test_verification_fails_with_reasons_and_can_be_asked_again(school_user):
    candidate = verification.request_verification(school_user, add(school_user, photo=False).id)
    assert candidate.state == S.NEEDS_REVIEW and candidate.verify_reasons == ["没有照片：请先上传考生照片"]
    failed = audit.history(candidate)[-1]
    assert failed.action == "candidate.fail" and failed.after["reason"] == "没有照片：请先上传考生照片"
    attach_photo(candidate)  # the school uploads the photo and asks again
    assert verification.request_verification(school_user, candidate.id).state == S.ACCURATE
    assert candidate.verify_reasons is None


def test_only_the_candidates_school_may_ask(school_user):
    candidate = add(school_user)
    with pytest.raises(NotInScope):
        verification.request_verification(make_user("school"), candidate.id)
    with pytest.raises(ForbiddenAction):
        verification.request_verification(make_user("org"), candidate.id)
    assert candidate.state == S.PENDING


class UnreachableService(verification.PhotoServiceVerifier):
    """An outside photo service that cannot answer: a failure a person may judge."""

    def compare(self, candidate, photo):
        raise verification.ServiceUnavailable()


@pytest.fixture
def unreachable(app, monkeypatch):
    verification.register_verifier("test-unreachable", UnreachableService)
    monkeypatch.setitem(app.config, "CANDIDATE_VERIFIER", "test-unreachable")


def test_manual_confirmation_needs_a_note_and_a_failed_check(school_user, unreachable):
    candidate = add(school_user)
    with pytest.raises(DomainError, match="不能执行「人工确认」"):
        verification.confirm_manually(school_user, candidate.id, "已核对")
    verification.request_verification(school_user, candidate.id)
    assert candidate.verify_reasons == [UnreachableService.UNAVAILABLE]
    with pytest.raises(DomainError, match="请填写人工确认的说明"):
        verification.confirm_manually(school_user, candidate.id, "  ")
    with pytest.raises(NotInScope):
        verification.confirm_manually(make_user("school"), candidate.id, "已核对")
    confirmed = verification.confirm_manually(school_user, candidate.id, "已核对身份证原件，比对服务恢复后补做")
    assert confirmed.state == S.ACCURATE and confirmed.locked
    assert confirmed.verify_reasons is None  # the failure no longer stands beside 信息准确
    entry = audit.history(candidate)[-1]
    assert entry.action == "candidate.confirm" and entry.after["reason"] == "已核对身份证原件，比对服务恢复后补做"


@pytest.mark.parametrize("photo", ["missing", "wrong size", "not a jpeg"])
def test_a_photo_problem_cannot_be_confirmed_away(school_user, photo):
    candidate = add(school_user, photo=False)
    if photo == "wrong size":
        attach_photo(candidate, photo_bytes(size=(300, 400)))
    elif photo == "not a jpeg":
        attach_photo(candidate, photo_bytes(fmt="PNG"), suffix=".png")
    verification.request_verification(school_user, candidate.id)
    assert candidate.state == S.NEEDS_REVIEW
    with pytest.raises(DomainError, match="照片问题不能人工确认.*请先上传符合规格的照片"):
        verification.confirm_manually(school_user, candidate.id, "已核对身份证原件")
    assert candidate.state == S.NEEDS_REVIEW and not candidate.locked
    # A standard photo, then verification again: 信息准确, and the old reasons are gone.
    attach_photo(candidate)
    verification.request_verification(school_user, candidate.id)
    assert candidate.state == S.ACCURATE and candidate.verify_reasons is None


# ---- pages ---------------------------------------------------------------------------------------

def test_verify_and_confirm_through_the_pages(client, school_user, unreachable):
    candidate = add(school_user)
    login_as(client, school_user)
    page = client.get(f"/candidates/{candidate.id}").get_data(as_text=True)
    assert 'data-testid="verify"' in page and "全国公安人像比对是外部服务，本系统尚未接入" in page
    page = client.post(f"/candidates/{candidate.id}/verify", follow_redirects=True).get_data(as_text=True)
    assert "认证未通过，需人工确认" in page and "暂时无法访问" in page and 'data-testid="confirm"' in page
    page = client.post(f"/candidates/{candidate.id}/confirm", data={"note": ""},
                       follow_redirects=True).get_data(as_text=True)
    assert "请填写人工确认的说明" in page
    page = client.post(f"/candidates/{candidate.id}/confirm", data={"note": "已核对原件"},
                       follow_redirects=True).get_data(as_text=True)
    assert "已人工确认" in page and "说明：已核对原件" in page and 'data-testid="correction-link"' in page
    assert 'data-testid="verify-reasons"' not in page  # no failure box beside 信息准确
    assert db.session.get(Candidate, candidate.id).state == S.ACCURATE


def test_the_page_offers_no_manual_confirmation_for_a_missing_photo(client, school_user):
    candidate = add(school_user, photo=False)
    login_as(client, school_user)
    page = client.post(f"/candidates/{candidate.id}/verify", follow_redirects=True).get_data(as_text=True)
    assert "没有照片" in page and 'data-testid="unconfirmable"' in page and 'data-testid="confirm"' not in page
    page = client.post(f"/candidates/{candidate.id}/confirm", data={"note": "已核对原件"},
                       follow_redirects=True).get_data(as_text=True)
    assert "照片问题不能人工确认" in page
    assert db.session.get(Candidate, candidate.id).state == S.NEEDS_REVIEW


def test_an_accurate_candidate_shows_no_old_failure_box(client, school_user):
    # Confirmed before this rule: reasons left on the record are not shown beside 信息准确.
    candidate = add(school_user)
    verification.request_verification(school_user, candidate.id)
    candidate.verify_reasons = ["没有照片：请先上传考生照片"]
    login_as(client, school_user)
    page = client.get(f"/candidates/{candidate.id}").get_data(as_text=True)
    assert "信息准确" in page and 'data-testid="verify-reasons"' not in page


def test_verify_pages_answer_404_outside_the_scope_and_403_to_other_roles(client, school_user):
    candidate = add(school_user)
    login_as(client, make_user("school"))
    for url in (f"/candidates/{candidate.id}/verify", f"/candidates/{candidate.id}/confirm"):
        assert client.post(url, data={"note": "x"}).status_code == 404
    login_as(client, make_user("org"))
    assert client.post(f"/candidates/{candidate.id}/verify").status_code == 403
    page = client.get(f"/candidates/{candidate.id}").get_data(as_text=True)
    assert 'data-testid="verify"' not in page  # the org sees the state, not the buttons
    assert db.session.get(Candidate, candidate.id).state == S.PENDING


# ---- batch, as a job -----------------------------------------------------------------------------

def test_batch_of_selected_candidates_runs_as_a_job(client, school_user):
    good, bad = add(school_user, name="甲"), add(school_user, name="乙", photo=False)
    done = verification.request_verification(school_user, add(school_user, name="丙").id)
    foreign = add(make_user("school"), name="外校")
    login_as(client, school_user)
    response = client.post("/candidates/verify-batch", data={
        "scope": "selected", "ids": [str(good.id), str(bad.id), str(done.id), str(foreign.id)]})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    job = db.session.scalar(select(Job).where(Job.kind == "candidate_verify").order_by(Job.id.desc()))
    assert job.state == JobState.DONE and job.owner_id == school_user.id
    assert job.result["passed"] == 1 and job.result["failed"] == 1 and job.result["skipped"] == 1
    assert job.result["not_found"] == 1  # another school's candidate is not touched
    assert job.result["failures"] == [{"id": bad.id, "name": "乙", "reasons": ["没有照片：请先上传考生照片"]}]
    assert job.message == "认证 3 人：通过 1，需人工确认 1，跳过 1 人（不在待认证状态），1 人不存在或已删除"
    assert job.state_label == "需人工确认" and job.state_level == "warning"
    assert (job.done, job.total) == (3, 3)
    states = {c.name: c.state for c in db.session.scalars(select(Candidate).where(
        Candidate.id.in_([good.id, bad.id, foreign.id])))}
    assert states == {"甲": S.ACCURATE, "乙": S.NEEDS_REVIEW, "外校": S.PENDING}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    # The job's page tells its outcome, names who failed and why, and links to the list.
    assert "认证 3 人：通过 1，需人工确认 1" in page and ">需人工确认</span>" in page
    assert "乙</a>：没有照片：请先上传考生照片" in page
    assert "/candidates/?state=%E9%9C%80%E4%BA%BA%E5%B7%A5%E7%A1%AE%E8%AE%A4" in page


def test_batch_of_all_pending_candidates(client, school_user):
    first, second = add(school_user), add(school_user, photo=False)
    verification.request_verification(school_user, second.id)  # 需人工确认: not in "all pending"
    login_as(client, school_user)
    client.post("/candidates/verify-batch", data={"scope": "pending"})
    job = db.session.scalar(select(Job).where(Job.kind == "candidate_verify").order_by(Job.id.desc()))
    assert job.result["total"] == 1 and job.result["passed"] == 1
    assert db.session.get(Candidate, first.id).state == S.ACCURATE
    assert db.session.get(Candidate, second.id).state == S.NEEDS_REVIEW
    page = client.post("/candidates/verify-batch", data={"scope": "pending"},
                       follow_redirects=True).get_data(as_text=True)
    assert "没有「信息待认证」的考生" in page


def test_batch_needs_a_selection(client, school_user):
    login_as(client, school_user)
    page = client.post("/candidates/verify-batch", data={"scope": "selected"},
                       follow_redirects=True).get_data(as_text=True)
    assert "请先勾选要认证的考生" in page
    assert db.session.scalar(select(Job).where(Job.kind == "candidate_verify")) is None
    login_as(client, make_user("org"))
    assert client.post("/candidates/verify-batch", data={"scope": "pending"}).status_code == 403


def test_the_candidate_list_shows_why_verification_failed(client, school_user):
    failed, passed = add(school_user, name="缺照片", photo=False), add(school_user, name="王合格")
    for candidate in (failed, passed):
        verification.request_verification(school_user, candidate.id)
    login_as(client, school_user)
    page = client.get("/candidates/?state=需人工确认").get_data(as_text=True)
    assert "认证未通过原因" in page and "缺照片" in page and "没有照片：请先上传考生照片" in page
    assert "王合格" not in page
