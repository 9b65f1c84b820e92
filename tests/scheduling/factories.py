"""Factories of the scheduling tests: candidates and PAID registrations inserted directly.

The registration services are built in parallel (issue 9); until they exist, a paid
registration is a row in state 已缴费 with the plan's fee and the candidate's ID document,
as the registration service would leave it after a confirmed payment.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta

from examadmin.candidates.models import Candidate, CandidateKind, IdType
from examadmin.candidates.states import CandidateState
from examadmin.catalog.models import Level
from examadmin.exams.models import ExamPlan, ExamRoom, Subject
from examadmin.extensions import db
from examadmin.registrations.models import Registration
from examadmin.registrations.states import RegistrationState
from examadmin.sites.models import ExamSite
from tests.candidates.helpers import id_number
from tests.exams.factories import EXAM_DAY, make_plan, make_room, make_subject
from tests.sites.factories import make_site, make_user

_n = itertools.count(1)


def make_candidate(school_id: int, name: str | None = None, class_name: str = "心理2201",
                   kind: CandidateKind = CandidateKind.STUDENT) -> Candidate:
    n = next(_n)
    number = id_number(born=f"200{n % 10}0{1 + n % 9}1{n % 10}", male=bool(n % 2))
    candidate = Candidate(school_id=school_id, kind=kind, name=name or f"考生{n}", id_type=IdType.RESIDENT,
                          id_number=number, gender="男" if n % 2 else "女", class_name=class_name,
                          state=CandidateState.ACCURATE)
    db.session.add(candidate)
    db.session.flush()
    return candidate


def make_registration(candidate: Candidate, plan: ExamPlan, site: ExamSite,
                      state: RegistrationState = RegistrationState.PAID) -> Registration:
    level = site.certificate_level
    registration = Registration(
        plan_id=plan.id, candidate_id=candidate.id, school_id=candidate.school_id, site_id=site.id,
        certificate_level_id=level.id, id_type=candidate.id_type, id_number=candidate.id_number,
        kind=candidate.kind, fee=plan.fee_for(level.level), state=state)
    db.session.add(registration)
    db.session.flush()
    return registration


def register_many(plan, site, count: int, classes: tuple[str, ...] = ("心理2201",), **kwargs) -> list[Registration]:
    return [make_registration(make_candidate(site.school_id, class_name=classes[i % len(classes)]), plan, site,
                              **kwargs) for i in range(count)]


@dataclass
class Setup:
    plan: ExamPlan
    site: ExamSite
    school_user: object
    subject: Subject
    rooms: list[ExamRoom] = field(default_factory=list)


def make_setup(rooms: tuple[int, ...] = (10,), days: int = 1, level: Level = Level.JUNIOR,
               school_user=None) -> Setup:
    """A published plan with one 机考 subject on `days` days, an approved site and rooms of the given seats."""
    subject = make_subject(level, "机考")
    plan = make_plan([(subject, "09:00", "11:00", EXAM_DAY + timedelta(days=d)) for d in range(days)])
    school_user = school_user or make_user("school")
    site = make_site(school_user, level)
    made = [make_room(school_user, plan, site, subject, f"机房{i + 1}", seats) for i, seats in enumerate(rooms)]
    return Setup(plan, site, school_user, subject, made)
