"""The to-do list on every dashboard: what waits for this user, counted in its scope, linked."""
from __future__ import annotations

import html
from urllib.parse import unquote
import re

import pytest

from examadmin.candidates import corrections, verification
from examadmin.candidates.models import Candidate
from examadmin.core import jobs, todo
from examadmin.core.jobs import JobState
from examadmin.extensions import db
from examadmin.pilots import services as pilots
from tests.candidates.test_corrections import PDF
from tests.candidates.test_verification import add
from tests.conftest import login_as, make_city, make_school, make_user
from tests.pilots.conftest import apply, make_plan
from tests.sites.factories import make_site

TODO = re.compile(r'<a class="list-group-item[^"]*" href="([^"]+)" data-testid="todo">\s*'
                  r'<span><span class="fw-semibold">([^<]+)</span>.*?data-testid="todo-count">(\d+)</span>', re.S)


def todos(client, user) -> dict[str, tuple[int, str]]:
    """label -> (count, link) as the user's dashboard shows them."""
    login_as(client, user)
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="todos"' in page
    return {label: (int(count), unquote(html.unescape(href))) for href, label, count in TODO.findall(page)}


def test_applications_wait_for_the_city_then_the_province_and_a_return_for_the_school(client):
    city = make_city("50")
    school_user = make_user("school", school=make_school("50", city=city, name="待办测试学院"))
    city_user, other_city = make_user("city", city=city), make_user("city", province_code="50")
    province_user, other_province = make_user("province", province_code="50"), make_user("province", province_code="11")
    application = apply(school_user, make_plan(city_review=True), submit=True)

    count, link = todos(client, city_user)["待审核的试点申报"]
    assert count == 1 and link == "/pilots/applications?state=市级审核中"
    assert "待办测试学院" in client.get(link).get_data(as_text=True)
    assert "待审核的试点申报" not in todos(client, other_city)
    assert "待审批的试点申报" not in todos(client, province_user)

    pilots.pass_to_province(city_user, application.id)
    assert "待审核的试点申报" not in todos(client, city_user)
    assert todos(client, province_user)["待审批的试点申报"] == (1, "/pilots/applications?state=省级审核中")
    assert "待审批的试点申报" not in todos(client, other_province)

    pilots.return_application(province_user, application.id, "请核对在校学生数")
    assert todos(client, school_user)["被退回的试点申报"] == (1, "/pilots/applications?state=审核退回")
    assert "被退回的试点申报" not in todos(client, make_user("school"))


def test_the_org_sees_sites_and_corrections_to_review(client):
    org = make_user("org")
    school_user = make_user("school")
    make_site(school_user, approved=False)
    candidate = add(school_user)
    verification.request_verification(school_user, candidate.id)
    corrections.file_correction(school_user, candidate.id, {"name": "新名字", "id_type": "居民身份证",
                                                            "id_number": candidate.id_number},
                                "改名", "函.pdf", PDF)
    items = todos(client, org)
    assert items["待审核的考核站点"] == (1, "/sites/?state=待审核")
    assert items["待审核的信息更正"] == (1, "/candidates/corrections?state=待审核")
    assert candidate.name in client.get(items["待审核的信息更正"][1]).get_data(as_text=True)
    assert "待审核的考核站点" not in todos(client, school_user)


def test_a_school_sees_candidates_to_confirm_and_answered_corrections(client):
    school_user, org = make_user("school"), make_user("org")
    failing = add(school_user, name="缺照片的考生", photo=False)
    verification.request_verification(school_user, failing.id)
    locked = add(school_user)
    verification.request_verification(school_user, locked.id)
    request = corrections.file_correction(school_user, locked.id, {"name": "另一个名字", "id_type": "居民身份证",
                                                                   "id_number": locked.id_number},
                                          "改名", "函.pdf", PDF)
    corrections.reject_correction(org, request.id, "函件未盖章")
    items = todos(client, school_user)
    assert items["需人工确认的考生"] == (1, "/candidates/?state=需人工确认")
    assert "缺照片的考生" in client.get(items["需人工确认的考生"][1]).get_data(as_text=True)
    assert items["被驳回的信息更正（近 30 天）"] == (1, "/candidates/corrections?state=已驳回")
    assert "已通过的信息更正（近 30 天）" not in items  # nothing waiting: not listed
    other = todos(client, make_user("school"))
    assert other == {}
    login_as(client, make_user("school"))
    assert "暂无待办事项" in client.get("/").get_data(as_text=True)


def test_the_sysadmin_sees_failed_jobs(client):
    admin, org = make_user("sysadmin"), make_user("org")
    job = jobs.submit(org, "audit_export", {})
    jobs.JOB.move(job, "fail", None)
    db.session.flush()
    assert job.state == JobState.FAILED
    assert todos(client, admin)["近 7 天失败的后台任务"] == (1, "/jobs/")
    assert todos(client, org)["近 7 天我的失败任务"] == (1, "/jobs/")
    assert "近 7 天我的失败任务" not in todos(client, make_user("org"))


@pytest.fixture
def extra_source():
    @todo.source("test.unpaid")
    def unpaid(user):
        return [todo.Todo("未缴费的报名", 3, "/somewhere", "请在截止日前缴费")] if user.role == "school" else []
    yield
    del todo.SOURCES["test.unpaid"]


def test_a_later_area_adds_its_todo_by_registering_a_source(client, extra_source):
    assert todos(client, make_user("school"))["未缴费的报名"] == (3, "/somewhere")
    assert "未缴费的报名" not in todos(client, make_user("org"))


def _selects_of(client, url: str) -> list[str]:
    from sqlalchemy import event

    statements: list[str] = []
    connection = db.session.connection()
    listener = lambda *args, **kwargs: statements.append(args[2])  # noqa: E731
    event.listen(connection, "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    return [q for q in statements if q.lstrip().upper().startswith("SELECT")]


def test_a_schools_dashboard_counts_its_todos_in_one_query(client):
    """Nine sources count for a school; they are asked together: the dashboard takes the user (with
    its school), its recent activity, its jobs and one query of counts."""
    school_user = make_user("school")
    add(school_user)
    login_as(client, school_user)
    selects = _selects_of(client, "/")
    assert len(selects) <= 4, "\n\n".join(q[:200] for q in selects)
    counting = [q for q in selects if "count(" in q.lower()]
    assert len(counting) == 1 and counting[0].lower().count("count(") >= 9


@pytest.fixture
def arithmetic_source():
    @todo.source("test.sum")
    def both(user):
        if user.role != "school":
            return []
        candidates = todo.count_in_scope(user, Candidate)
        total = candidates + todo.count_in_scope(user, Candidate, Candidate.hidden.is_(False))
        return [todo.Todo("两项合计", total, "/candidates/"), todo.Todo("考生", candidates, "/candidates/")]
    yield
    del todo.SOURCES["test.sum"]


def test_a_source_that_computes_with_its_counts_gets_numbers(client, arithmetic_source):
    school_user = make_user("school")
    add(school_user)
    shown = todos(client, school_user)
    assert shown["考生"][0] == 1 and shown["两项合计"][0] == 2
