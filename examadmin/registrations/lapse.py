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
from types import SimpleNamespace

from sqlalchemy import and_, select, update

from ..candidates.models import Candidate
from ..catalog.models import CertificateLevel, School
from ..core import clock
from ..core.audit import AuditLog
from ..core.workflow import SYSTEM
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


#: registrations lapsed per UPDATE (bounded by the database's limit on bound parameters)
CHUNK = 5000


def lapse_overdue(*, plan_id: int | None = None, school_id: int | None = None,
                  at: datetime | None = None) -> LapseResult:
    """Lapse every overdue unpaid registration (of one plan and/or school, or all) and give
    back their places.

    Set-based, because a national plan lapses tens of thousands at its deadline: the
    registration workflow decides the move (待缴费 → 已放弃（未缴费）, by the system) once,
    one UPDATE per chunk makes it, one insert writes an audit entry per registration (the
    same entry `REGISTRATION.move` writes), and each quota line gets its places back in
    one UPDATE.
    """
    at = at or clock.now()
    move = REGISTRATION.allowed(SimpleNamespace(state=RegistrationState.UNPAID), "lapse", None)
    if move is None:  # the table in states.py is the one place that says whether this move exists
        raise RuntimeError("the registration workflow has no lapse move for the system")
    query = (select(Registration.id, Registration.quota_line_id, Registration.school_id,
                    Registration.certificate_level_id, Candidate.name, ExamPlan.payment_deadline)
             .join(Candidate, Candidate.id == Registration.candidate_id)
             .join(ExamPlan, ExamPlan.id == Registration.plan_id)
             .where(overdue_clause(at)).order_by(Registration.id))
    if plan_id is not None:
        query = query.where(Registration.plan_id == plan_id)
    if school_id is not None:
        query = query.where(Registration.school_id == school_id)
    if db.engine.dialect.name == "postgresql":
        # Two lapse runs (the job and a request), or a lapse and a confirmation, must not both
        # act on a registration: the second skips (or, confirming, waits for) the locked rows.
        query = query.with_for_update(skip_locked=True, of=Registration)
    rows = db.session.execute(query).all()
    result = LapseResult()
    if not rows:
        return result
    ids = [row.id for row in rows]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        db.session.execute(update(Registration)
                           .where(Registration.id.in_(chunk), Registration.state == RegistrationState.UNPAID)
                           .values(state=move.target, ended_at=at, quota_line_id=None)
                           .execution_options(synchronize_session=False))
    _expire_loaded(set(ids))
    _audit(rows, move.target, move.action)
    places = Counter(row.quota_line_id for row in rows if row.quota_line_id is not None)
    for line_id, count in sorted(places.items()):
        quota.give_back_places(line_id, count)
    result.lapsed = len(rows)
    result.places_returned = sum(places.values())
    db.session.flush()
    return result


def _expire_loaded(ids: set[int]) -> None:
    """Registrations already loaded in this session read their new state on next access."""
    for key, obj in list(db.session.identity_map.items()):
        if key[0] is Registration and key[1][0] in ids:
            db.session.expire(obj)


def _audit(rows, target: RegistrationState, action: str) -> None:
    """One audit entry per lapsed registration, as `Workflow.move` would write it, in one insert."""
    levels = {lv.id: lv.label for lv in db.session.scalars(
        select(CertificateLevel).where(CertificateLevel.id.in_({row.certificate_level_id for row in rows})))}
    scopes = {school.id: (school.city_id, school.province_id) for school in db.session.scalars(
        select(School).where(School.id.in_({row.school_id for row in rows})))}
    now = clock.now()
    before = {"state": RegistrationState.UNPAID.value}
    entries = []
    for row in rows:
        city_id, province_id = scopes.get(row.school_id, (None, None))
        entries.append({
            "at": now, "actor_id": None, "actor_name": "系统", "actor_role": SYSTEM, "ip": "",
            "action": f"{REGISTRATION.name}.{action}", "entity_type": Registration.__tablename__,
            "entity_id": row.id, "entity_label": f"{row.name} 报考 {levels.get(row.certificate_level_id, '')}"[:200],
            "before": before,
            "after": {"state": target.value, "reason": f"缴费截止时间 {row.payment_deadline:%Y-%m-%d %H:%M} 前未缴费"},
            "school_id": row.school_id, "city_id": city_id, "province_id": province_id})
    for start in range(0, len(entries), CHUNK):
        db.session.execute(AuditLog.__table__.insert(), entries[start:start + CHUNK])  # Core: 10× the ORM bulk path
