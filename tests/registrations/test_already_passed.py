"""A live registration of a level its person passed in another plan (registered in both before
either was published): marked 已通过该等级 with what to do, filtered, and counted in the
school's (its own) and the org's (all) to-dos."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from examadmin.catalog.models import Level
from examadmin.core import clock, todo
from examadmin.extensions import db
from examadmin.registrations import outcomes
from examadmin.registrations.models import Registration
from examadmin.registrations.states import RegistrationState
from examadmin.scores.states import PublicationStage
from tests.conftest import login_as
from tests.scheduling.factories import make_candidate, make_registration
from tests.scores.factories_stats import make_scored_plan, school_site
from tests.sites.factories import make_site, make_user

P, S = PublicationStage, RegistrationState
LABEL = "已通过该等级、仍在其他计划报考"


class World:
    """Plan A (results final) where people passed or failed 初级; plan B (results not final) where
    the same people hold registrations of 初级."""

    def __init__(self):
        self.a = make_scored_plan(P.FINAL)
        self.b = make_scored_plan(P.ENTERING)
        self.site, self.school_user = school_site()

    def passed_in_a(self, name: str, state: S = S.PAID, marks=(80, 80), site=None):
        site = site or self.site
        scored = self.a.add(site, list(marks), name=name)
        return make_registration(scored.candidate, self.b.plan, site, state=state)

    def ids(self) -> set[int]:
        return set(db.session.scalars(select(Registration.id).where(outcomes.already_passed_clause())))


def _todos(user) -> dict[str, tuple[int, str]]:
    return {t.label: (t.count, t.url) for t in todo.todos_for(user)}


@pytest.fixture
def world():
    return World()


def test_live_registrations_of_a_level_passed_elsewhere_are_found(world):
    unpaid = world.passed_in_a("未缴费者", S.UNPAID)
    paid = world.passed_in_a("已缴费者", S.PAID)
    scheduled = world.passed_in_a("已排考者", S.SCHEDULED)
    cancelled = world.passed_in_a("已取消者", S.CANCELLED)
    failed = world.passed_in_a("不合格者", S.PAID, marks=(50, 80))
    absent = world.passed_in_a("缺考者", S.PAID, marks=("缺考", "缺考"))
    fresh = make_registration(make_candidate(world.site.school_id, name="新考生"), world.b.plan, world.site)
    assert world.ids() == {unpaid.id, paid.id, scheduled.id}
    assert cancelled.id not in world.ids() and failed.id not in world.ids() and absent.id not in world.ids()
    assert fresh.id not in world.ids()
    found = outcomes.already_passed([unpaid, paid, scheduled, cancelled, failed, fresh])
    assert set(found) == {unpaid.id, paid.id, scheduled.id}
    [(plan_in)] = found[paid.id]
    assert plan_in.plan_id == world.a.plan.id and plan_in.plan_name == world.a.plan.name


def test_only_final_results_count_and_only_while_the_other_plan_is_not_final(world):
    reg = world.passed_in_a("公示者")
    world.a.set_stage(P.DISPLAY)  # the pass is not final yet: nothing to do
    assert reg.id not in world.ids() and outcomes.already_passed([reg]) == {}
    world.a.set_stage(P.FINAL)
    assert reg.id in world.ids()
    world.b.set_stage(P.FINAL)  # the registration's own plan has final results: past acting on it
    assert reg.id not in world.ids() and outcomes.already_passed([reg]) == {}


def test_a_lapsed_registration_or_another_level_does_not_count(world):
    reg = world.passed_in_a("逾期者", S.UNPAID)
    world.b.plan.payment_deadline = clock.now() - timedelta(hours=1)  # unpaid past the deadline: lapsed
    db.session.flush()
    assert reg.id not in world.ids()
    # a pass of 初级 does not touch a registration of 中级
    middle_site = make_site(world.school_user, Level.MIDDLE)
    middle_plan = make_scored_plan(P.ENTERING, level=Level.MIDDLE)
    scored = world.a.add(world.site, [90, 90], name="中级考生")
    middle = make_registration(scored.candidate, middle_plan.plan, middle_site, state=S.PAID)
    assert middle.id not in world.ids()


def test_the_to_do_counts_the_schools_own_and_the_org_all(world):
    world.passed_in_a("本校甲")
    world.passed_in_a("本校乙", S.SCHEDULED)
    other_site, other_user = school_site()
    world.passed_in_a("别校甲", site=other_site)
    org = make_user("org")
    assert _todos(world.school_user)[LABEL][0] == 2
    assert _todos(other_user)[LABEL][0] == 1  # another school's are not counted
    assert _todos(org)[LABEL][0] == 3
    assert _todos(org)[LABEL][1].endswith("/registrations/?plan_id=&passed_level=1")
    assert LABEL not in _todos(make_user("province"))


def test_the_to_do_links_to_the_list_of_only_them_with_the_mark(client, world):
    world.passed_in_a("已过甲")
    make_registration(make_candidate(world.site.school_id, name="未考过"), world.b.plan, world.site)
    other_site, _ = school_site()
    world.passed_in_a("别校过", site=other_site)
    login_as(client, world.school_user)
    link = _todos(world.school_user)[LABEL][1]
    body = client.get(link).get_data(as_text=True)
    table = body.split('data-testid="reg-table"', 1)[1]
    assert "已过甲" in table and "未考过" not in table and "别校过" not in table
    short = world.a.plan.short_name
    assert re.search(rf'data-testid="reg-passed-level"[^>]*>已通过该等级（{re.escape(short)}）<', table)
    assert 'data-testid="passed-level-hint"' in body and "指标退回本校" in body
    # the unfiltered list marks the same one only
    full = client.get(f"/registrations/?plan_id={world.b.plan.id}").get_data(as_text=True)
    rows = full.split('data-testid="reg-table"', 1)[1].split("<tr>")
    assert ['reg-passed-level' in r for r in rows if "<td>已过甲</td>" in r or "<td>未考过</td>" in r] in (
        [True, False], [False, True])
    assert sum('data-testid="reg-passed-level"' in r for r in rows) == 1


def test_the_filter_travels_with_the_posted_search(client, world):
    world.passed_in_a("过滤甲")
    login_as(client, world.school_user)
    with client.session_transaction() as session:
        token = session.get("csrf_token")
    response = client.post("/registrations/", data={"plan_id": "", "passed_level": "1", "csrf_token": token or ""})
    assert response.status_code == 302 and "passed_level=1" in response.headers["Location"]


def test_the_org_lists_them_across_schools(client, world):
    world.passed_in_a("组织甲")
    other_site, _ = school_site()
    world.passed_in_a("组织乙", site=other_site)
    make_registration(make_candidate(other_site.school_id, name="组织丙"), world.b.plan, other_site)
    login_as(client, make_user("org"))
    body = client.get("/registrations/?plan_id=&passed_level=1").get_data(as_text=True)
    table = body.split('data-testid="reg-table"', 1)[1]
    assert "组织甲" in table and "组织乙" in table and "组织丙" not in table


@pytest.mark.parametrize("state, role, says", [
    (S.PAID, "school", "请取消本次报考。"),  # a registration without a quota place: nothing goes back
    (S.SCHEDULED, "school", "该报考已排考，须由评价组织取消"),
    (S.SCHEDULED, "org", "请取消本次报考（已排考，须填写原因）"),
])
def test_the_detail_says_where_and_what_to_do(client, world, state, role, says):
    reg = world.passed_in_a("详情者", state)
    user = world.school_user if role == "school" else make_user("org")
    login_as(client, user)
    body = client.get(f"/registrations/{reg.id}").get_data(as_text=True)
    help_box = body.split('data-testid="reg-passed-level-help"', 1)[1].split("</div>", 1)[0]
    assert world.a.plan.name in help_box and says in help_box and "报考费的退还在系统外办理" in help_box
    assert 'data-testid="reg-passed-level"' in body


def test_another_schools_registration_is_not_shown(client, world):
    other_site, other_user = school_site()
    reg = world.passed_in_a("别校者", site=other_site)
    login_as(client, world.school_user)
    assert client.get(f"/registrations/{reg.id}").status_code == 404


def test_the_marks_cost_one_query_per_page_whatever_the_rows(client, world):
    world.passed_in_a("首个")
    login_as(client, world.school_user)
    url = f"/registrations/?plan_id={world.b.plan.id}"
    client.get(url)  # warm the per-role menu

    def queries() -> int:
        count = [0]
        connection = db.session.connection()
        listener = lambda *args, **kwargs: count.__setitem__(0, count[0] + 1)  # noqa: E731
        event.listen(connection, "before_cursor_execute", listener)
        try:
            body = client.get(url).get_data(as_text=True)
        finally:
            event.remove(connection, "before_cursor_execute", listener)
        return count[0], body.count('data-testid="reg-passed-level"')

    few, marked = queries()
    assert marked == 1
    for n in range(6):
        world.passed_in_a(f"更多{n}")
    db.session.commit()
    client.get(url)  # after the commit the signed-in user and the plans are read again once
    many, marked = queries()
    assert marked == 7 and many == few


def test_the_orgs_count_is_that_of_the_last_minute_and_the_schools_is_fresh(world, monkeypatch):
    from examadmin.core import counts

    world.passed_in_a("计数甲")
    org = make_user("org")
    assert _todos(org)[LABEL][0] == 1 and _todos(world.school_user)[LABEL][0] == 1
    world.passed_in_a("计数乙")
    assert _todos(org)[LABEL][0] == 1  # across every school: the count of the last minute
    assert _todos(world.school_user)[LABEL][0] == 2  # the school's own moves with its work
    monkeypatch.setattr(counts, "WIDE_SCOPE_TTL", 0)
    assert _todos(org)[LABEL][0] == 2


def test_the_detail_says_the_place_goes_back_when_it_holds_one(client, world):
    from tests.registrations.factories import ready_school

    reg = world.passed_in_a("占位者", S.PAID)
    reg.quota_line_id = ready_school({"心理健康教育": 5}).lines["心理健康教育"].id  # holds a place (setup only)
    login_as(client, world.school_user)
    body = client.get(f"/registrations/{reg.id}").get_data(as_text=True)
    help_box = body.split('data-testid="reg-passed-level-help"', 1)[1].split("</div>", 1)[0]
    assert "请取消本次报考（取消后占用的指标退回本校）" in help_box
