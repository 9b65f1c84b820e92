"""The validity rule across the window, expiry and grace boundaries, with a fixed clock."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from examadmin.certificates import validity as hook
from examadmin.certificates.states import CertificateState
from examadmin.core import clock
from examadmin.renewals import services
from examadmin.renewals.models import RenewalPolicy
from examadmin.renewals.states import Validity as V
from examadmin.renewals.validity import DEFAULT_POLICY, Policy, add_months, cycle, cycle_of, renewed_until
from tests.conftest import make_user, the_certificate
from tests.renewals.factories import add_hours, make_holder

ISSUED = date(2026, 1, 15)


@pytest.mark.parametrize("today, expected", [
    (date(2026, 1, 15), V.VALID),
    (date(2028, 10, 14), V.VALID),          # the day before the window
    (date(2028, 10, 15), V.DUE),            # three months before expiry: the window opens
    (date(2029, 1, 14), V.DUE),             # the last valid day
    (date(2029, 1, 15), V.NOT_RENEWED),     # expired, late re-registration possible
    (date(2030, 1, 14), V.NOT_RENEWED),     # the last day of the grace period (12 months)
    (date(2030, 1, 15), V.LAPSED),          # after it: 已失效
])
def test_states_across_the_window_expiry_and_grace_boundaries(today, expected):
    current = cycle_of(ISSUED, CertificateState.ISSUED, DEFAULT_POLICY, None, today)
    assert current.state == expected
    assert current.valid_until == date(2029, 1, 14)
    assert current.window_opens == date(2028, 10, 15)
    assert current.grace_until == date(2030, 1, 14)


@pytest.mark.parametrize("today, expected", [
    (date(2031, 10, 14), V.RENEWED),        # renewed: valid three more years, shown as 已再登记
    (date(2031, 10, 15), V.DUE),            # the next cycle's window
    (date(2032, 1, 15), V.NOT_RENEWED),
])
def test_an_approved_renewal_moves_expiry_on_three_years(today, expected):
    until = renewed_until(date(2029, 1, 14), DEFAULT_POLICY)
    assert until == date(2032, 1, 14)
    current = cycle_of(ISSUED, CertificateState.ISSUED, DEFAULT_POLICY, until, today)
    assert current.state == expected and current.renewed
    assert current.valid_from == date(2029, 1, 15)


def test_a_revoked_certificate_stays_revoked_whatever_the_dates():
    for today in (ISSUED, date(2028, 11, 1), date(2031, 1, 1)):
        assert cycle_of(ISSUED, CertificateState.REVOKED, DEFAULT_POLICY, None, today).state == V.REVOKED


def test_the_policy_sets_years_window_and_grace():
    policy = Policy(validity_years=2, window_months=1, grace_months=0)
    assert cycle_of(ISSUED, CertificateState.ISSUED, policy, None, date(2027, 12, 14)).state == V.VALID
    assert cycle_of(ISSUED, CertificateState.ISSUED, policy, None, date(2027, 12, 15)).state == V.DUE
    assert cycle_of(ISSUED, CertificateState.ISSUED, policy, None, date(2028, 1, 15)).state == V.LAPSED


def test_month_arithmetic_keeps_the_last_day_of_short_months():
    assert add_months(date(2026, 8, 31), -6) == date(2026, 2, 28)
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)


def test_state_follows_the_clock_and_approvals_on_read(monkeypatch):
    holder = make_holder(ISSUED)
    monkeypatch.setattr(clock, "now", lambda: datetime(2028, 10, 14, 23, 59))
    assert hook.of_record(holder.record).state == V.VALID
    monkeypatch.setattr(clock, "now", lambda: datetime(2028, 10, 15, 0, 0))
    assert hook.of_record(holder.record).state == V.DUE
    add_hours(holder.record, "95", date(2027, 5, 1))
    application = services.create_application(holder.user, holder.record.id)
    application.signed_form_key = "renewals/x.pdf"
    services.submit_application(holder.user, application.id)
    services.pass_to_province(holder.city_user, application.id)
    services.approve_application(holder.province_user, application.id)
    current = cycle(holder.record)
    assert current.state == V.RENEWED and current.valid_until == date(2032, 1, 14)


def test_the_org_policy_is_read_by_the_rule(monkeypatch):
    holder = make_holder(ISSUED)
    org = make_user("org")
    monkeypatch.setattr(clock, "now", lambda: datetime(2027, 12, 20, 9, 0))
    assert cycle(holder.record).state == V.VALID
    services.save_policy(org, the_certificate().id, {"validity_years": "2", "window_months": "3",
                                                     "hours_required": "60", "late_hours_required": "80",
                                                     "grace_months": "6"})
    current = cycle(holder.record)
    assert current.state == V.DUE and current.valid_until == date(2028, 1, 14) and current.hours_needed == 60


@pytest.mark.parametrize("field, value, message", [
    ("validity_years", "0", "有效期（年）应在 1 到 10 之间"),
    ("window_months", "x", "再登记窗口（月）应为整数"),
    ("late_hours_required", "50", "补办所需学时不能少于"),
])
def test_policy_refuses_bad_numbers(field, value, message):
    from examadmin.core.errors import DomainError
    from sqlalchemy import select
    from examadmin.extensions import db

    data = {"validity_years": "3", "window_months": "3", "hours_required": "90", "late_hours_required": "120",
            "grace_months": "12"} | {field: value}
    with pytest.raises(DomainError, match=message):
        services.save_policy(make_user("org"), the_certificate().id, data)
    assert db.session.scalar(select(RenewalPolicy)) is None
