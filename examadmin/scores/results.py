"""Results (考证结果): computed from the scores, never typed.

A registration passes its level when every subject of its level that the plan examines
reaches the subject's pass mark; 缺考 (from the score or from check-in's absent seat) and
违纪 fail it. While some subject has neither a score nor a mark the result is open
(passed None). Recomputing is set-based: one read of every (registration, subject) pair
of the given registrations, then one bulk UPDATE, one INSERT and one DELETE.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import and_, delete, exists, insert, select, update

from ..core import clock
from ..exams.models import ExamSession, Subject
from ..extensions import db
from ..registrations import services as registration_services
from ..registrations.models import Registration
from ..registrations.states import RegistrationState
from ..scheduling.models import Seat
from .models import Result, Score, ScorePublication
from .states import PublicationStage

#: registrations per query (IN lists stay well below every driver's parameter limit)
CHUNK = 500


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def recompute(registration_ids: Iterable[int]) -> int:
    """Recompute the results of these registrations from their scores; returns how many were written."""
    ids = sorted({int(i) for i in registration_ids})
    written = 0
    for chunk in _chunks(ids):
        written += _recompute_chunk(chunk)
    return written


def _recompute_chunk(ids: list[int]) -> int:
    # Every subject of the registration's level that its plan examines, with its score and seat.
    rows = db.session.execute(
        select(Registration.id, Registration.plan_id, Registration.school_id, Registration.certificate_level_id,
               Registration.id_type, Registration.id_number, Subject.id, Subject.pass_mark,
               Score.score, Score.absent, Score.violation, Score.id, Seat.absent)
        .join(ExamSession, ExamSession.plan_id == Registration.plan_id)
        .join(Subject, and_(Subject.id == ExamSession.subject_id,
                            Subject.certificate_level_id == Registration.certificate_level_id))
        .outerjoin(Score, and_(Score.registration_id == Registration.id, Score.subject_id == Subject.id))
        .outerjoin(Seat, and_(Seat.registration_id == Registration.id, Seat.subject_id == Subject.id))
        .where(Registration.id.in_(ids), Registration.state == RegistrationState.SCHEDULED)
        .distinct()
        # in registration order: results (and the certificate records made from them) get their ids
        # in the order of the registrations on every database, not in a hash aggregate's order
        .order_by(Registration.id, Subject.id)
    ).all()
    people: dict[int, dict] = {}
    for (reg_id, plan_id, school_id, level_id, id_type, id_number, _subject_id, pass_mark,
         score, absent, violation, score_id, seat_absent) in rows:
        person = people.setdefault(reg_id, {
            "registration_id": reg_id, "plan_id": plan_id, "school_id": school_id,
            "certificate_level_id": level_id, "id_type": id_type, "id_number": id_number,
            "missing": False, "failed": False, "marked": False, "total": Decimal(0)})
        if score_id is None:
            # Not entered yet: an absence recorded at check-in already decides it.
            absent, violation = bool(seat_absent), False
        if absent or violation:
            person["failed"] = person["marked"] = True
        elif score is None:
            person["missing"] = True
        else:
            person["total"] += Decimal(score)
            if Decimal(score) < pass_mark:
                person["failed"] = True
    now = clock.now()
    values = []
    for person in people.values():
        missing, failed, marked = person.pop("missing"), person.pop("failed"), person.pop("marked")
        # A failure is known before the last subject is entered only when nothing is missing:
        # the result stays open until every subject has its score or mark.
        person["passed"] = None if missing else not failed
        person["total"] = None if (missing or marked) else person["total"]
        person["computed_at"] = now
        values.append(person)
    existing = dict(db.session.execute(
        select(Result.registration_id, Result.id).where(Result.registration_id.in_(ids))).all())
    updates = [{"id": existing[v["registration_id"]], **v} for v in values if v["registration_id"] in existing]
    inserts = [v for v in values if v["registration_id"] not in existing]
    if updates:
        db.session.execute(update(Result), updates)
    if inserts:
        db.session.execute(insert(Result.__table__), inserts)
    # A registration no longer scheduled (cancelled) has no result.
    gone = [reg_id for reg_id in existing if reg_id not in people]
    if gone:
        db.session.execute(delete(Result).where(Result.registration_id.in_(gone)))
    return len(values)


def final_plan_ids():
    """SQL: the plans whose results are final (成绩已发布): the only results registration, the
    public lookup and certificates act on."""
    return select(ScorePublication.plan_id).where(ScorePublication.stage == PublicationStage.FINAL)


def is_retaker(id_type, id_number: str, certificate_level_id: int) -> bool:
    """Whether this person failed this certificate level in a plan whose scores are final (第二次报考)."""
    final = final_plan_ids()
    return bool(db.session.scalar(select(exists().where(
        Result.id_type == id_type, Result.id_number == id_number,
        Result.certificate_level_id == certificate_level_id,
        Result.passed.is_(False), Result.plan_id.in_(final)))))


def _final_outcome(plan, certificate_level_id: int, persons: list[tuple], passed: bool) -> set[tuple]:
    """Of these (id_type, id_number) people, those with a final result of this level that passed
    (or failed), in another plan."""
    if not persons:
        return set()
    final = final_plan_ids()
    chunk = sorted({number for _, number in persons})
    found: set[tuple] = set()
    for start in range(0, len(chunk), 500):
        rows = db.session.execute(select(Result.id_type, Result.id_number).where(
            Result.id_number.in_(chunk[start:start + 500]), Result.certificate_level_id == certificate_level_id,
            Result.passed.is_(passed), Result.plan_id.in_(final), Result.plan_id != plan.id))
        found |= {(id_type, number) for id_type, number in rows}
    return found & set(persons)


def retakers(plan, certificate_level_id: int, persons: list[tuple]) -> set[tuple]:
    """Those who failed this level in a final plan: registration marks them 补考 (成绩记录) and
    takes no quota place for them."""
    return _final_outcome(plan, certificate_level_id, persons, False) - passers(plan, certificate_level_id, persons)


def passers(plan, certificate_level_id: int, persons: list[tuple]) -> set[tuple]:
    """Those who passed this level in a final plan: registration refuses them."""
    return _final_outcome(plan, certificate_level_id, persons, True)


# The registration step asks the results who is a retaker and who passed already (an earlier
# area never imports a later one).
registration_services.RETAKE_SOURCES.append(retakers)
registration_services.PASSED_SOURCES.append(passers)
