"""The one rule of a certificate's validity (DOMAIN.md §12), computed on read from dates and decisions.

A registration is valid for `validity_years` from the issue date; every approved
re-registration moves the last valid day on by the same span. With `today`:
- before the window (the `window_months` before expiry): 有效, or 已再登记 once renewed;
- in the window, up to and including the last valid day: 待再登记;
- after it, during `grace_months`: 未再登记 (late re-registration, 补办, is still possible);
- after the grace period: 已失效 (the holder must sit the exam again);
- a revoked certificate stays 已撤销 whatever the dates.
Nothing here depends on a job having run: the state follows from the issue date and the
approved applications whenever it is read.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from ..certificates import validity as hook
from ..certificates.states import CertificateState
from ..core import clock
from ..extensions import db
from .states import RenewalState, Validity


@dataclass(frozen=True)
class Policy:
    """The renewal rules of a certificate (RenewalPolicy's values, or the defaults)."""

    validity_years: int = 3
    window_months: int = 3
    hours_required: int = 90
    late_hours_required: int = 120
    grace_months: int = 12


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Cycle:
    """Where a certificate stands today: its current registration cycle and validity state."""

    state: Validity
    #: the first and the last valid day of the current cycle
    valid_from: date
    valid_until: date
    #: the first day of the window, and the last day late re-registration is possible
    window_opens: date
    grace_until: date
    renewed: bool
    policy: Policy

    @property
    def can_apply(self) -> bool:
        return self.state in (Validity.DUE, Validity.NOT_RENEWED)

    @property
    def late(self) -> bool:
        return self.state == Validity.NOT_RENEWED

    @property
    def hours_needed(self) -> int:
        return self.policy.late_hours_required if self.late else self.policy.hours_required

    @property
    def month_before(self) -> date:
        """The day one month before expiry (the second reminder)."""
        return add_months(self.valid_until + timedelta(days=1), -1)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier); the month's last day when it has no such day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def renewed_until(valid_until: date, policy: Policy) -> date:
    """The last valid day after a re-registration of the cycle ending on `valid_until`."""
    return add_months(valid_until + timedelta(days=1), 12 * policy.validity_years) - timedelta(days=1)


def cycle_of(issue_date: date, record_state: Any, policy: Policy, approved_until: date | None,
             today: date) -> Cycle:
    """The rule itself: the state of a certificate issued on `issue_date` whose last approved
    re-registration (if any) made it valid until `approved_until`."""
    first_until = add_months(issue_date, 12 * policy.validity_years) - timedelta(days=1)
    valid_until = max(first_until, approved_until) if approved_until else first_until
    renewed = approved_until is not None
    expiry = valid_until + timedelta(days=1)  # the first day it is no longer valid
    valid_from = issue_date if not renewed else add_months(expiry, -12 * policy.validity_years)
    window_opens = add_months(expiry, -policy.window_months)
    grace_until = add_months(expiry, policy.grace_months) - timedelta(days=1)
    if record_state == CertificateState.REVOKED:
        state = Validity.REVOKED
    elif today < window_opens:
        state = Validity.RENEWED if renewed else Validity.VALID
    elif today <= valid_until:
        state = Validity.DUE
    elif today <= grace_until:
        state = Validity.NOT_RENEWED
    else:
        state = Validity.LAPSED
    return Cycle(state, valid_from, valid_until, window_opens, grace_until, renewed, policy)


def policies(certificate_ids: set[int]) -> dict[int, Policy]:
    """The policy of each certificate (defaults where the org set none)."""
    from .models import RenewalPolicy

    found = {cid: DEFAULT_POLICY for cid in certificate_ids}
    if certificate_ids:
        for row in db.session.scalars(select(RenewalPolicy).where(RenewalPolicy.certificate_id.in_(certificate_ids))):
            found[row.certificate_id] = Policy(row.validity_years, row.window_months, row.hours_required,
                                               row.late_hours_required, row.grace_months)
    return found


def policy_for(certificate_id: int) -> Policy:
    return policies({certificate_id})[certificate_id]


def approved_until(record_ids: list[int]) -> dict[int, date]:
    """The last valid day set by each record's latest approved re-registration."""
    from .models import RenewalApplication

    if not record_ids:
        return {}
    rows = db.session.execute(
        select(RenewalApplication.record_id, func.max(RenewalApplication.new_expiry))
        .where(RenewalApplication.record_id.in_(record_ids), RenewalApplication.state == RenewalState.APPROVED)
        .group_by(RenewalApplication.record_id)).all()
    return {record_id: until for record_id, until in rows if until is not None}


def cycles(records: list[Any], today: date | None = None) -> dict[int, Cycle]:
    """The cycle of every issued (or revoked) record, in two queries whatever their number."""
    today = today or clock.now().date()
    records = [r for r in records if r.issue_date is not None
               and r.state in (CertificateState.ISSUED, CertificateState.REVOKED)]
    if not records:
        return {}
    level_certificate = {r.id: r.certificate_level.certificate_id for r in records}
    rules = policies(set(level_certificate.values()))
    approved = approved_until([r.id for r in records])
    return {r.id: cycle_of(r.issue_date, r.state, rules[level_certificate[r.id]], approved.get(r.id), today)
            for r in records}


def cycle(record: Any, today: date | None = None) -> Cycle | None:
    return cycles([record], today).get(record.id)


hook.SOURCES.append(cycles)
