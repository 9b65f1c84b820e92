"""Factories of the scores tests: a scheduled plan with two subjects of one level, seats and tickets.

Registrations are inserted as paid rows (tests/scheduling/factories) and placed by the real
scheduling service, which gives each a seat per subject and an admission ticket.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from examadmin.catalog.models import Level
from examadmin.core import clock
from examadmin.exams.models import ExamPlan, Subject
from examadmin.extensions import db
from examadmin.registrations.models import Registration
from examadmin.scheduling.models import AdmissionTicket, Seat
from examadmin.scheduling.services import seats
from examadmin.scores.models import ScorePublication
from examadmin.scores.states import PublicationStage
from examadmin.sites.models import ExamSite
from tests.conftest import make_user as make_any_user
from tests.exams.factories import EXAM_DAY, make_plan, make_room, make_subject
from tests.scheduling.factories import register_many
from tests.sites.factories import make_site, make_user


@dataclass
class ScoreSetup:
    plan: ExamPlan
    site: ExamSite
    school_user: object
    org: object
    subjects: list[Subject]
    registrations: list[Registration] = field(default_factory=list)

    def ticket(self, registration: Registration) -> str:
        return db.session.scalar(select(AdmissionTicket.ticket_number)
                                 .where(AdmissionTicket.registration_id == registration.id))

    def seat(self, registration: Registration, subject: Subject) -> Seat:
        return db.session.scalar(select(Seat).where(Seat.registration_id == registration.id,
                                                    Seat.subject_id == subject.id))


def make_scored_setup(people: int = 3, subjects: int = 2, school_user=None, held: bool = True) -> ScoreSetup:
    """A published plan with `subjects` subjects of 初级 (full 100, pass 60), `people` scheduled registrations.

    Registration and scheduling need the plan's future dates (2030); with `held` the sessions are
    then moved into the past, so that the exam is over and scores can be entered."""
    made = [make_subject(Level.JUNIOR, "机考") for _ in range(subjects)]
    plan = make_plan([(s, "09:00" if i % 2 == 0 else "14:00", "11:00" if i % 2 == 0 else "16:00",
                       EXAM_DAY + timedelta(days=i // 2)) for i, s in enumerate(made)])
    school_user = school_user or make_user("school")
    site = make_site(school_user, Level.JUNIOR)
    for i, subject in enumerate(made):
        make_room(school_user, plan, site, subject, f"机房{i + 1}", max(people, 1) + 5)
    registrations = register_many(plan, site, people)
    seats.schedule(school_user, plan.id, site.id, seed=7)
    if held:
        hold_exam(plan)
    db.session.flush()
    for registration in registrations:
        db.session.refresh(registration)
    org = make_any_user("org")
    return ScoreSetup(plan, site, school_user, org, made, registrations)


def hold_exam(plan: ExamPlan, days_ago: int = 30) -> None:
    """Move the plan's sessions `days_ago` days back (keeping their order and times): the exam was held."""
    sessions = sorted(plan.sessions, key=lambda s: (s.date, s.start_time, s.id))
    shift = sessions[0].date - (clock.now().date() - timedelta(days=days_ago)) if sessions else timedelta(0)
    for session in sessions:
        session.date = session.date - shift
    db.session.flush()


def set_stage(plan_id: int, stage: PublicationStage, **fields) -> ScorePublication:
    """A publication row at the stage a test needs (bypassing the workflow: setup only)."""
    pub = db.session.scalar(select(ScorePublication).where(ScorePublication.plan_id == plan_id))
    if pub is None:
        pub = ScorePublication(plan_id=plan_id)
        db.session.add(pub)
    pub.stage = stage
    for name, value in fields.items():
        setattr(pub, name, value)
    db.session.flush()
    return pub
