"""证书有效期清单: the SQL ranges agree with the rule day by day, and the list pages, filters, scopes and exports."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import Column, Date, Integer, MetaData, Table, select

from examadmin.core import clock
from examadmin.extensions import db
from examadmin.renewals.models import RenewalPolicy
from examadmin.renewals.states import Validity
from examadmin.renewals.validity import DEFAULT_POLICY, Policy, cycle_of, renewed_until, state_clause
from examadmin.certificates.states import CertificateState
from tests.conftest import login_as, make_user
from tests.renewals.factories import make_holder

STATES = [Validity.VALID, Validity.DUE, Validity.RENEWED, Validity.NOT_RENEWED, Validity.LAPSED]


@pytest.mark.parametrize("today", [date(2029, 1, 14), date(2029, 2, 28), date(2028, 2, 29), date(2029, 12, 31)])
def test_the_sql_ranges_classify_every_day_as_the_rule_does(app, today):
    """Issue dates day by day over five years, never renewed and renewed, with the default policy
    (certificate 1) and an org's own (certificate 2: 2 years, window 2, grace 6): each SQL state
    filter selects exactly the rows the rule puts in that state."""
    own = Policy(validity_years=2, window_months=2, grace_months=6)
    certificate = make_holder(date(2026, 1, 15)).record.certificate_level.certificate
    db.session.add(RenewalPolicy(certificate_id=certificate.id, validity_years=2, window_months=2,
                                 hours_required=90, late_hours_required=120, grace_months=6))
    db.session.flush()
    rows, expected = [], {}
    day = today - timedelta(days=5 * 366)
    index = 0
    while day <= today:
        for certificate_id, policy in ((999_999, DEFAULT_POLICY), (certificate.id, own)):
            first_until = date.fromordinal(cycle_of(day, None, policy, None, today).valid_until.toordinal())
            for until in (None, renewed_until(first_until, policy)):
                index += 1
                rows.append((index, day, certificate_id, until))
                expected[index] = cycle_of(day, None, policy, until, today).state
        day += timedelta(days=1)
    table = Table("validity_probe", MetaData(), Column("id", Integer, primary_key=True), Column("issue", Date),
                  Column("certificate", Integer), Column("until", Date), prefixes=["TEMPORARY"])
    table.create(db.session.connection())
    db.session.execute(table.insert(), [dict(zip(("id", "issue", "certificate", "until"), row)) for row in rows])
    assert set(expected.values()) >= {Validity.VALID, Validity.DUE, Validity.NOT_RENEWED, Validity.LAPSED}
    for state in STATES:
        found = set(db.session.scalars(select(table.c.id).where(
            state_clause(state, today, table.c.issue, table.c.certificate, table.c.until))))
        assert found == {i for i, s in expected.items() if s == state}, state


@pytest.fixture
def certificates(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2028, 11, 20, 10, 0))
    return {
        Validity.VALID: make_holder(date(2027, 6, 1)),
        Validity.DUE: make_holder(date(2026, 1, 15)),
        Validity.NOT_RENEWED: make_holder(date(2025, 6, 1)),
        Validity.LAPSED: make_holder(date(2024, 3, 1)),
        Validity.REVOKED: make_holder(date(2026, 1, 20), state=CertificateState.REVOKED),
    }


def test_the_org_lists_certificates_by_validity_state(client, certificates):
    org = make_user("org")
    login_as(client, org)
    for state, holder in certificates.items():
        page = client.get(f"/renewals/certificates?state={state.value}").get_data(as_text=True)
        assert page.count('data-testid="validity-row"') == 1, state
        assert holder.record.number in page and holder.record.id_number not in page
        assert f'data-testid="validity-state">{state.value}' in page
    everything = client.get("/renewals/certificates").get_data(as_text=True)
    assert everything.count('data-testid="validity-row"') == 5
    assert client.get("/renewals/certificates?state=nonsense&level=abc").status_code == 200
    overview = client.get("/renewals/overview").get_data(as_text=True)
    assert "/renewals/certificates?state=" in overview


def test_the_export_follows_the_filter_with_masked_id_numbers(client, certificates):
    login_as(client, make_user("org"))
    response = client.get(f"/renewals/certificates.xlsx?state={Validity.DUE.value}")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("姓名", "证件号码") and len(rows) == 2
    holder = certificates[Validity.DUE]
    assert rows[1][3] == holder.record.number and rows[1][6] == "待再登记"
    assert rows[1][1] != holder.record.id_number and "*" in rows[1][1]


def test_a_province_lists_only_its_schools_and_a_school_not_at_all(client, certificates):
    holder = certificates[Validity.DUE]
    login_as(client, holder.province_user)
    page = client.get("/renewals/certificates").get_data(as_text=True)
    assert holder.record.number in page
    login_as(client, make_user("province", province_code="51"))
    assert client.get("/renewals/certificates").get_data(as_text=True).count('data-testid="validity-row"') == 0
    login_as(client, make_user("school", school=holder.school))
    assert client.get("/renewals/certificates").status_code == 403
    assert client.get("/renewals/certificates.xlsx").status_code == 403
