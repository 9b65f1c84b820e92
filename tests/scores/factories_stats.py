"""Factories of the statistics, lookup and portal tests: scored registrations inserted directly.

The score services (entry, import, results) are built in parallel by the other scores
helper; until they are in this tree a scored registration is: a registration in 已排考, its
admission ticket, one Score row per subject and the Result the rule of DOMAIN.md §9 gives
(every subject reaches its pass mark; 缺考 and 违纪 fail), as `scores.results.recompute`
would leave it. The plan's ScorePublication row is set to the stage a test needs.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from examadmin.candidates.models import Candidate, CandidateKind
from examadmin.catalog.models import Level, Major
from examadmin.exams.models import ExamPlan, Subject
from examadmin.extensions import db
from examadmin.registrations.models import Registration
from examadmin.registrations.states import RegistrationState
from examadmin.scheduling.models import AdmissionTicket
from examadmin.scores.models import Result, Score, ScorePublication
from examadmin.scores.states import PublicationStage
from examadmin.sites.models import ExamSite
from sqlalchemy import select
from tests.exams.factories import make_plan, make_subject
from tests.scheduling.factories import make_candidate, make_registration
from tests.sites.factories import make_site, make_user

_tickets = itertools.count(1)

#: a subject's mark: a score, 缺考, 违纪, or None (not entered yet)
Mark = float | str | None


@dataclass
class Scored:
    registration: Registration
    candidate: Candidate
    ticket_number: str


@dataclass
class ScoredPlan:
    plan: ExamPlan
    subjects: list[Subject]
    publication: ScorePublication
    sites: list[ExamSite] = field(default_factory=list)

    def add(self, site: ExamSite, marks: list[Mark], *, name: str | None = None, major: Major | None = None,
            kind: CandidateKind = CandidateKind.STUDENT) -> Scored:
        """A candidate of the site's school, registered, seated, scored with `marks` (one per subject)."""
        candidate = make_candidate(site.school_id, name=name, kind=kind)
        if major is not None:
            candidate.major_id = major.id
        registration = make_registration(candidate, self.plan, site, state=RegistrationState.SCHEDULED)
        ticket = f"{self.plan.id % 1000:03d}{next(_tickets):09d}"
        db.session.add(AdmissionTicket(registration_id=registration.id, plan_id=self.plan.id,
                                       school_id=registration.school_id, ticket_number=ticket))
        passed: bool | None = True
        total = Decimal(0)
        for subject, mark in zip(self.subjects, marks, strict=True):
            score = Score(registration_id=registration.id, subject_id=subject.id, plan_id=self.plan.id,
                          school_id=registration.school_id, absent=mark == "缺考", violation=mark == "违纪",
                          score=Decimal(str(mark)) if isinstance(mark, (int, float)) else None)
            db.session.add(score)
            if mark is None:
                passed = None if passed is not False else False
            elif isinstance(mark, str) or mark < subject.pass_mark:
                passed = False
            if isinstance(mark, (int, float)) and total is not None:
                total += Decimal(str(mark))
            else:
                total = None
        db.session.add(Result(registration_id=registration.id, plan_id=self.plan.id,
                              school_id=registration.school_id, certificate_level_id=registration.certificate_level_id,
                              id_type=registration.id_type, id_number=registration.id_number, passed=passed,
                              total=total))
        db.session.flush()
        return Scored(registration, candidate, ticket)

    def set_stage(self, stage: PublicationStage) -> None:
        self.publication.stage = stage
        db.session.flush()


def make_scored_plan(stage: PublicationStage = PublicationStage.FINAL, *, level: Level = Level.JUNIOR,
                     subjects: int = 2, publication: bool = True) -> ScoredPlan:
    """A published plan with `subjects` subjects of one level (full 100, pass 60) and its publication row."""
    made = [make_subject(level, mode) for mode in ("机考", "实操", "笔试")[:subjects]]
    times = [("09:00", "11:00"), ("14:00", "16:00"), ("16:30", "18:00")]
    plan = make_plan([(s, *times[i]) for i, s in enumerate(made)])
    row = ScorePublication(plan_id=plan.id, stage=stage)
    if publication:
        db.session.add(row)
        db.session.flush()
    return ScoredPlan(plan, made, row)


def school_site(level: Level = Level.JUNIOR, province_code: str = "50", school_user=None) -> tuple:
    """An approved site of a new school (in the given province) and that school's user."""
    school_user = school_user or make_user("school", province_code=province_code)
    return make_site(school_user, level), school_user


def a_major() -> Major:
    return db.session.scalar(select(Major).order_by(Major.id))
