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


@pytest.mark.parametrize("role", ["school", "province", "city"])
def test_the_figures_are_the_orgs(client, role):
    login_as(client, make_user(role))
    assert client.get("/hours/providers").status_code == 403
    assert client.get("/hours/providers.xlsx").status_code == 403
