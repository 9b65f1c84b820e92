"""The public score lookup (成绩查询, 凭身份证、准考证查询; DOMAIN.md §11, issue 11 item 5).

Anyone may ask with an ID number and an admission ticket number; the answer is the final
result of that registration or nothing. Every way of not matching (a malformed ID number, a
wrong ticket, a pair of two different people, a plan not yet final) gives the same None, so
the answer never tells which half was wrong. The view adds the rate limit and no-store.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..candidates.models import Candidate
from ..catalog.models import Certificate, CertificateLevel
from ..core import idcard
from ..exams.models import Subject
from ..extensions import db
from ..registrations.models import Registration
from ..scheduling.models import AdmissionTicket
from .models import Result, Score, ScorePublication
from .states import PublicationStage

#: longer input is no ID or ticket number of this system; refused before any work on it
MAX_INPUT = 64


@dataclass(frozen=True)
class SubjectLine:
    name: str
    #: the score as shown ("85.5"), or 缺考 / 违纪
    shown: str
    passed: bool


@dataclass(frozen=True)
class LookupAnswer:
    """What a lookup shows, and nothing else: the ID number only masked."""

    name: str
    masked_id: str
    certificate: str
    level: str
    subjects: list[SubjectLine]
    passed: bool


def shown_score(score: Score) -> str:
    """A score as the candidate and the public see it."""
    if score.absent:
        return "缺考"
    if score.violation:
        return "违纪"
    if score.score is None:
        return "未录入"
    return f"{score.score:.1f}".rstrip("0").rstrip(".")


def subject_passed(score: Score, subject: Subject) -> bool:
    return (not score.absent and not score.violation and score.score is not None
            and score.score >= subject.pass_mark)


def lookup_score(id_number: str | None, ticket_number: str | None) -> LookupAnswer | None:
    """The final result of the registration holding both numbers; None for any mismatch."""
    if not id_number or not ticket_number or len(id_number) > MAX_INPUT or len(ticket_number) > MAX_INPUT:
        return None
    number, ticket = idcard.normalise(id_number), idcard.normalise(ticket_number)
    if not number or not ticket:
        return None
    # Two queries: the columns the answer shows in one (a public page anyone may load at the
    # rush; no ORM objects), then the subjects' scores.
    row = db.session.execute(
        select(Registration.id, Registration.id_number, Result.passed, Candidate.name, Certificate.name,
               CertificateLevel.level)
        .join(AdmissionTicket, AdmissionTicket.registration_id == Registration.id)
        .join(Result, Result.registration_id == Registration.id)
        .join(ScorePublication, ScorePublication.plan_id == Registration.plan_id)
        .join(Candidate, Candidate.id == Registration.candidate_id)
        .join(CertificateLevel, CertificateLevel.id == Registration.certificate_level_id)
        .join(Certificate, Certificate.id == CertificateLevel.certificate_id)
        .where(AdmissionTicket.ticket_number == ticket, Registration.id_number == number,
               ScorePublication.stage == PublicationStage.FINAL, Result.passed.is_not(None))
    ).first()
    if row is None:
        return None
    registration_id, registration_number, passed, name, certificate, level = row
    scores = db.session.execute(
        select(Score, Subject).join(Subject, Subject.id == Score.subject_id)
        .where(Score.registration_id == registration_id).order_by(Subject.name, Subject.id)).all()
    return LookupAnswer(
        name=name, masked_id=idcard.mask(registration_number),
        certificate=certificate, level=level.value,
        subjects=[SubjectLine(subject.name, shown_score(score), subject_passed(score, subject))
                  for score, subject in scores],
        passed=bool(passed))
