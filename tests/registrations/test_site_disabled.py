"""A site disabled while a plan has live registrations there (站点已停用的报考): the org's
confirmation says what it strands, the registration pages mark them with what to do, and the
school and the org find them in their to-dos."""
from __future__ import annotations

from datetime import timedelta

from examadmin.catalog.models import Level
from examadmin.core import audit, clock, todo
from examadmin.extensions import db
from examadmin.registrations import services, stranded
from examadmin.registrations.models import Registration
from examadmin.registrations.states import RegistrationState
from examadmin.sites import services as sites
from tests.conftest import login_as
from tests.exams.factories import make_room
from tests.hours.factories import enough_hours
from tests.registrations.factories import ready_school, verified
from tests.sites.factories import make_user

J, M = Level.JUNIOR, Level.MIDDLE


def _register(school, names, level=J):
    if level == M:  # 中级: social candidates (no quota line) with the hours the level asks
        people = [verified(school.user, name=n, kind="社会考生") for n in names]
        for person in people:
            enough_hours(person)
    else:
        people = [verified(school.user, name=n) for n in names]
    ids = services.register_candidates(school.user, school.plan.id, school.sites[level].id, [c.id for c in people])
    return [db.session.get(Registration, i) for i in ids]


def _todos(user) -> dict[str, int]:
    return {t.label: t.count for t in todo.todos_for(user)}


def test_the_disable_confirmation_counts_live_registrations_and_rooms_by_plan():
    school = ready_school()
    a, b, c = _register(school, ["停甲", "停乙", "停丙"])
    services.cancel_registration(school.user, c.id)  # cancelled: strands nobody
    subject = next(s.subject for s in school.plan.sessions if s.level == J)
    make_room(school.user, school.plan, school.sites[J], subject)
    org = make_user("org")
    impact = sites.disable_impact(org, school.sites[J].id)
    assert impact == [{"plan_id": school.plan.id, "plan": school.plan.name, "registrations": 2, "rooms": 1}]
    assert sites.disable_impact(org, school.sites[M].id) == []  # nothing at the 中级 site
    # the disable still goes ahead, and its history keeps what it stranded
    sites.disable_site(org, school.sites[J].id, "设备检修")
    entry = next(e for e in audit.history(school.sites[J]) if e.action == "exam_site.disable_impact")
    assert entry.after["stranded"] == f"{school.plan.name}：报考 2 人，考场 1 个"


def test_a_plan_whose_exam_is_over_or_a_lapsed_registration_strands_nothing(monkeypatch):
    school = ready_school()
    _register(school, ["过期甲"])
    org = make_user("org")
    assert sites.disable_impact(org, school.sites[J].id)[0]["registrations"] == 1
    # after the payment deadline the unpaid registration has lapsed: it holds no place
    deadline = school.plan.payment_deadline
    monkeypatch.setattr(clock, "now", lambda: deadline + timedelta(minutes=1))
    assert sites.disable_impact(org, school.sites[J].id) == []


def test_the_site_page_shows_the_impact_before_the_org_disables(client):
    school = ready_school()
    _register(school, ["页甲", "页乙"])
    db.session.commit()
    login_as(client, make_user("org"))
    body = client.get(f"/sites/{school.sites[J].id}").get_data(as_text=True)
    box = body.split('data-testid="site-disable-impact"', 1)[1].split("</div>", 1)[0]
    assert school.plan.name in box and "有效报考 <strong>2</strong> 人" in box and "考场 <strong>0</strong> 个" in box
    empty = client.get(f"/sites/{school.sites[M].id}").get_data(as_text=True)
    assert "目前没有未结束的考试计划在该站点报考或设置考场" in empty
    response = client.post(f"/sites/{school.sites[J].id}/disable", data={"reason": "网络改造"}, follow_redirects=True)
    assert "该站点仍有 2 人的报考无法排考" in response.get_data(as_text=True)
    response = client.post(f"/sites/{school.sites[J].id}/enable", follow_redirects=True)
    assert "该站点 2 人的报考可以继续缴费、排考" in response.get_data(as_text=True)


def test_the_school_list_and_detail_mark_the_stranded_with_what_to_do(client):
    school = ready_school()
    stuck, = _register(school, ["标记甲"])
    fine, = _register(school, ["标记乙"], level=M)
    sites.disable_site(make_user("org"), school.sites[J].id, "网络改造")
    db.session.commit()
    login_as(client, school.user)
    body = client.get(f"/registrations/?plan_id={school.plan.id}").get_data(as_text=True)
    row = next(r for r in body.split("<tr") if "标记甲" in r)
    assert 'data-testid="reg-site-disabled"' in row
    detail = client.get(f"/registrations/{stuck.id}").get_data(as_text=True)
    help_box = detail.split('data-testid="reg-site-disabled-help"', 1)[1].split("</div>", 1)[0]
    assert "网络改造" in help_box and "请联系评价组织重新启用站点" in help_box and "取消后指标退回本校" in help_box
    other_row = next(r for r in body.split("<tr") if "标记乙" in r)  # the 中级 site is still enabled
    assert 'data-testid="reg-site-disabled"' not in other_row


def test_an_enabled_site_or_a_cancelled_registration_is_not_marked(client):
    school = ready_school()
    kept, gone = _register(school, ["未停甲", "未停乙"])
    services.cancel_registration(school.user, gone.id)
    db.session.commit()
    login_as(client, school.user)
    assert 'data-testid="reg-site-disabled"' not in client.get(f"/registrations/{kept.id}").get_data(as_text=True)
    sites.disable_site(make_user("org"), school.sites[J].id, "检修")
    db.session.commit()
    assert 'data-testid="reg-site-disabled"' in client.get(f"/registrations/{kept.id}").get_data(as_text=True)
    assert 'data-testid="reg-site-disabled"' not in client.get(f"/registrations/{gone.id}").get_data(as_text=True)


def test_the_to_dos_count_the_stranded_for_the_school_and_across_schools_for_the_org():
    first, second = ready_school(), ready_school(plan=None)
    _register(first, ["待办甲", "待办乙"])
    _register(first, ["待办中"], level=M)  # at the 中级 site, which stays enabled
    _register(second, ["待办丙"])
    org = make_user("org")
    assert "站点已停用的报考" not in _todos(first.user) and "站点已停用的报考" not in _todos(org)
    sites.disable_site(org, first.sites[J].id, "检修")
    sites.disable_site(org, second.sites[J].id, "检修")
    assert _todos(first.user)["站点已停用的报考"] == 2
    assert _todos(second.user)["站点已停用的报考"] == 1  # another school's are not counted
    assert _todos(org)["站点已停用的报考"] == 3
    assert "站点已停用的报考" not in _todos(make_user("province"))
    sites.enable_site(org, first.sites[J].id)
    assert _todos(first.user).get("站点已停用的报考") is None and _todos(org)["站点已停用的报考"] == 1


def test_the_to_do_links_to_the_filtered_list_which_shows_only_the_stranded(client):
    school = ready_school()
    _register(school, ["过滤甲"])
    _register(school, ["过滤中"], level=M)
    other = ready_school(plan=school.plan)
    _register(other, ["别校甲"])
    sites.disable_site(make_user("org"), school.sites[J].id, "检修")
    sites.disable_site(make_user("org"), other.sites[J].id, "检修")
    db.session.commit()
    login_as(client, school.user)
    link = next(t.url for t in todo.todos_for(school.user) if t.label == "站点已停用的报考")
    body = client.get(link).get_data(as_text=True)
    table = body.split('data-testid="reg-table"', 1)[1]
    assert "过滤甲" in table and "过滤中" not in table and "别校甲" not in table
    assert 'data-testid="site-disabled-hint"' in body


def test_the_clause_and_the_page_agree_on_who_is_stranded():
    school = ready_school()
    reg, = _register(school, ["一致甲"])
    sites.disable_site(make_user("org"), school.sites[J].id, "检修")
    from sqlalchemy import select

    ids = set(db.session.scalars(select(Registration.id).where(stranded.stranded_clause())))
    assert reg.id in ids and stranded.is_stranded(reg)
    reg.state = RegistrationState.CANCELLED
    db.session.flush()
    assert reg.id not in set(db.session.scalars(select(Registration.id).where(stranded.stranded_clause())))
    assert not stranded.is_stranded(reg)


def test_the_org_lists_the_stranded_across_schools(client):
    first, second = ready_school(), ready_school()
    _register(first, ["组织甲"])
    _register(second, ["组织乙"])
    org = make_user("org")
    sites.disable_site(org, first.sites[J].id, "检修")
    db.session.commit()
    login_as(client, org)
    table = client.get("/registrations/?plan_id=&site_disabled=1").get_data(as_text=True).split(
        'data-testid="reg-table"', 1)[1]
    assert "组织甲" in table and "组织乙" not in table
    assert "可在考核站点页面重新启用站点" in client.get("/registrations/?plan_id=&site_disabled=1").get_data(as_text=True)
