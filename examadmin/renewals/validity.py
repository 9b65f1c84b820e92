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
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from ..certificates import validity as hook, verification
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
    #: 再登记编号 of the approved re-registration that set `valid_until` ("" when never renewed)
    registration_number: str = ""

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
    return {record_id: until for record_id, (until, _) in approved(record_ids).items()}


def approved(record_ids: list[int]) -> dict[int, tuple[date, str]]:
    """(last valid day, 再登记编号) of each record's latest approved re-registration, in one query."""
    from .models import RenewalApplication

    if not record_ids:
        return {}
    found: dict[int, tuple[date, str]] = {}
    for record_id, until, number in db.session.execute(
            select(RenewalApplication.record_id, RenewalApplication.new_expiry,
                   RenewalApplication.registration_number)
            .where(RenewalApplication.record_id.in_(record_ids), RenewalApplication.state == RenewalState.APPROVED,
                   RenewalApplication.new_expiry.is_not(None))):
        if record_id not in found or until > found[record_id][0]:
            found[record_id] = (until, number or "")
    return found


def cycles(records: list[Any], today: date | None = None) -> dict[int, Cycle]:
    """The cycle of every issued (or revoked) record, in two queries whatever their number."""
    today = today or clock.now().date()
    records = [r for r in records if r.issue_date is not None
               and r.state in (CertificateState.ISSUED, CertificateState.REVOKED)]
    if not records:
        return {}
    level_certificate = {r.id: r.certificate_level.certificate_id for r in records}
    rules = policies(set(level_certificate.values()))
    renewals = approved([r.id for r in records])
    found = {}
    for r in records:
        until, number = renewals.get(r.id, (None, ""))
        current = cycle_of(r.issue_date, r.state, rules[level_certificate[r.id]], until, today)
        found[r.id] = replace(current, registration_number=number) if number and current.renewed else current
    return found


def cycle(record: Any, today: date | None = None) -> Cycle | None:
    return cycles([record], today).get(record.id)


# ---- the same rule as SQL ranges (lists filtered by validity state, never loading every record) ----

def first_day_after(months: int, bound: date) -> date:
    """The first day d with add_months(d, months) > bound. add_months never decreases as d grows
    (it clamps to a month's last day), so every condition of the rule on a date is a range of dates."""
    day = add_months(bound, -months) - timedelta(days=4)
    while add_months(day - timedelta(days=1), months) > bound:
        day -= timedelta(days=1)
    while add_months(day, months) <= bound:
        day += timedelta(days=1)
    return day


def expiry_bounds(state: Validity, policy: Policy, today: date) -> tuple[date | None, date | None]:
    """(low, high): a cycle is in `state` today exactly when low < expiry <= high (None: unbounded),
    expiry being the first day it is no longer valid (valid_until + 1). Derived from `cycle_of`:
    window_opens = expiry - window months, grace_until + 1 = expiry + grace months."""
    opens = first_day_after(-policy.window_months, today)  # window_opens > today  <=>  expiry >= opens
    grace = first_day_after(policy.grace_months, today)  # grace_until >= today  <=>  expiry >= grace
    if state in (Validity.VALID, Validity.RENEWED):
        return opens - timedelta(days=1), None
    if state == Validity.DUE:
        return today, opens - timedelta(days=1)
    if state == Validity.NOT_RENEWED:
        return grace - timedelta(days=1), today
    if state == Validity.LAPSED:
        return None, grace - timedelta(days=1)
    raise ValueError(state)


def state_clause(state: Validity, today: date, issue_date, certificate_id, renewed_until):
    """A SQL condition on (issue date, certificate id, last approved valid day or NULL) that holds
    exactly for the issued certificates whose `cycle_of` state is `state` today (not for 已撤销,
    which is the record's own state). One range per policy in use: the certificates with their
    own RenewalPolicy, and the default for the others."""
    from sqlalchemy import and_, false, or_

    from .models import RenewalPolicy

    rows = db.session.execute(select(RenewalPolicy.certificate_id, RenewalPolicy.validity_years,
                                     RenewalPolicy.window_months, RenewalPolicy.hours_required,
                                     RenewalPolicy.late_hours_required, RenewalPolicy.grace_months)).all()
    groups: dict[Policy, list[int]] = {}
    for certificate, *values in rows:
        groups.setdefault(Policy(*values), []).append(certificate)
    own = [certificate for ids in groups.values() for certificate in ids]
    parts = []
    for policy, ids in [(p, ids) for p, ids in groups.items()] + [(DEFAULT_POLICY, None)]:
        low, high = expiry_bounds(state, policy, today)
        span = 12 * policy.validity_years
        # never renewed: expiry = add_months(issue date, span)
        first = [renewed_until.is_(None)]
        if low is not None:
            first.append(issue_date >= first_day_after(span, low))
        if high is not None:
            first.append(issue_date < first_day_after(span, high))
        # renewed: expiry = the approved valid day + 1
        again = [renewed_until.is_not(None)]
        if low is not None:
            again.append(renewed_until >= low)
        if high is not None:
            again.append(renewed_until < high)
        if state == Validity.VALID:
            again = [false()]
        elif state == Validity.RENEWED:
            first = [false()]
        which = certificate_id.in_(ids) if ids is not None else (certificate_id.not_in(own) if own else None)
        branch = or_(and_(*first), and_(*again))
        parts.append(and_(which, branch) if which is not None else branch)
    return or_(*parts)


#: 再登记编号 as services.registration_number writes it: ZC, the year, 8 digits
REGISTRATION_NUMBER = re.compile(r"^ZC\d{12}$")


def registration_number_hint(number: str) -> str | None:
    """The public lookup asks for the certificate number; a 再登记编号 typed there is named as such."""
    if REGISTRATION_NUMBER.match(number or ""):
        return (f"{number} 是再登记凭证编号，不是证书编号。请输入证书编号（17 位，见证书或电子再登记凭证上的"
                "“证书编号”一栏；再登记后证书编号不变），查验结果会显示有效期和再登记编号。")
    return None


hook.SOURCES.append(cycles)
if registration_number_hint not in verification.OTHER_NUMBERS:
    verification.OTHER_NUMBERS.append(registration_number_hint)
