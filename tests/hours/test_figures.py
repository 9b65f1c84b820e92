"""Hours per provider for the org (issue 14 item 6, the hours part): records, people, hours and
the verified share, on the page and exported."""
from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest

from examadmin.hours import figures
from examadmin.hours.states import HoursState
from tests.conftest import login_as
from tests.hours.factories import add_hours, days_ago, holder
from tests.sites.factories import make_user


def test_figures_per_provider_count_records_people_hours_and_the_verified_share(client):
    a, _ = holder()
    b, _ = holder()
    add_hours(a, "督导", "10", provider="甲机构", on=days_ago(1))
    add_hours(a, "督导", "5", provider="甲机构", on=days_ago(2), state=HoursState.PENDING)
    add_hours(b, "实践", "5", provider="甲机构", on=days_ago(1))
    add_hours(b, "继续教育", "3", provider="=HYPERLINK(\"x\")", on=days_ago(1), state=HoursState.RETURNED)
    org = make_user("org")
    rows = {r.provider: r for r in figures.providers(org)}
    first = rows["甲机构"]
    assert (first.records, first.people, first.hours, first.verified_hours) == (3, 2, Decimal("20.0"), Decimal("15.0"))
    assert first.verified_share == Decimal("75.0")
    assert rows['=HYPERLINK("x")'].verified_share == 0
    assert [r.provider for r in figures.providers(org, "督导")] == ["甲机构"]
    login_as(client, org)
    page = client.get("/hours/providers").get_data(as_text=True)
    assert "甲机构" in page and "75.0%" in page
    export = client.get("/hours/providers.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(export.data)).active
    export.close()
    rows_out = list(sheet.iter_rows(values_only=True))
    assert rows_out[0] == ("机构", "记录数", "人数", "学时合计", "已核验学时", "已核验占比（%）")
    assert rows_out[1] == ("甲机构", 3, 2, 20, 15, 75)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)  # a formula stays text


def test_a_school_does_not_see_the_figures(client):
    login_as(client, make_user("school"))
    assert client.get("/hours/providers").status_code == 403
    assert client.get("/hours/providers.xlsx").status_code == 403


def test_a_province_and_a_city_see_the_figures_of_their_schools_only(client):
    """Issue 14 item 6: the figures for the org AND the provinces; a city its own schools."""
    from tests.sites.factories import make_city, make_school

    city = make_city("50")
    here = make_user("school", school=make_school("50", city=city))
    elsewhere_in_province = make_user("school", school=make_school("50"))
    other_province = make_user("school", school=make_school("11"))
    a, _ = holder(here)
    b, _ = holder(elsewhere_in_province)
    c, _ = holder(other_province)
    add_hours(a, "督导", "4", provider="本市机构", on=days_ago(1))
    add_hours(b, "督导", "6", provider="本省机构", on=days_ago(1))
    add_hours(c, "督导", "8", provider="外省机构", on=days_ago(1))
    prov = make_user("province", province_code="50")
    city_user = make_user("city")
    city_user.city_id = city.id
    assert {r.provider for r in figures.providers(prov)} >= {"本市机构", "本省机构"}
    assert "外省机构" not in {r.provider for r in figures.providers(prov)}
    assert [r.provider for r in figures.providers(city_user)] == ["本市机构"]
    login_as(client, prov)
    page = client.get("/hours/providers")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "本省机构" in text and "外省机构" not in text
    assert "学时机构统计" in text and "范围：本省院校持证人的学时" in text
    export = client.get("/hours/providers.xlsx")
    assert export.status_code == 200
    names = {row[0] for row in openpyxl.load_workbook(io.BytesIO(export.data)).active.iter_rows(
        min_row=2, values_only=True)}
    export.close()
    assert "本省机构" in names and "外省机构" not in names
