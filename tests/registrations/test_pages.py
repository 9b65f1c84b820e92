"""Pages of registration: lists and figures per plan, level and site with filters, the
export, the 报考 action from the candidate list, cancelling, and who may open what."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from examadmin.catalog.models import Level
from examadmin.core import clock
from examadmin.extensions import db
from examadmin.pilots.models import ApplicationLine
from examadmin.registrations import services
from examadmin.registrations.models import Registration
from examadmin.registrations.states import RegistrationState
from tests.conftest import login_as
from tests.hours.factories import enough_hours
from tests.registrations.factories import later, open_plan, ready_school, verified
from tests.sites.factories import make_user

J, M = Level.JUNIOR, Level.MIDDLE
S = RegistrationState


def register(school, people, level=J, retakes=()):
    return services.register_candidates(school.user, school.plan.id, school.sites[level].id,
                                        [c.id for c in people], [c.id for c in retakes])


def figures_row(body: str, level: str) -> str:
    table = body.split('data-testid="reg-figures"', 1)[1].split("</table>", 1)[0]
    return next(r for r in table.split("<tr") if f"<td>{level}</td>" in r)


def cell(row_html: str, column: str) -> int:
    return int(row_html.split(f'data-col="{column}">', 1)[1].split("<", 1)[0])


def test_the_list_shows_figures_by_level_and_site_and_filters(client):
    school = ready_school()
    a, b, c = (verified(school.user, name=n) for n in ("列表甲", "列表乙", "列表丙"))
    social = verified(school.user, name="列表社会", kind="社会考生")
    [ra, rb, _] = register(school, [a, b, c])
    enough_hours(social)  # 中级 asks verified supervision and practice hours (tests/hours)
    register(school, [social], level=M)
    services.cancel_registration(school.user, rb)
    db.session.get(Registration, ra).state = S.PAID  # the payment step confirms it
    db.session.commit()
    login_as(client, school.user)
    body = client.get(f"/registrations/?plan_id={school.plan.id}").get_data(as_text=True)
    junior = figures_row(body, "初级")
    assert (cell(junior, "报考人数"), cell(junior, "已缴费"), cell(junior, "待缴费"), cell(junior, "已取消")) \
        == (2, 1, 1, 1)
    assert cell(figures_row(body, "中级"), "待缴费") == 1 and cell(figures_row(body, "合计"), "报考人数") == 3
    assert "列表甲" in body and a.id_number not in body  # masked in lists
    filtered = client.get(f"/registrations/?plan_id={school.plan.id}&state=已取消").get_data(as_text=True)
    table = filtered.split('data-testid="reg-table"', 1)[1]
    assert "列表乙" in table and "列表甲" not in table
    by_kind = client.get(f"/registrations/?plan_id={school.plan.id}&kind=社会考生").get_data(as_text=True)
    table = by_kind.split('data-testid="reg-table"', 1)[1]
    assert "列表社会" in table and "列表丙" not in table
    assert client.get("/registrations/?plan_id=x&state=nonsense&level=超级&site_id=99999999999").status_code == 200


def test_an_overdue_unpaid_registration_shows_lapsed_with_the_deadline_before_the_job_runs(client, monkeypatch):
    school = ready_school()
    student = verified(school.user, name="逾期生")
    [reg_id] = register(school, [student])
    db.session.commit()
    moment = later(21)
    monkeypatch.setattr(clock, "now", lambda: moment)
    login_as(client, school.user)
    body = client.get(f"/registrations/{reg_id}").get_data(as_text=True)
    assert "已放弃（未缴费）" in body and f"缴费截止 {school.plan.payment_deadline:%Y-%m-%d %H:%M}" in body
    listing = client.get(f"/registrations/?plan_id={school.plan.id}").get_data(as_text=True)
    assert cell(figures_row(listing, "初级"), "已放弃（未缴费）") == 1
    assert cell(figures_row(listing, "初级"), "待缴费") == 0
    assert db.session.get(Registration, reg_id).state == S.UNPAID  # a GET wrote nothing
    lapsed = client.get(f"/registrations/?plan_id={school.plan.id}&state=已放弃（未缴费）").get_data(as_text=True)
    assert "逾期生" in lapsed.split('data-testid="reg-table"', 1)[1]


def test_a_write_lapses_overdue_registrations_first_and_gives_their_places_back(monkeypatch):
    school = ready_school({"心理健康教育": 1})
    late, new = verified(school.user), verified(school.user)
    [reg_id] = register(school, [late])
    deadline = school.plan.payment_deadline
    # The window is extended past the deadline by nobody; here the clock moves past the deadline
    # while the window is still open for this test's purpose.
    school.plan.registration_end = later(30)
    school.plan.payment_deadline = later(1)
    school.plan.ticket_start = later(31)
    db.session.flush()
    moment = later(2)
    monkeypatch.setattr(clock, "now", lambda: moment)
    register(school, [new])  # the only place came back from the lapsed registration
    assert db.session.get(Registration, reg_id).state == S.LAPSED
    assert deadline  # the plan had a deadline from the start


def test_a_search_by_id_number_is_posted_and_never_lands_in_a_url(client):
    school = ready_school()
    a, b = verified(school.user, name="搜索甲"), verified(school.user, name="搜索乙")
    register(school, [a, b])
    db.session.commit()
    login_as(client, school.user)
    posted = client.post("/registrations/", data={"q": f" {a.id_number.lower()} ", "plan_id": school.plan.id})
    assert posted.status_code == 302 and a.id_number not in posted.headers["Location"]
    assert "search=1" in posted.headers["Location"]
    table = client.get(posted.headers["Location"]).get_data(as_text=True).split('data-testid="reg-table"', 1)[1]
    assert "搜索甲" in table and "搜索乙" not in table
    export = client.get(posted.headers["Location"].replace("/registrations/", "/registrations/export.xlsx"))
    rows = list(load_workbook(io.BytesIO(export.data)).active.values)
    assert [r[3] for r in rows[1:]] == ["搜索甲"]
    nothing = client.post("/registrations/", data={"q": "无此人", "plan_id": school.plan.id}, follow_redirects=True)
    assert "没有符合条件的报考" in nothing.get_data(as_text=True)
    everything = client.post("/registrations/", data={"q": "", "plan_id": ""})
    assert "plan_id=" in everything.headers["Location"]  # 全部考试计划 stays chosen


def test_the_export_has_the_filtered_rows_with_masked_numbers(client):
    school = ready_school()
    a = verified(school.user, name="导出生")
    register(school, [a], retakes=[a])
    db.session.commit()
    login_as(client, school.user)
    response = client.get(f"/registrations/export.xlsx?plan_id={school.plan.id}")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.values)
    assert rows[0][:5] == ("考试计划", "学校标识码", "院校", "姓名", "证件号码")
    assert rows[1][3] == "导出生" and rows[1][4] != a.id_number and "*" in rows[1][4]
    assert rows[1][10] == "是" and rows[1][13] == "待缴费"


def test_the_org_sees_every_school_and_filters_the_retake_marks(client):
    school, other = ready_school(), ready_school()
    retaker = verified(school.user, name="组织看补考")
    plain = verified(other.user, name="组织看普通")
    register(school, [retaker], retakes=[retaker])
    services.register_candidates(other.user, school.plan.id, other.sites[J].id, [plain.id])
    db.session.commit()
    login_as(client, make_user("org"))
    body = client.get(f"/registrations/?plan_id={school.plan.id}&retake=1").get_data(as_text=True)
    table = body.split('data-testid="reg-table"', 1)[1]
    assert "组织看补考" in table and "组织看普通" not in table
    body = client.get(f"/registrations/?plan_id={school.plan.id}&school_code={other.user.school.code}"
                      ).get_data(as_text=True)
    table = body.split('data-testid="reg-table"', 1)[1]
    assert "组织看普通" in table and "组织看补考" not in table
    login_as(client, other.user)
    body = client.get(f"/registrations/?plan_id={school.plan.id}").get_data(as_text=True)
    assert "组织看普通" in body and "组织看补考" not in body


def test_register_from_the_candidate_list_selection(client):
    school = ready_school()
    a, b = verified(school.user, name="勾选甲"), verified(school.user, name="勾选乙")
    db.session.commit()
    login_as(client, school.user)
    listing = client.get("/candidates/").get_data(as_text=True)
    assert 'data-testid="register-selected"' in listing
    # the list's button posts the selection to the 报考 page, which shows it checked
    posted = client.post("/registrations/new", data={"ids": [a.id, b.id], "scope": ""})
    # shown by a GET: Back or reload never asks to send the form again
    assert posted.status_code == 302 and f"ids={a.id}" in posted.headers["Location"]
    page = client.get(posted.headers["Location"]).get_data(as_text=True)
    assert page.count("checked") >= 2 and "请确保考生信息准确、考核站点正常开启后，再操作报考" in page
    response = client.post("/registrations/new", data={
        "ids": [a.id, b.id], "retake": [b.id], "plan_id": school.plan.id, "site_id": school.sites[J].id,
        "submit": "1"}, follow_redirects=True)
    assert "已报考 2 名考生" in response.get_data(as_text=True)
    line = db.session.scalar(select(ApplicationLine.used).where(ApplicationLine.id == school.lines["心理健康教育"].id))
    assert line == 1  # the retaker took no place
    listing = client.get("/candidates/").get_data(as_text=True)
    column = listing.split('data-testid="candidate-registrations"')
    assert any(f"{school.plan.short_name} · 初级 · 待缴费" in part.split("</td>", 1)[0] for part in column[1:])
    again = client.get("/registrations/new").get_data(as_text=True)
    assert f"{school.plan.short_name} · 初级 · 待缴费" in again
    ledger = client.get("/pilots/quota").get_data(as_text=True)
    assert 'data-testid="quota-taken">1<' in ledger


def test_a_selection_too_long_for_an_address_is_shown_from_the_post(client):
    school = ready_school()
    db.session.commit()
    login_as(client, school.user)
    many = list(range(1_000_000, 1_000_400))  # 400 ticks: about 5 KB as an address
    response = client.post("/registrations/new", data={"ids": many, "scope": ""})
    assert response.status_code == 200 and "报考" in response.get_data(as_text=True)


def test_a_refusal_on_the_page_is_a_message_not_an_error(client):
    school = ready_school({"心理健康教育": 1})
    a, b = verified(school.user, name="页面甲"), verified(school.user, name="页面乙")
    db.session.commit()
    login_as(client, school.user)
    response = client.post("/registrations/new", data={
        "ids": [a.id, b.id], "plan_id": school.plan.id, "site_id": school.sites[J].id, "submit": "1"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "页面乙" in body and "指标已用完" in body
    assert db.session.scalar(select(Registration.id).where(Registration.candidate_id == a.id)) is None
    response = client.post("/registrations/new", data={"ids": ["abc", "99999999999999"], "plan_id": "x",
                                                       "site_id": "", "submit": "1"})
    assert response.status_code == 200


def test_cancel_through_the_page(client):
    school = ready_school({"心理健康教育": 1})
    a = verified(school.user, name="取消生")
    [reg_id] = register(school, [a])
    db.session.commit()
    login_as(client, school.user)
    page = client.get(f"/registrations/{reg_id}").get_data(as_text=True)
    assert "300.00 元" in page
    subjects = page.split('data-testid="reg-subjects"', 1)[1].split("</table>", 1)[0]
    assert "机考" in subjects and "09:00-11:00" in subjects and "14:00" not in subjects  # 初级 only
    client.post(f"/registrations/{reg_id}/cancel", data={"reason": "不考了"})
    assert db.session.get(Registration, reg_id).state == S.CANCELLED
    used = db.session.scalar(select(ApplicationLine.used).where(ApplicationLine.id == school.lines["心理健康教育"].id))
    assert used == 0


def test_a_registration_in_an_open_order_offers_the_order_not_a_cancel_that_is_refused(client):
    from examadmin.registrations import payments

    school = ready_school()
    a = verified(school.user, name="订单生")
    [reg_id] = register(school, [a])
    order = payments.create_school_order(school.user, school.plan.id, [reg_id])
    db.session.commit()
    login_as(client, school.user)
    page = client.get(f"/registrations/{reg_id}").get_data(as_text=True)
    assert 'data-testid="cancel-registration"' not in page
    assert 'data-testid="cancel-held-by-order"' in page and order.reference in page
    assert f"/registrations/payments/{order.id}" in page


@pytest.mark.parametrize("role, index, new_page, export", [
    ("school", 200, 200, 200), ("org", 200, 403, 200), ("province", 200, 403, 200), ("city", 200, 403, 200),
    ("sysadmin", 200, 403, 200), ("candidate", 403, 403, 403),
])
def test_who_may_open_the_pages(client, role, index, new_page, export):
    login_as(client, make_user(role))
    assert client.get("/registrations/").status_code == index
    assert client.get("/registrations/new").status_code == new_page
    assert client.get("/registrations/import").status_code == new_page
    assert client.get("/registrations/export.xlsx").status_code == export


def test_a_school_gets_404_for_another_schools_registration(client):
    school, other = ready_school(), ready_school()
    [reg_id] = register(school, [verified(school.user)])
    db.session.commit()
    login_as(client, other.user)
    assert client.get(f"/registrations/{reg_id}").status_code == 404
    client.post(f"/registrations/{reg_id}/cancel", data={"reason": "x"})
    assert db.session.get(Registration, reg_id).state == S.UNPAID


def test_an_id_beyond_the_columns_range_is_a_404_not_a_500(client):
    login_as(client, make_user("school"))
    for url in ("/registrations/99999999999999999999999", "/registrations/2147483648",
                "/registrations/import/99999999999999999999999"):
        assert client.get(url).status_code == 404, url
    assert client.post("/registrations/99999999999999999999999/cancel", data={"reason": "x"}).status_code == 404


def test_submitting_with_nothing_chosen_says_what_is_missing(client):
    school = ready_school()
    a = verified(school.user, name="空选甲")
    db.session.commit()
    login_as(client, school.user)
    body = client.post("/registrations/new", data={"plan_id": "", "site_id": "", "submit": "1"}).get_data(as_text=True)
    assert "请选择考试计划" in body and "请选择考核站点" in body and "请至少选择一名考生" in body
    body = client.post("/registrations/new", data={"plan_id": school.plan.id, "site_id": school.sites[J].id,
                                                   "submit": "1"}).get_data(as_text=True)
    assert "请至少选择一名考生" in body and "请选择考试计划" not in body
    assert db.session.scalar(select(Registration.id).where(Registration.candidate_id == a.id)) is None


def test_plan_drop_downs_list_the_newest_registration_period_first(client):
    # created out of order: ids 1, 2, 3 open -1, -3 and -0.5 days ago
    plans = [open_plan(start_days=-1), open_plan(start_days=-3), open_plan(start_days=-0.5)]
    newest_first = [plans[2].name, plans[0].name, plans[1].name]
    school = ready_school(plan=plans[0])
    db.session.commit()

    def order(body: str) -> list[str]:
        return sorted(newest_first, key=body.index)

    login_as(client, school.user)
    assert order(client.get("/registrations/new").get_data(as_text=True).split('id="plan_id"', 1)[1]) == newest_first
    assert order(client.get("/registrations/").get_data(as_text=True)) == newest_first
    assert order(client.get("/scheduling/").get_data(as_text=True)) == newest_first


def test_the_record_panel_names_fields_in_chinese(client):
    school = ready_school()
    a = verified(school.user, name="记录甲")
    [reg_id] = register(school, [a])
    db.session.commit()
    login_as(client, school.user)
    body = client.get(f"/registrations/{reg_id}").get_data(as_text=True)
    assert "考试计划：" in body and "考试费（元）：" in body
    for code in ("plan：", "site：", "id_number：", "kind：", "is_retake：", "fee："):
        assert code not in body, code
    # the quota line is named as the ledger names it, not by its number
    line = school.lines["心理健康教育"]
    assert f"使用指标：{line.application.year} 年初级「{line.major_label}」" in body
    assert "指标编号" not in body


def test_candidates_selected_on_the_list_are_always_on_the_page_beyond_the_first_listed(client, monkeypatch):
    from examadmin.candidates.states import CandidateState

    monkeypatch.setattr(services, "MAX_SELECTED", 2)
    school = ready_school()
    first, second = verified(school.user, name="靠前甲"), verified(school.user, name="靠前乙")
    far = verified(school.user, name="靠后丙")  # third by class and id: beyond the first two
    pending = verified(school.user, name="待认证丁", state=CandidateState.PENDING)
    db.session.commit()
    login_as(client, school.user)
    page = client.post("/registrations/new", data={"ids": [far.id, pending.id], "scope": ""},
                       follow_redirects=True).get_data(as_text=True)
    assert f'value="{far.id}" checked' in page and "靠后丙" in page
    assert "靠前甲" in page and "靠前乙" in page and 'data-testid="reg-more"' in page
    # a selected candidate who may not register is named, not silently left out
    assert 'data-testid="reg-not-accurate"' in page and "待认证丁（信息待认证）" in page
    response = client.post("/registrations/new", data={
        "ids": [far.id], "plan_id": school.plan.id, "site_id": school.sites[J].id, "submit": "1"},
        follow_redirects=True)
    assert "已报考 1 名考生" in response.get_data(as_text=True)
    assert db.session.scalar(select(Registration.id).where(Registration.candidate_id == far.id)) is not None


def test_the_export_has_a_figures_sheet_by_level_and_site_with_the_same_filters(client):
    school = ready_school()
    a, b, c = (verified(school.user, name=n) for n in ("统计甲", "统计乙", "统计丙"))
    social = verified(school.user, name="统计社会", kind="社会考生")
    [ra, rb, _] = register(school, [a, b, c])
    enough_hours(social)
    register(school, [social], level=M)
    services.cancel_registration(school.user, rb)
    db.session.get(Registration, ra).state = S.PAID
    db.session.commit()
    login_as(client, school.user)

    def figures_sheet(query: str) -> list[tuple]:
        book = load_workbook(io.BytesIO(client.get(f"/registrations/export.xlsx?{query}").data))
        assert book.sheetnames == ["报考名单", "统计"]
        return list(book["统计"].values)

    rows = figures_sheet(f"plan_id={school.plan.id}")
    assert rows[0] == ("等级", "考核站点", "报考人数", "已缴费", "待缴费", "已排考", "已放弃（未缴费）", "已取消")
    by_level = {r[0]: r for r in rows[1:] if r and r[0] in ("初级", "中级", "合计")}
    assert by_level["初级"][1] == school.sites[J].name and by_level["初级"][2:] == (2, 1, 1, 0, 0, 1)
    assert by_level["中级"][1] == school.sites[M].name and by_level["中级"][2:] == (1, 0, 1, 0, 0, 0)
    assert by_level["合计"][2] == 3
    assert rows[-1][0] == "筛选条件" and f"考试计划：{school.plan.name}" in rows[-1][1]

    # the same filters as the page: 社会考生 only, so only the 中级 row and its total
    rows = figures_sheet(f"plan_id={school.plan.id}&kind=社会考生&level=中级")
    levels = [r[0] for r in rows[1:] if r and r[0] in ("初级", "中级", "合计")]
    assert levels == ["中级", "合计"] and rows[1][2] == 1
    assert "考生类型：社会考生" in rows[-1][1] and "等级：中级" in rows[-1][1]
    # a state filter narrows the rows, not the figures (as on the page), and the sheet says so
    rows = figures_sheet(f"plan_id={school.plan.id}&state=已取消")
    assert any(r and r[0] == "初级" and r[2:] == (2, 1, 1, 0, 0, 1) for r in rows)
    assert "只作用于报考名单" in rows[-1][1]


def _selected_plan(body: str) -> str | None:
    import re

    select_html = body.split('id="plan_id"', 1)[1].split("</select>", 1)[0]
    found = re.search(r'<option[^>]*\bselected\b[^>]*value="([^"]*)"|<option[^>]*value="([^"]*)"[^>]*\bselected\b',
                      select_html)
    return (found.group(1) or found.group(2)) if found else None


def test_the_only_plan_open_for_registration_comes_chosen_from_the_candidate_list(client):
    school = ready_school()
    a = verified(school.user, name="预选甲")
    db.session.commit()
    login_as(client, school.user)
    page = client.post("/registrations/new", data={"ids": [a.id], "scope": ""}, follow_redirects=True).get_data(as_text=True)
    assert _selected_plan(page) == str(school.plan.id)
    assert _selected_plan(client.get("/registrations/new").get_data(as_text=True)) == str(school.plan.id)
    # a submitted form keeps what the user chose, even nothing
    body = client.post("/registrations/new", data={"ids": [a.id], "plan_id": "", "site_id": "", "submit": "1"})
    assert "请选择考试计划" in body.get_data(as_text=True)


def test_with_two_plans_open_none_is_chosen_for_the_user(client):
    school = ready_school()
    open_plan()
    db.session.commit()
    login_as(client, school.user)
    assert _selected_plan(client.get("/registrations/new").get_data(as_text=True)) in (None, "")


def test_cancelling_an_unpaid_registration_asks_for_confirmation(client):
    school = ready_school()
    a = verified(school.user, name="确认甲")
    [reg_id] = register(school, [a])
    db.session.commit()
    login_as(client, school.user)
    body = client.get(f"/registrations/{reg_id}").get_data(as_text=True)
    form = body.split('data-testid="cancel-form"', 1)[1].split(">", 1)[0]
    assert f'data-confirm="确定取消确认甲报考「{school.plan.name}」初级？取消后不能恢复，如需参加须重新报考；占用的指标退回本校。"' in form


@pytest.mark.parametrize("role", ["province", "org"])
def test_wide_scopes_see_the_figures_labelled_per_level_and_per_site_once_narrowed_to_a_school(client, role):
    school = ready_school()
    register(school, [verified(school.user, name="省看甲")])
    db.session.commit()
    login_as(client, make_user(role))
    body = client.get(f"/registrations/?plan_id={school.plan.id}").get_data(as_text=True)
    title = body.split('data-testid="reg-figures-title">', 1)[1].split("<", 1)[0]
    assert title == "统计（按等级，全部考核站点合计）"
    head = body.split('data-testid="reg-figures"', 1)[1].split("</thead>", 1)[0]
    assert "考核站点" not in head and "全部考核站点" not in figures_row(body, "初级")
    assert cell(figures_row(body, "初级"), "报考人数") == 1
    body = client.get(f"/registrations/?plan_id={school.plan.id}&school_code={school.user.school.code}"
                      ).get_data(as_text=True)
    assert body.split('data-testid="reg-figures-title">', 1)[1].startswith("统计（按等级、考核站点）")
    assert school.sites[J].name in figures_row(body, "初级")

