"""The holder records hours in the portal (issue 14 item 1, "Bad input"): each rule refused with
its reason; the list with state and reason; a returned record corrected and resubmitted."""
from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from examadmin.core.audit import AuditLog
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.hours import services
from examadmin.hours.models import HoursKind, HoursRecord
from examadmin.hours.states import HoursState
from tests.conftest import login_as
from tests.hours.factories import PDF, PNG, add_hours, days_ago, holder
from tests.sites.factories import make_user


def record(user, *, kind="督导", day=None, provider="重庆心理督导中心", hours="3.5", name="证明.pdf", data=PDF):
    return services.record_hours(user, kind, (day or days_ago(3)).isoformat(), provider, hours, name, data)


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(HoursRecord))


def test_a_holder_records_hours_which_wait_for_review_and_are_audited():
    candidate, user = holder()
    saved = record(user)
    assert saved.state == HoursState.PENDING and saved.hours == Decimal("3.5") and saved.kind == HoursKind.SUPERVISION
    assert (saved.id_number, saved.school_id, saved.candidate_id) == (candidate.id_number, candidate.school_id,
                                                                      candidate.id)
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "hours_record.create"))
    assert entry.after["hours"] == "3.5" and candidate.id_number not in str(entry.after)
    # only verified hours count
    assert services.verified_hours(candidate.id_type, candidate.id_number) == 0


@pytest.mark.parametrize("hours,message", [
    ("0", "须大于 0"), ("-2", "须大于 0"), ("24.5", "超过一天 24 小时"), ("2.25", "最多保留一位小数"),
    ("abc", "不是数字"), ("", "请填写学时"), ("NaN", "不是数字"),
    # Decimal reads these as numbers; a person does not write hours so (the scores refuse them too)
    ("2e1", "不是数字"), ("0.5e1", "不是数字"), ("1e2", "不是数字"), ("\u0663", "不是数字"), ("Infinity", "不是数字"),
])
def test_bad_hours_are_refused_with_the_reason(hours, message):
    _, user = holder()
    with pytest.raises(DomainError, match=message):
        record(user, hours=hours)
    assert count() == 0


def test_hours_typed_with_full_width_digits_are_the_same_number():
    _, user = holder()
    assert record(user, hours="２．５").hours == Decimal("2.5")


def test_twenty_four_hours_in_one_record_is_the_most():
    _, user = holder()
    assert record(user, hours="24").hours == 24


def test_a_date_in_the_future_is_refused():
    _, user = holder()
    with pytest.raises(DomainError, match="晚于今天"):
        record(user, day=days_ago(-1))
    assert record(user, day=days_ago(0)).date == days_ago(0)


def test_the_days_total_of_a_person_may_not_pass_24_hours_but_a_returned_record_does_not_count():
    candidate, user = holder()
    first = record(user, hours="20")
    with pytest.raises(DomainError, match="已记录 20.0 小时，加上本条 5.0 小时共 25.0 小时"):
        record(user, hours="5")
    assert record(user, hours="4", kind="实践").hours == 4  # 24 in all
    reviewer = make_user("school", school=candidate.school)
    services.return_record(reviewer, first.id, "证明不清晰")
    assert record(user, hours="5", day=days_ago(3)).hours == 5  # the returned 20 is out until resubmitted
    with pytest.raises(DomainError, match="超过每天 24 小时"):
        services.resubmit_hours(user, first.id, "督导", days_ago(3).isoformat(), "机构", "20")


def test_the_days_total_counts_the_person_across_schools():
    candidate, user = holder()
    record(user, hours="20")
    other_school_record = holder(number=candidate.id_number)[1]  # the same person entered at another school
    with pytest.raises(DomainError, match="超过每天 24 小时"):
        record(other_school_record, hours="5")


@pytest.mark.parametrize("name,data", [
    ("证明.pdf", b"MZ\x90\x00 not a pdf"), ("photo.jpg", b"GIF89a..."), ("empty.pdf", b""),
])
def test_evidence_that_is_not_pdf_or_image_is_refused_by_its_first_bytes(name, data):
    _, user = holder()
    with pytest.raises(DomainError, match="证明材料"):
        record(user, name=name, data=data)
    assert count() == 0


def test_a_png_named_anything_is_accepted():
    _, user = holder()
    assert record(user, name="scan.bin", data=PNG).evidence_key.endswith(".png")


def test_kind_and_provider_are_required():
    _, user = holder()
    with pytest.raises(DomainError, match="学时类别「读书」无效"):
        record(user, kind="读书")
    with pytest.raises(DomainError, match="请填写培训或实践机构"):
        record(user, provider="  ")


def test_only_a_candidate_records_hours():
    with pytest.raises(Exception) as refused:
        services.record_hours(make_user("school"), "督导", days_ago(1).isoformat(), "x", "1", "a.pdf", PDF)
    assert getattr(refused.value, "code", None) == 403


def test_verified_hours_sums_kinds_and_dates_inclusively():
    candidate, _ = holder()
    add_hours(candidate, "继续教育", "10", on=days_ago(30))
    add_hours(candidate, "继续教育", "2.5", on=days_ago(20))
    add_hours(candidate, "督导", "7", on=days_ago(20))
    add_hours(candidate, "继续教育", "100", on=days_ago(20), state=HoursState.PENDING)
    add_hours(candidate, "继续教育", "100", on=days_ago(20), state=HoursState.RETURNED)
    person = (candidate.id_type, candidate.id_number)
    assert services.verified_hours(*person) == Decimal("19.5")
    assert services.verified_hours(*person, kinds=["继续教育"]) == Decimal("12.5")
    assert services.verified_hours(*person, kinds=[HoursKind.CONTINUING], since=days_ago(20)) == Decimal("2.5")
    assert services.verified_hours(*person, until=days_ago(30)) == Decimal("10")
    assert services.verified_hours(*person, since=days_ago(19)) == 0
    assert services.verified_hours(candidate.id_type, "110101199001011237") == 0


# ---- the portal pages --------------------------------------------------------------------

def test_the_portal_page_records_lists_and_resubmits(client):
    candidate, user = holder()
    login_as(client, user)
    page = client.get("/hours/mine").get_data(as_text=True)
    assert "我的学时" in page and "暂无学时记录" in page
    response = client.post("/hours/mine", data={
        "kind": "实践", "date": days_ago(2).isoformat(), "provider": "社区心理服务站", "hours": "6",
        "evidence": (io.BytesIO(PDF), "实践证明.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302
    saved = db.session.scalar(select(HoursRecord))
    assert saved.state == HoursState.PENDING and saved.provider == "社区心理服务站"
    bad = client.post("/hours/mine", data={
        "kind": "实践", "date": days_ago(2).isoformat(), "provider": "x", "hours": "-1",
        "evidence": (io.BytesIO(PDF), "a.pdf")}, content_type="multipart/form-data")
    assert bad.status_code == 200 and "学时须大于 0" in bad.get_data(as_text=True)
    services.return_record(make_user("org"), saved.id, "证明材料缺少机构盖章")
    db.session.commit()
    listing = client.get("/hours/mine").get_data(as_text=True)
    assert "已退回" in listing and "证明材料缺少机构盖章" in listing and "修改后重新提交" in listing
    edit = client.get(f"/hours/mine/{saved.id}/edit").get_data(as_text=True)
    assert "证明材料缺少机构盖章" in edit and "社区心理服务站" in edit
    done = client.post(f"/hours/mine/{saved.id}/edit", data={
        "kind": "实践", "date": days_ago(2).isoformat(), "provider": "社区心理服务站", "hours": "5.5",
        "evidence": (io.BytesIO(PNG), "盖章证明.png")}, content_type="multipart/form-data")
    assert done.status_code == 302
    db.session.refresh(saved)
    assert (saved.state, saved.hours, saved.return_reason) == (HoursState.PENDING, Decimal("5.5"), "")
    assert saved.evidence_key.endswith(".png")
    evidence = client.get(f"/hours/{saved.id}/evidence")
    assert evidence.status_code == 200 and evidence.data == PNG
    evidence.close()


def test_only_a_returned_record_can_be_resubmitted():
    _, user = holder()
    saved = record(user)
    with pytest.raises(DomainError, match="只有已退回的记录可以修改后重新提交"):
        services.resubmit_hours(user, saved.id, "督导", days_ago(3).isoformat(), "x", "1")


def test_a_holder_sees_the_records_of_their_person_only(client):
    candidate, user = holder()
    mine = add_hours(candidate, "督导", "2")
    other, other_user = holder()
    theirs = add_hours(other, "督导", "3")
    assert [r.id for r in services.own_records(user)] == [mine.id]
    login_as(client, user)
    assert client.get(f"/hours/{theirs.id}/evidence").status_code == 404
    assert client.get(f"/hours/mine/{theirs.id}/edit").status_code == 404


def test_a_resubmission_is_audited_with_what_changed():
    candidate, user = holder()
    saved = record(user, hours="3")
    services.return_record(make_user("org"), saved.id, "学时有误")
    services.resubmit_hours(user, saved.id, "督导", days_ago(3).isoformat(), "重庆心理督导中心", "2.5")
    change = db.session.scalar(select(AuditLog).where(AuditLog.action == "hours_record.update"))
    assert (change.before["hours"], change.after["hours"]) == ("3.0", "2.5")
    moves = db.session.scalars(select(AuditLog.action).where(AuditLog.entity_type == "hours_record",
                                                             AuditLog.entity_id == saved.id)).all()
    assert moves.count("hours_record.resubmit") == 1 and "hours_record.return" in moves
