"""After the exam a registration reads its result (合格 / 不合格 / 缺考 / 违纪, 成绩公示中 during the
display) beside its state, everywhere it is shown; the registration states themselves stay."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from examadmin.extensions import db
from examadmin.registrations import outcomes
from examadmin.registrations.states import RegistrationState
from examadmin.scores.states import PublicationStage
from tests.conftest import login_as
from tests.scores.factories_stats import make_scored_plan, school_site
from tests.sites.factories import make_user

P = PublicationStage


@pytest.fixture
def held():
    """A plan with final results: one person passed, one failed, one absent, one broke the rules."""
    plan = make_scored_plan(P.FINAL)
    site, school_user = school_site()
    people = {
        "合格者": plan.add(site, [80, 70.5], name="合格者"),
        "不合格者": plan.add(site, [59.5, 90], name="不合格者"),
        "缺考者": plan.add(site, ["缺考", "缺考"], name="缺考者"),
        "违纪者": plan.add(site, [88, "违纪"], name="违纪者"),
        "半缺考": plan.add(site, ["缺考", 75], name="半缺考"),
    }
    return plan, site, school_user, people


def _labels(people) -> dict[str, str]:
    found = outcomes.outcomes([p.registration for p in people.values()])
    return {name: found[p.registration.id].label for name, p in people.items() if p.registration.id in found}


def test_final_results_read_passed_failed_absent_or_violation(held):
    plan, _, _, people = held
    assert _labels(people) == {"合格者": "合格", "不合格者": "不合格", "缺考者": "缺考", "违纪者": "违纪",
                               "半缺考": "不合格"}  # sat one subject: failed, not absent
    assert all(o.final for o in outcomes.outcomes([p.registration for p in people.values()]).values())
    # the registration state machine is untouched: they are all still 已排考
    assert {p.registration.state for p in people.values()} == {RegistrationState.SCHEDULED}


def test_during_the_display_they_read_on_display_and_before_it_nothing(held):
    plan, _, _, people = held
    plan.set_stage(P.DISPLAY)
    assert set(_labels(people).values()) == {"成绩公示中"}
    assert not any(o.final for o in outcomes.outcomes([p.registration for p in people.values()]).values())
    plan.set_stage(P.ENTERING)  # only the org sees scores: the state says enough
    assert _labels(people) == {}


def test_a_registration_not_scheduled_has_no_outcome_and_costs_no_query(held):
    _, _, _, people = held
    reg = people["合格者"].registration
    reg.state = RegistrationState.CANCELLED
    statements = []
    listener = lambda *args, **kwargs: statements.append(args[2])  # noqa: E731
    connection = db.session.connection()
    event.listen(connection, "before_cursor_execute", listener)
    try:
        assert outcomes.outcomes([reg]) == {}
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    assert statements == []


def _cell_of(body: str, name: str) -> str:
    table = body.split('data-testid="reg-table"', 1)[1]
    row = next(r for r in table.split("<tr>") if f"<td>{name}</td>" in r)
    return row


def test_the_school_sees_the_results_on_its_lists_and_pages(client, held):
    plan, _, school_user, people = held
    login_as(client, school_user)
    body = client.get(f"/registrations/?plan_id={plan.plan.id}").get_data(as_text=True)
    for name, label in (("合格者", "合格"), ("不合格者", "不合格"), ("缺考者", "缺考"), ("违纪者", "违纪")):
        row = _cell_of(body, name)
        assert re.search(rf'data-testid="reg-outcome"[^>]*>{label}<', row), name
        assert 'data-testid="reg-state">已排考<' in row  # the state stays, the result is shown beside it
    detail = client.get(f"/registrations/{people['不合格者'].registration.id}").get_data(as_text=True)
    assert re.search(r'data-testid="reg-result">.*?>不合格<', detail, re.S) and "成绩已发布" in detail
    candidates = client.get("/candidates/").get_data(as_text=True)
    cells = re.findall(r'data-testid="candidate-registrations">(.*?)</td>', candidates, re.S)
    assert any("· 合格</a>" in c for c in cells) and any("· 缺考</a>" in c for c in cells)
    assert "已排考" not in "".join(cells)
    one = client.get(f"/candidates/{people['违纪者'].candidate.id}").get_data(as_text=True)
    assert re.search(r'data-testid="candidate-registrations">.*?· 违纪</a>', one, re.S)


def test_the_candidate_reads_the_result_on_the_portal(client, held):
    plan, site, _, people = held
    user = make_user("candidate", school=site.school)
    user.candidate_id = people["合格者"].candidate.id
    login_as(client, user)
    body = client.get("/portal/").get_data(as_text=True)
    assert re.findall(r'data-testid="portal-reg-state">([^<]*)<', body) == ["合格"]
    plan.set_stage(P.DISPLAY)
    db.session.commit()
    body = client.get("/portal/").get_data(as_text=True)
    assert re.findall(r'data-testid="portal-reg-state">([^<]*)<', body) == ["成绩公示中"]


def test_before_the_display_the_pages_still_read_scheduled(client, held):
    plan, _, school_user, people = held
    plan.set_stage(P.ENTERING)
    login_as(client, school_user)
    body = client.get(f"/registrations/?plan_id={plan.plan.id}").get_data(as_text=True)
    assert 'data-testid="reg-outcome"' not in body and _cell_of(body, "合格者").count("已排考") == 1


def test_another_schools_registrations_are_not_shown(client, held):
    plan, _, _, _ = held
    other_site, other_user = school_site()
    plan.add(other_site, [90, 90], name="别校合格")
    login_as(client, other_user)
    body = client.get(f"/registrations/?plan_id={plan.plan.id}").get_data(as_text=True)
    table = body.split('data-testid="reg-table"', 1)[1]
    assert "别校合格" in table and "合格者" not in table and table.count('data-testid="reg-outcome"') == 1


def _queries(client, url: str) -> int:
    count = [0]
    connection = db.session.connection()
    listener = lambda *args, **kwargs: count.__setitem__(0, count[0] + 1)  # noqa: E731
    event.listen(connection, "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    return count[0]


@pytest.mark.parametrize("url", ["/registrations/?plan_id={plan}", "/candidates/"])
def test_the_results_cost_one_query_per_page_whatever_the_rows(client, url):
    plan = make_scored_plan(P.FINAL)
    site, school_user = school_site()
    plan.add(site, [80, 80])
    login_as(client, school_user)
    url = url.format(plan=plan.plan.id)
    client.get(url)  # warm the per-role menu
    few = _queries(client, url)
    for marks in ([50, 80], ["缺考", "缺考"], [70, "违纪"], [90, 90], [61, 62], [10, 20]):
        plan.add(site, marks)
    db.session.commit()
    body = client.get(url).get_data(as_text=True)
    shown = re.findall(r'data-testid="reg-outcome"[^>]*>([^<]*)<', body) or \
        re.findall(r'· ([^<·]*)</a>', "".join(re.findall(r'data-testid="candidate-registrations">(.*?)</td>', body, re.S)))
    assert sorted(shown) == sorted(["合格", "不合格", "缺考", "违纪", "合格", "合格", "不合格"])  # every row
    assert _queries(client, url) == few
