"""A candidate's own scores and results (issue 11 item 6), once visible to candidates.

Visibility is the models' scope: a candidate's Score and Result rows are seen only from
成绩公示中 on. During display the page says the scores may still change.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core import permissions
from ..exams.models import Subject
from ..extensions import db
from ..registrations.models import Registration
from ..scheduling.models import AdmissionTicket
from .lookup import shown_score, subject_passed
from .models import Result, Score, ScorePublication
from .states import PublicationStage


@dataclass(frozen=True)
class MySubject:
    name: str
    shown: str
    passed: bool
    full_mark: int
    pass_mark: int


@dataclass(frozen=True)
class MyResult:
    plan_name: str
    level_label: str
    ticket_number: str
    stage: PublicationStage
    display_ends_at: datetime | None
    subjects: list[MySubject]
    #: None while some subject has no score yet
    passed: bool | None

    @property
    def final(self) -> bool:
        return self.stage == PublicationStage.FINAL


def my_results(actor) -> list[MyResult]:
    """The actor's (a candidate's) visible scores, one entry per registration, newest plan first."""
    permissions.require(actor, "scores.mine")
    rows = db.session.execute(permissions.scoped(actor, select(Score, Subject), Score)
                              .join(Subject, Subject.id == Score.subject_id)
                              .order_by(Score.registration_id, Subject.name, Subject.id)).all()
    by_registration: dict[int, list[MySubject]] = {}
    for score, subject in rows:
        by_registration.setdefault(score.registration_id, []).append(
            MySubject(subject.name, shown_score(score), subject_passed(score, subject), subject.full_mark,
                      subject.pass_mark))
    if not by_registration:
        return []
    ids = list(by_registration)
    registrations = db.session.scalars(
        select(Registration).where(Registration.id.in_(ids))
        .options(selectinload(Registration.plan), selectinload(Registration.certificate_level))
        .order_by(Registration.plan_id.desc())).all()
    tickets = dict(db.session.execute(select(AdmissionTicket.registration_id, AdmissionTicket.ticket_number)
                                      .where(AdmissionTicket.registration_id.in_(ids))).all())
    results = dict(db.session.execute(permissions.scoped(actor, select(Result.registration_id, Result.passed),
                                                         Result).where(Result.registration_id.in_(ids))).all())
    publications = {p.plan_id: p for p in db.session.scalars(select(ScorePublication).where(
        ScorePublication.plan_id.in_({r.plan_id for r in registrations})))}
    return [MyResult(plan_name=r.plan.name, level_label=r.certificate_level.label,
                     ticket_number=tickets.get(r.id, ""), stage=publications[r.plan_id].stage,
                     display_ends_at=publications[r.plan_id].display_ends_at,
                     subjects=by_registration[r.id], passed=results.get(r.id))
            for r in registrations]
