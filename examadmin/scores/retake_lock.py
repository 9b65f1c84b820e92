"""A final failed result that a registration elsewhere rests on cannot be corrected to a pass.

Registration decides 补考 (basis 成绩记录: no quota place) from the final failed results
(results.retakers) once, when the school registers. A later correction of the failed subject
to a pass would leave that registration a retake although a new one would be refused as
已通过. Like the certificate lock (services.LOCKED_SOURCES) the correction is refused until
the school has cancelled that registration. Only a final plan's results make retakers, so the
earlier stages are free; a change that leaves the subject below its pass mark, and a change
away from a pass, change nothing for the registration.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from ..candidates.models import Candidate
from ..catalog.models import CertificateLevel, Level
from ..exams.models import ExamPlan, Subject
from ..extensions import db
from ..registrations.models import Registration, RetakeBasis
from ..registrations.states import LIVE, RegistrationState
from .models import ScorePublication
from .results import CHUNK
from .states import PublicationStage


def refusals(plan_id: int, wanted: list[tuple[int, int, int, dict]], existing: dict) -> dict[int, str]:
    """Of the wanted changes (position, registration id, subject id, {score, absent, violation}), those
    that would bring a subject of a final result from failing (below the pass mark, 缺考, 违纪) to its
    pass mark while the person holds a live 补考 registration (basis 成绩记录) of the level in another
    plan: position -> the message. `existing` maps (registration id, subject id) to the stored score."""
    if not wanted:
        return {}
    stage = db.session.scalar(select(ScorePublication.stage).where(ScorePublication.plan_id == plan_id))
    if stage != PublicationStage.FINAL:
        return {}
    pass_marks = dict(db.session.execute(select(Subject.id, Subject.pass_mark).where(
        Subject.id.in_({subject_id for _, _, subject_id, _ in wanted}))).all())

    def reaches(entry: dict | None, subject_id: int) -> bool:
        return (entry is not None and not entry["absent"] and not entry["violation"]
                and entry["score"] is not None and Decimal(entry["score"]) >= pass_marks[subject_id])

    turning = [(i, reg_id) for i, reg_id, subject_id, after in wanted
               if reaches(after, subject_id) and not reaches(existing.get((reg_id, subject_id)), subject_id)]
    if not turning:
        return {}
    people = {reg_id: (id_type, number, level_id, name) for reg_id, id_type, number, level_id, name
              in db.session.execute(
                  select(Registration.id, Registration.id_type, Registration.id_number,
                         Registration.certificate_level_id, Candidate.name)
                  .join(Candidate, Candidate.id == Registration.candidate_id)
                  .where(Registration.id.in_({reg_id for _, reg_id in turning})))}
    numbers = sorted({number for _, number, _, _ in people.values()})
    held: dict[tuple, list[tuple[str, bool]]] = {}
    for start in range(0, len(numbers), CHUNK):
        chunk = numbers[start:start + CHUNK]
        # Through the candidates' ID numbers (indexed) to their registrations: the person's
        # registrations at other schools are other candidate rows with the same number.
        rows = db.session.execute(
            select(Registration.id_type, Registration.id_number, Registration.certificate_level_id,
                   ExamPlan.name, CertificateLevel.level, Registration.state)
            .join(Candidate, Candidate.id == Registration.candidate_id)
            .join(ExamPlan, ExamPlan.id == Registration.plan_id)
            .join(CertificateLevel, CertificateLevel.id == Registration.certificate_level_id)
            .where(Candidate.id_number.in_(chunk), Registration.id_number.in_(chunk),
                   Registration.plan_id != plan_id, Registration.state.in_(LIVE),
                   Registration.is_retake.is_(True), Registration.retake_basis == RetakeBasis.RESULT)
            .order_by(Registration.id))
        for id_type, number, level_id, plan_name, level, state in rows:
            held.setdefault((id_type, number, level_id), []).append(
                (f"「{plan_name}」{Level(level).value}", state == RegistrationState.SCHEDULED))
    out: dict[int, str] = {}
    for i, reg_id in turning:
        id_type, number, level_id, name = people[reg_id]
        registrations = held.get((id_type, number, level_id))
        if registrations:
            # after scheduling only the org may cancel (registrations.cancel_registration)
            who = "评价组织" if any(scheduled for _, scheduled in registrations) else "院校"
            out[i] = (f"{name}已凭本次成绩以补考报考{'、'.join(label for label, _ in registrations)}："
                      f"更正后该科目将及格，请先由{who}取消该报考再更正成绩")
    return out
