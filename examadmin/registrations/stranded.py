"""Registrations stranded at a disabled exam site (站点已停用的报考).

The org may disable a site while a plan still has live registrations and rooms there: the
disable goes ahead (it has a reason), but scheduling refuses a disabled site, so those
candidates wait for something to be done. This module says who they are: for the disable
confirmation (per plan, before the org decides), the registration pages and the to-dos.

A plan counts while its exam is not over: published, with a session today or later. A
registration counts while it is live and not overdue (an unpaid one past the payment
deadline has lapsed, whether or not the lapse is written yet).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select

from ..core import clock
from ..exams.models import ExamPlan, ExamRoom, ExamSession
from ..exams.states import PlanState
from ..extensions import db
from ..sites import services as site_services
from ..sites.models import ExamSite
from ..sites.states import SiteState
from . import lapse
from .models import Registration
from .states import LIVE


def upcoming_plan_ids():
    """SQL: the published plans whose exam is not over (a session today or later)."""
    return (select(ExamSession.plan_id).join(ExamPlan, ExamPlan.id == ExamSession.plan_id)
            .where(ExamPlan.state == PlanState.PUBLISHED, ExamSession.date >= clock.now().date()))


def holding_clause():
    """SQL: a registration that still holds its place at its site: live, not overdue, of a plan
    whose exam is not over."""
    return and_(Registration.state.in_(LIVE), ~lapse.overdue_clause(),
                Registration.plan_id.in_(upcoming_plan_ids()))


def stranded_clause():
    """SQL: a registration that holds its place at a site the org has disabled."""
    return and_(holding_clause(),
                Registration.site_id.in_(select(ExamSite.id).where(ExamSite.state == SiteState.DISABLED)))


def is_stranded(registration: Registration) -> bool:
    """The same test for one loaded registration (its page)."""
    if registration.site.state != SiteState.DISABLED or registration.state not in LIVE:
        return False
    if lapse.is_overdue(registration):
        return False
    today = clock.now().date()
    return registration.plan.state == PlanState.PUBLISHED and any(s.date >= today for s in registration.plan.sessions)


@dataclass(frozen=True)
class PlanImpact:
    """What one plan has at a site: live registrations and rooms."""

    plan_id: int
    plan_name: str
    registrations: int
    rooms: int


def site_impact(site: ExamSite) -> list[PlanImpact]:
    """Per plan whose exam is not over: the live registrations and the rooms at the site
    (two grouped queries), the plans in time order."""
    upcoming = upcoming_plan_ids()
    registrations = dict(db.session.execute(
        select(Registration.plan_id, func.count()).where(Registration.site_id == site.id, holding_clause())
        .group_by(Registration.plan_id)).all())
    rooms = dict(db.session.execute(
        select(ExamRoom.plan_id, func.count()).where(ExamRoom.site_id == site.id, ExamRoom.plan_id.in_(upcoming))
        .group_by(ExamRoom.plan_id)).all())
    plan_ids = set(registrations) | set(rooms)
    if not plan_ids:
        return []
    plans = db.session.execute(select(ExamPlan.id, ExamPlan.name).where(ExamPlan.id.in_(plan_ids))
                               .order_by(ExamPlan.registration_start, ExamPlan.id)).all()
    return [PlanImpact(pid, name, registrations.get(pid, 0), rooms.get(pid, 0)) for pid, name in plans]


def _impact_rows(site: ExamSite) -> list[dict[str, Any]]:
    return [{"plan_id": i.plan_id, "plan": i.plan_name, "registrations": i.registrations, "rooms": i.rooms}
            for i in site_impact(site)]


# The sites area asks through its hook (an earlier area never imports a later one).
site_services.DISABLE_IMPACT.append(_impact_rows)
