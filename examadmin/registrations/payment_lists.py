"""The lists and figures of the payment pages: orders in scope with filters, counts per state,
what a new order can take. Read-only; the operations are in payments.py."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from ..candidates.models import Candidate, CandidateKind
from ..catalog.models import School
from ..core import clock, idcard, permissions
from ..core.audit import AuditLog
from ..exams.models import PLAN_ORDER, ExamPlan
from ..exams.states import PlanState
from ..extensions import db
from . import lapse
from .models import PaymentKind, PaymentOrder, Registration
from .states import PaymentState, RegistrationState


def _bounded(value: int | None) -> int | None:
    """A filter id, or None when the database could not hold it (an unknown filter is ignored)."""
    return value if value is not None and 0 < value < 2**31 else None


def list_orders(actor: Any, *, plan_id: int | None = None, state: str = "", kind: str = "",
                school_id: int | None = None, q: str = ""):
    """Orders in scope, newest first, filtered; an unknown filter value is ignored."""
    permissions.require(actor, "payments.view")
    plan_id, school_id = _bounded(plan_id), _bounded(school_id)
    query = (permissions.scoped(actor, select(PaymentOrder))
             .options(joinedload(PaymentOrder.plan), joinedload(PaymentOrder.school),
                      joinedload(PaymentOrder.candidate))
             .order_by(PaymentOrder.id.desc()))
    if plan_id:
        query = query.where(PaymentOrder.plan_id == plan_id)
    if school_id:
        query = query.where(PaymentOrder.school_id == school_id)
    try:
        if state:
            query = query.where(PaymentOrder.state == PaymentState(state))
    except ValueError:
        pass
    try:
        if kind:
            query = query.where(PaymentOrder.kind == PaymentKind(kind))
    except ValueError:
        pass
    text = (q or "").strip()[:40]
    if text:
        query = query.where(or_(
            PaymentOrder.reference == text.upper(),
            PaymentOrder.candidate_id.in_(select(Candidate.id).where(Candidate.name.contains(text))),
            PaymentOrder.school_id.in_(select(School.id).where(or_(School.code == text, School.name.contains(text))))))
    return query


def state_counts(actor: Any, *, plan_id: int | None = None) -> dict[str, int]:
    permissions.require(actor, "payments.view")
    plan_id = _bounded(plan_id)
    query = (select(PaymentOrder.state, func.count()).where(permissions.scope_clause(actor, PaymentOrder))
             .group_by(PaymentOrder.state))
    if plan_id:
        query = query.where(PaymentOrder.plan_id == plan_id)
    return {state.value: count for state, count in db.session.execute(query).all()}


def order_registrations(order: PaymentOrder) -> list[Registration]:
    """The order's registrations with what its page shows, in one query; for a withdrawn order,
    those it released (named in its release's audit entry), so the page says who was in it."""
    held = Registration.payment_order_id == order.id
    if order.state == PaymentState.WITHDRAWN:
        released = db.session.scalar(
            select(AuditLog.after).where(AuditLog.action == "payment.release", AuditLog.entity_type == "payment_order",
                                         AuditLog.entity_id == order.id).order_by(AuditLog.id.desc()).limit(1)) or {}
        ids = [i for i in released.get("registration_ids", []) if isinstance(i, int)]
        held = Registration.id.in_(ids) & (Registration.school_id == order.school_id)
    return list(db.session.scalars(
        select(Registration).where(held)
        .options(joinedload(Registration.candidate), joinedload(Registration.certificate_level),
                 joinedload(Registration.site))
        .order_by(Registration.id)))


def social_pending(actor: Any, plan_id: int) -> list[dict[str, Any]]:
    """Social candidates of the school with unpaid registrations of a plan not yet in an order."""
    permissions.require(actor, "payments.view")
    rows = db.session.execute(
        select(Candidate, func.count(Registration.id), func.sum(Registration.fee))
        .join(Registration, Registration.candidate_id == Candidate.id)
        .where(permissions.scope_clause(actor, Registration), Registration.plan_id == plan_id,
               Registration.kind == CandidateKind.SOCIAL, Registration.state == RegistrationState.UNPAID,
               Registration.payment_order_id.is_(None), ~lapse.overdue_clause())
        .group_by(Candidate.id).order_by(Candidate.name).limit(500)).all()
    return [{"candidate": c, "id_number_masked": idcard.mask(c.id_number), "count": n, "amount": amount}
            for c, n, amount in rows]


def payable_plans(actor: Any) -> list[ExamPlan]:
    """Published plans whose payment deadline has not passed, for choosing where to pay."""
    permissions.require(actor, "payments.view")
    return list(db.session.scalars(
        permissions.scoped(actor, select(ExamPlan))
        .where(ExamPlan.state == PlanState.PUBLISHED, ExamPlan.payment_deadline >= clock.now())
        .order_by(*PLAN_ORDER)))


def plans_with_orders(actor: Any) -> list[ExamPlan]:
    permissions.require(actor, "payments.view")
    return list(db.session.scalars(
        permissions.scoped(actor, select(ExamPlan))
        .where(ExamPlan.id.in_(select(PaymentOrder.plan_id).where(permissions.scope_clause(actor, PaymentOrder))))
        .order_by(*PLAN_ORDER)))
