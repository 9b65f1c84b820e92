"""Statistics of a plan's results: figures, scope and stage, the pages with their SVG charts, the export."""
from __future__ import annotations

import io

import pytest
from python_calamine import CalamineWorkbook

from examadmin.candidates.models import CandidateKind
from examadmin.core import svg
from examadmin.core.errors import DomainError
from examadmin.core.permissions import ForbiddenAction
from examadmin.scores import stats
from examadmin.scores.states import PublicationStage
from tests.conftest import login_as
from tests.scores.factories_stats import a_major, make_scored_plan, school_site
from tests.sites.factories import make_user

ENTERING, DISPLAY, FINAL = PublicationStage.ENTERING, PublicationStage.DISPLAY, PublicationStage.FINAL


@pytest.fixture
def world():
    """Two schools in two provinces; marks chosen so that every figure below is known.

    School A (重庆): [80, 70] pass, [50, 90] fail, [缺考, 70] fail.
    School B (四川): [60, 60] pass (exactly the pass mark), [90, 违纪] fail, [80, —] not complete.
    """
    scored = make_scored_plan(DISPLAY)
    site_a, user_a = school_site(province_code="50")
    site_b, user_b = school_site(province_code="51")
    major = a_major()
    scored.add(site_a, [80, 70], major=major)
    scored.add(site_a, [50, 90], major=major)
    scored.add(site_a, ["缺考", 70], major=major)
    scored.add(site_b, [60, 60], kind=CandidateKind.SOCIAL)
    scored.add(site_b, [90, "违纪"], kind=CandidateKind.SOCIAL)
    scored.add(site_b, [80, None], kind=CandidateKind.SOCIAL)
    return scored, (site_a, user_a), (site_b, user_b), major


def _rows(rows):
    return {r.label: (r.total, r.passed, r.failed, r.pending, r.rate) for r in rows}


def test_pass_rates_by_every_grouping_for_the_org(world):
    scored, (site_a, _), (site_b, _), major = world
    figures = stats.plan_stats(make_user("org"), scored.plan.id)
    assert (figures.total.total, figures.total.passed, figures.total.failed, figures.total.pending) == (6, 2, 3, 1)
    assert figures.total.rate == 40.0  # 2 of the 5 complete results
    assert _rows(figures.by_level) == {"初级": (6, 2, 3, 1, 40.0)}
    assert _rows(figures.by_school) == {site_a.school.name: (3, 1, 2, 0, 33.3), site_b.school.name: (3, 1, 1, 1, 50.0)}
    assert _rows(figures.by_site) == {site_a.name: (3, 1, 2, 0, 33.3), site_b.name: (3, 1, 1, 1, 50.0)}
    assert _rows(figures.by_province) == {"重庆市": (3, 1, 2, 0, 33.3), "四川省": (3, 1, 1, 1, 50.0)}
    assert _rows(figures.by_major) == {f"{major.name}（{major.code}）": (3, 1, 2, 0, 33.3),
                                       stats.NO_MAJOR: (3, 1, 1, 1, 50.0)}


def test_subject_rates_count_absence_and_violation_as_failures(world):
    scored, *_ = world
    # by subject id: the page orders subjects by name, and the factory's names (科目9, 科目10, …) sort
    # either way round depending on how many subjects earlier tests made
    rows = {row.subject_id: row for row in stats.plan_stats(make_user("org"), scored.plan.id).by_subject}
    first, second = rows[scored.subjects[0].id], rows[scored.subjects[1].id]
    # subject 1: 80 50 缺考 | 60 90 80 -> six entered, five scores, four reach 60
    assert (first.entered, first.scored, first.absent, first.violation, first.passed) == (6, 5, 1, 0, 4)
    assert first.rate == 66.7
    assert (first.mean, first.highest, first.lowest) == (72.0, 90.0, 50.0)
    # subject 2: 70 90 70 | 60 违纪 — -> five entered (the missing one is not), 违纪 fails
    assert (second.entered, second.scored, second.absent, second.violation, second.passed) == (5, 4, 0, 1, 4)
    assert second.rate == 80.0
    assert first.buckets == [0, 0, 0, 0, 0, 1, 1, 0, 2, 1]


def test_distribution_bins_include_the_lower_bound_and_the_full_mark():
    scored = make_scored_plan(FINAL, subjects=1)
    site, _ = school_site()
    for mark in (0, 9.9, 10, 59.9, 60, 99.9, 100):
        scored.add(site, [mark])
    (subject,) = stats.plan_stats(make_user("org"), scored.plan.id).by_subject
    assert subject.buckets == [2, 1, 0, 0, 0, 1, 1, 0, 0, 2]
    assert subject.bucket_labels[0] == "0~10" and subject.bucket_labels[-1] == "90~100"


def test_a_school_sees_only_its_own_figures_and_only_from_display_on(world):
    scored, (site_a, user_a), (site_b, _), _ = world
    figures = stats.plan_stats(user_a, scored.plan.id)
    assert _rows(figures.by_school) == {site_a.school.name: (3, 1, 2, 0, 33.3)}
    assert figures.total.total == 3
    assert [s.entered for s in figures.by_subject] == [3, 3]
    scored.set_stage(ENTERING)
    with pytest.raises(DomainError, match="尚未公示"):
        stats.plan_stats(user_a, scored.plan.id)
    assert stats.stats_plans(user_a) == []
    # the org sees the figures while scores are still being entered
    assert stats.plan_stats(make_user("org"), scored.plan.id).total.total == 6
    assert [p.id for p, _ in stats.stats_plans(make_user("org"))][:1] == [scored.plan.id]


def test_a_province_sees_its_own_schools(world):
    scored, _, (site_b, _), _ = world
    figures = stats.plan_stats(make_user("province", province_code="51"), scored.plan.id)
    assert _rows(figures.by_province) == {"四川省": (3, 1, 1, 1, 50.0)}
    assert list(_rows(figures.by_school)) == [site_b.school.name]


@pytest.mark.parametrize("role", ["city", "candidate"])
def test_roles_without_statistics_are_refused(role, world, client):
    scored, *_ = world
    with pytest.raises(ForbiddenAction):
        stats.plan_stats(make_user(role), scored.plan.id)
    login_as(client, make_user(role))
    assert client.get("/scores/stats").status_code == 403
    assert client.get(f"/scores/stats/{scored.plan.id}").status_code == 403
    assert client.get(f"/scores/stats/{scored.plan.id}.xlsx").status_code == 403


def test_the_page_draws_svg_charts_for_the_school(world, client):
    scored, (site_a, user_a), (site_b, _), _ = world
    login_as(client, user_a)
    listing = client.get("/scores/stats").get_data(as_text=True)
    assert scored.plan.name in listing
    page = client.get(f"/scores/stats/{scored.plan.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    for key in ("subject", "level", "site", "school", "province", "major"):
        assert f'data-testid="chart-{key}"' in body
    assert body.count('data-testid="distribution-') == 2
    assert "<svg" in body and "<script" not in body.split("<svg", 1)[1].rsplit("</svg>", 1)[0]
    assert site_a.school.name in body and site_b.school.name not in body
    assert "33.3%" in body


def test_before_display_the_school_is_told_why(world, client):
    scored, (_, user_a), _, _ = world
    scored.set_stage(ENTERING)
    login_as(client, user_a)
    response = client.get(f"/scores/stats/{scored.plan.id}", follow_redirects=True)
    assert "成绩尚未公示" in response.get_data(as_text=True)
    assert client.get(f"/scores/stats/{scored.plan.id}.xlsx").status_code == 302
    assert client.get("/scores/stats/99999999999999999999").status_code == 404


def test_export_holds_every_grouping(world, client):
    scored, (site_a, _), (site_b, _), _ = world
    login_as(client, make_user("org"))
    response = client.get(f"/scores/stats/{scored.plan.id}.xlsx")
    assert response.status_code == 200
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(response.data))
    assert workbook.sheet_names == ["总体", "按等级", "按考核站点", "按院校", "按省份", "按专业", "按科目", "成绩分布"]
    schools = workbook.get_sheet_by_name("按院校").to_python()
    assert schools[0] == ["院校", "人数", "合格", "不合格", "未完成", "合格率（%）"]
    assert [site_a.school.name, 3.0, 1.0, 2.0, 0.0, 33.3] in schools
    assert [site_b.school.name, 3.0, 1.0, 1.0, 1.0, 50.0] in schools
    distribution = workbook.get_sheet_by_name("成绩分布").to_python()
    assert len(distribution) == 1 + 2 * stats.BUCKETS


def test_charts_escape_their_labels():
    chart = svg.hbar_chart([svg.Bar('<script>alert(1)</script>&"', 50.0, "1/2")], title="t<", testid="x")
    assert "<script>" not in chart and "&lt;script&gt;" in chart and "t&lt;" in chart
    histogram = svg.histogram([1, 0], ["<a>", "b"], title="h", marker=0.6, marker_label="合格线 <60>")
    assert "<a>" not in histogram and "&lt;60&gt;" in histogram
    assert 'style=' not in chart + histogram  # CSP: style-src 'self' forbids inline styles


def test_labels_read_in_chunks_give_the_same_figures(world, monkeypatch):
    scored, *_ = world
    org = make_user("org")
    whole = stats.plan_stats(org, scored.plan.id)
    monkeypatch.setattr(stats, "LABEL_CHUNK", 1)
    chunked = stats.plan_stats(org, scored.plan.id)
    for key in ("by_level", "by_site", "by_school", "by_province", "by_major"):
        assert _rows(getattr(chunked, key)) == _rows(getattr(whole, key)), key
    assert len(chunked.by_school) == 2


def test_long_groupings_chart_and_list_the_largest_and_say_so(client, monkeypatch):
    from examadmin.scores import views_public

    scored = make_scored_plan(FINAL, subjects=1)
    (big, _), (small, _) = school_site(), school_site()
    scored.add(big, [70])
    scored.add(big, [40])
    scored.add(small, [90])
    monkeypatch.setattr(views_public, "CHART_ROWS", 1)
    login_as(client, make_user("org"))
    body = client.get(f"/scores/stats/{scored.plan.id}").get_data(as_text=True)
    section = body.split('data-testid="chart-school"', 1)[1].split("</table>", 1)[0]
    assert big.school.name in section and small.school.name not in section
    assert "人数最多的 1 个院校（共 2 个）" in section


@pytest.mark.parametrize("role,status", [("sysadmin", 200), ("org", 200), ("province", 200), ("school", 200),
                                         ("city", 403), ("candidate", 403)])
def test_role_table_of_the_statistics_list(client, role, status):
    login_as(client, make_user(role))
    assert client.get("/scores/stats").status_code == status


def test_export_cells_that_look_like_formulas_stay_text(client):
    from examadmin.catalog import services as catalog
    from examadmin.core.auth import SYSTEM
    from tests.sites.factories import make_city

    city = make_city("50")
    school = catalog.save_school(SYSTEM, {"code": "5799999901", "name": "=1+1职业学院", "type": "高职专科院校",
                                          "province_id": city.province_id, "city_id": city.id})
    scored = make_scored_plan(FINAL, subjects=1)
    site, _ = school_site(school_user=make_user("school", school=school))
    scored.add(site, [80])
    login_as(client, make_user("org"))
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(client.get(f"/scores/stats/{scored.plan.id}.xlsx").data))
    assert ["'=1+1职业学院", 1.0, 1.0, 0.0, 0.0, 100.0] in workbook.get_sheet_by_name("按院校").to_python()


def test_the_list_shows_a_school_only_plans_it_sat(world):
    scored, (_, user_a), _, _ = world
    assert [p.id for p, _ in stats.stats_plans(user_a)] == [scored.plan.id]
    assert stats.stats_plans(make_user("school")) == []
    assert [p.id for p, _ in stats.stats_plans(make_user("province", province_code="51"))] == [scored.plan.id]
    assert stats.stats_plans(make_user("province", province_code="44")) == []
