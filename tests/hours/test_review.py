"""Review of hours by the holder's school or the org (issue 14 item 1): verify or return with a
reason, the list's filters and pagination, bulk 核验, evidence through the scope check, the to-do."""
from __future__ import annotations

from sqlalchemy import select

from examadmin.core.audit import AuditLog
from examadmin.core.errors import DomainError
from examadmin.core.todo import todos_for
from examadmin.extensions import db
from examadmin.hours import services
from examadmin.hours.states import HoursState
from tests.conftest import login_as
from tests.hours.factories import PDF, add_hours, days_ago, holder
from tests.sites.factories import make_user

import pytest


def pending(user, hours="2", kind="督导", provider="重庆心理督导中心", day=3):
    return services.record_hours(user, kind, days_ago(day).isoformat(), provider, hours, "证明.pdf", PDF)


def test_the_school_verifies_its_own_graduates_records_and_it_is_audited():
    school = make_user("school")
    candidate, user = holder(school)
    saved = pending(user)
    services.verify_records(school, [saved.id])
    assert saved.state == HoursState.VERIFIED and saved.reviewer_id == school.id and saved.reviewed_at
    assert services.verified_hours(candidate.id_type, candidate.id_number) == 2
    assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "hours_record.verify",
                                                       AuditLog.entity_id == saved.id))


def test_another_school_cannot_see_or_touch_the_records(client):
    candidate, user = holder()
    saved = pending(user)
    stranger = make_user("school")
    with pytest.raises(Exception) as refused:
        services.verify_records(stranger, [saved.id])
    assert getattr(refused.value, "code", None) == 404
    with pytest.raises(Exception) as refused:
        services.return_record(stranger, saved.id, "不是本校")
    assert getattr(refused.value, "code", None) == 404
    login_as(client, stranger)
    assert client.get(f"/hours/{saved.id}").status_code == 404
    assert client.get(f"/hours/{saved.id}/evidence").status_code == 404
    assert client.post("/hours/verify", data={"record_id": str(saved.id)}).status_code == 404
    assert candidate.name not in client.get("/hours/").get_data(as_text=True)
    assert saved.state == HoursState.PENDING


def test_the_org_sees_every_school_and_returns_with_a_reason():
    _, user = holder()
    saved = pending(user)
    org = make_user("org")
    with pytest.raises(DomainError, match="退回时须填写原因"):
        services.return_record(org, saved.id, "  ")
    services.return_record(org, saved.id, "证明与日期不符")
    assert saved.state == HoursState.RETURNED and saved.return_reason == "证明与日期不符"
    with pytest.raises(DomainError, match="不能执行「退回」"):
        services.return_record(org, saved.id, "再退一次")


def test_bulk_verify_is_all_or_none():
    school = make_user("school")
    _, user = holder(school)
    a, b = pending(user, day=3), pending(user, day=4)
    services.return_record(school, b.id, "材料不清")
    with pytest.raises(DomainError, match="不是待审核状态，未核验任何记录"):
        services.verify_records(school, [a.id, b.id])
    assert a.state == HoursState.PENDING
    with pytest.raises(DomainError, match="请至少选择一条"):
        services.verify_records(school, [])


def test_the_list_filters_by_state_kind_and_provider_and_pages(client, app):
    school = make_user("school")
    candidate, user = holder(school)
    for day in range(1, 26):
        add_hours(candidate, "实践", "1", on=days_ago(day), state=HoursState.PENDING, provider="社区心理服务站")
    add_hours(candidate, "督导", "2", provider="重庆心理督导中心")
    login_as(client, school)
    page = client.get("/hours/?state=待审核").get_data(as_text=True)
    assert "共 25 条" in page and "第 1 / 2 页" in page and "重庆心理督导中心" not in page
    assert "共 1 条" in client.get("/hours/?kind=督导").get_data(as_text=True)
    assert "共 25 条" in client.get("/hours/?provider=社区").get_data(as_text=True)
    assert "共 26 条" in client.get("/hours/?state=火星&kind=x&provider=").get_data(as_text=True)  # unknown: ignored
    assert "共 0 条" in client.get("/hours/?provider=%25_").get_data(as_text=True)  # LIKE wildcards are text
    assert candidate.id_number not in page  # masked in lists


def test_bulk_verify_through_the_page(client):
    school = make_user("school")
    _, user = holder(school)
    a, b = pending(user, day=3), pending(user, day=4)
    db.session.commit()
    login_as(client, school)
    response = client.post("/hours/verify", data={"record_id": [str(a.id), str(b.id)], "back": "/hours/?state=待审核"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/hours/")
    assert (a.state, b.state) == (HoursState.VERIFIED, HoursState.VERIFIED)
    stale = client.post("/hours/verify", data={"record_id": str(a.id)}, follow_redirects=True)
    assert "不是待审核状态" in stale.get_data(as_text=True)


def test_the_show_page_returns_with_a_reason_and_shows_the_evidence(client):
    school = make_user("school")
    _, user = holder(school)
    saved = pending(user)
    db.session.commit()
    login_as(client, school)
    page = client.get(f"/hours/{saved.id}").get_data(as_text=True)
    assert "核验通过" in page and "证明.pdf" in page
    evidence = client.get(f"/hours/{saved.id}/evidence")
    assert evidence.data == PDF and evidence.mimetype == "application/pdf"
    evidence.close()
    empty = client.post(f"/hours/{saved.id}", data={"reason": ""}).get_data(as_text=True)
    assert "请填写退回原因" in empty and saved.state == HoursState.PENDING
    client.post(f"/hours/{saved.id}", data={"reason": "请补充机构盖章"})
    assert saved.state == HoursState.RETURNED and saved.return_reason == "请补充机构盖章"
    assert "请补充机构盖章" in client.get(f"/hours/{saved.id}").get_data(as_text=True)


def test_waiting_records_are_a_to_do_of_the_school_and_the_org_only():
    school = make_user("school")
    _, user = holder(school)
    pending(user, day=3)
    pending(user, day=4)
    labels = {t.label: t.count for t in todos_for(school)}
    assert labels.get("待审核的学时记录") == 2
    assert {t.label: t.count for t in todos_for(make_user("org"))}["待审核的学时记录"] == 2
    assert "待审核的学时记录" not in {t.label for t in todos_for(make_user("school"))}
    assert "待审核的学时记录" not in {t.label for t in todos_for(make_user("province"))}
