"""Review of hours by the holder's school or the org (issue 14 item 1): verify or return with a
reason, the list's filters and pagination, bulk 核验, evidence through the scope check, the to-do."""
from __future__ import annotations

from datetime import timedelta

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
    assert "共 1 条" in client.get("/hours/?state=all&kind=督导").get_data(as_text=True)
    assert "共 0 条" in client.get("/hours/?kind=督导").get_data(as_text=True)  # the default tab is 待审核
    assert "共 25 条" in client.get("/hours/?provider=社区").get_data(as_text=True)
    assert "共 26 条" in client.get("/hours/?state=火星&kind=x&provider=").get_data(as_text=True)  # unknown: ignored
    assert "共 0 条" in client.get("/hours/?state=all&provider=%25_").get_data(as_text=True)  # LIKE wildcards are text
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


def _names(page: str) -> list[str]:
    import re

    return re.findall(r'<td>([^<]+)<div class="text-secondary font-monospace">', page)


def test_the_list_at_scale_waits_first_searches_and_filters_by_school_and_province(client):
    """The default tab is 待审核, the longest waiting first; search by the holder's name or ID number
    (posted, kept out of the URL); the org narrows by school and province."""
    from tests.sites.factories import make_school

    here = make_user("school", school=make_school("50"))
    there = make_user("school", school=make_school("11"))
    ann, _ = holder(here, name="安晓雨")
    bob, _ = holder(here, name="包建国")
    cai, _ = holder(there, name="蔡文静")
    old = add_hours(ann, "实践", "1", on=days_ago(9), state=HoursState.PENDING)
    newer = add_hours(bob, "实践", "1", on=days_ago(8), state=HoursState.PENDING)
    done = add_hours(cai, "实践", "1", on=days_ago(7))
    old.created_at = newer.created_at - timedelta(days=2)
    db.session.flush()
    org = make_user("org")
    login_as(client, org)
    page = client.get("/hours/").get_data(as_text=True)
    assert _names(page) == ["安晓雨", "包建国"]  # 待审核 only, the oldest first
    everything = client.get("/hours/?state=all").get_data(as_text=True)
    assert _names(everything) == ["安晓雨", "包建国", "蔡文静"]  # waiting first, then the rest
    # search by name (part of it) and by the whole ID number, posted
    found = client.post("/hours/", data={"q": "建国", "state": "all"})
    assert found.status_code == 302 and "建国" not in found.headers["Location"]
    assert _names(client.get(found.headers["Location"]).get_data(as_text=True)) == ["包建国"]
    by_number = client.post("/hours/", data={"q": cai.id_number.lower(), "state": "all"})
    assert cai.id_number not in by_number.headers["Location"]
    assert _names(client.get(by_number.headers["Location"]).get_data(as_text=True)) == ["蔡文静"]
    # the org's school and province filters
    assert _names(client.get(f"/hours/?state=all&school_id={there.school_id}").get_data(as_text=True)) == ["蔡文静"]
    chongqing = here.school.province_id
    assert _names(client.get(f"/hours/?state=all&province_id={chongqing}").get_data(as_text=True)) == [
        "安晓雨", "包建国"]
    assert 'data-testid="school-filter"' in page and 'data-testid="province-filter"' in page
    # a school's own list has no such filters, and a foreign school_id narrows nothing into view
    login_as(client, here)
    own = client.get(f"/hours/?state=all&school_id={there.school_id}").get_data(as_text=True)
    assert 'data-testid="school-filter"' not in own and _names(own) == ["安晓雨", "包建国"]
    assert done.id
