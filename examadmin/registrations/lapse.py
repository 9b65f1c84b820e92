"""Lapse (视为自动放弃): registrations still unpaid when their plan's payment deadline passes.

The outcome must never depend on a scheduled job having run, so every path that acts on
registrations (registering, cancelling, confirming a payment, scheduling, the lists' write
actions) calls `lapse_overdue` first, and pages show an overdue unpaid registration as
lapsed (`is_overdue`) even before it has been written so. The scheduled job and
`examadmin registrations lapse` call the same function.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select

from ..core import clock
from ..exams.models import ExamPlan
from ..extensions import db
from ..pilots import quota
from .models import Registration
from .states import REGISTRATION, RegistrationState


@dataclass
class LapseResult:
    lapsed: int = 0
    places_returned: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"lapsed": self.lapsed, "places_returned": self.places_returned}


def overdue_clause(at: datetime | None = None):
    """SQL: an unpaid registration whose plan's payment deadline has passed."""
    at = at or clock.now()
    return and_(Registration.state == RegistrationState.UNPAID,
                Registration.plan_id.in_(select(ExamPlan.id).where(ExamPlan.payment_deadline < at)))


def is_overdue(registration: Registration, at: datetime | None = None) -> bool:
    """True for an unpaid registration past its plan's deadline (shown as lapsed)."""
    at = at or clock.now()
    return registration.state == RegistrationState.UNPAID and registration.plan.payment_deadline < at


def lapse_overdue(*, plan_id: int | None = None, at: datetime | None = None) -> LapseResult:
    """Lapse every overdue unpaid registration (of one plan, or all) and give back their places."""
    at = at or clock.now()
    query = select(Registration).where(overdue_clause(at)).order_by(Registration.id)
    if plan_id is not None:
        query = query.where(Registration.plan_id == plan_id)
    if db.engine.dialect.name == "postgresql":
        # Two lapse runs (the job and a request) must not both give a place back.
        query = query.with_for_update(skip_locked=True)
    result = LapseResult()
    places: Counter[int] = Counter()
    for registration in db.session.scalars(query):
        REGISTRATION.move(registration, "lapse", None,
                          reason=f"缴费截止时间 {registration.plan.payment_deadline:%Y-%m-%d %H:%M} 前未缴费")
        registration.ended_at = at
        if registration.quota_line_id is not None:
            places[registration.quota_line_id] += 1
            registration.quota_line_id = None
        result.lapsed += 1
    for line_id, count in places.items():
        quota.give_back_places(line_id, count)
        result.places_returned += count
    db.session.flush()
    return result
