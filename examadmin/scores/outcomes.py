"""What the registration pages show after the exam, answered from the results (registrations/outcomes.py).

A registration reads 合格 / 不合格 / 缺考 / 违纪 once its plan's results are final, 成绩公示中
while they are on display, and nothing of the result before (only the org sees scores then).
Displaying needs every score entered or marked (services.open_display), and 签到缺考 is stored
as a 缺考 score then, so the scores alone decide the word: a 违纪 mark in any subject reads
违纪; a failed result with no subject actually sat (every subject 缺考) reads 缺考; any other
failed result reads 不合格.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, select

from ..exams.models import ExamPlan, plan_short_name
from ..extensions import db
from ..registrations import outcomes as registration_outcomes
from ..registrations.models import Registration
from ..registrations.outcomes import ABSENT, FAILED, ON_DISPLAY, PASSED, VIOLATION, Outcome, PassedIn
from .models import Result, Score, ScorePublication
from .results import final_plan_ids
from .states import PublicationStage


def violated(registration_id) -> Any:
    """SQL: a subject of the registration is marked 违纪 (the result reads 违纪)."""
    return exists().where(Score.registration_id == registration_id, Score.violation.is_(True))


def sat_any(registration_id) -> Any:
    """SQL: a subject of the registration was sat and scored; a failed result without one reads 缺考."""
    return exists().where(Score.registration_id == registration_id, Score.score.is_not(None),
                          Score.absent.is_(False), Score.violation.is_(False))


def outcomes(registration_ids: list[int]) -> dict[int, Outcome]:
    """The outcome of each of these registrations whose plan's scores are on display or final (one query)."""
    violation, sat = violated(Registration.id), sat_any(Registration.id)
    rows = db.session.execute(
        select(Registration.id, ScorePublication.stage, Result.passed, violation, sat).select_from(Registration)
        .join(ScorePublication, ScorePublication.plan_id == Registration.plan_id)
        .outerjoin(Result, Result.registration_id == Registration.id)
        .where(Registration.id.in_(registration_ids),
               ScorePublication.stage.in_([PublicationStage.DISPLAY, PublicationStage.FINAL])))
    found: dict[int, Outcome] = {}
    for reg_id, stage, passed, broke, sat_some in rows:
        if stage == PublicationStage.DISPLAY:
            found[reg_id] = Outcome(ON_DISPLAY, final=False)
        elif passed is True:
            found[reg_id] = Outcome(PASSED, final=True)
        elif passed is False:
            found[reg_id] = Outcome(VIOLATION if broke else FAILED if sat_some else ABSENT, final=True)
        # final without a result (nothing was examined for it): the state says enough
    return found


def _passed_result():
    """The join of a registration and a passed, final result of the same person and level in another plan."""
    return and_(Result.id_type == Registration.id_type, Result.id_number == Registration.id_number,
                Result.certificate_level_id == Registration.certificate_level_id, Result.passed.is_(True),
                Result.plan_id != Registration.plan_id, Result.plan_id.in_(final_plan_ids()))


def passed_elsewhere_clause():
    """SQL over Registration: its plan's results are not final, and its person passed its level in
    another plan whose results are (the person-and-level index of results answers the EXISTS)."""
    return and_(Registration.plan_id.not_in(final_plan_ids()), exists().where(_passed_result()))


def passed_elsewhere(registration_ids: list[int], where: Any) -> dict[int, list[PassedIn]]:
    """For these registrations (and `where`), the plans in which each one's person passed its level (one query)."""
    rows = db.session.execute(
        select(Registration.id, ExamPlan.id, ExamPlan.name).select_from(Registration)
        .join(Result, _passed_result()).join(ExamPlan, ExamPlan.id == Result.plan_id)
        .where(Registration.id.in_(registration_ids), Registration.plan_id.not_in(final_plan_ids()), where)
        .order_by(Registration.id, ExamPlan.id))
    found: dict[int, list[PassedIn]] = {}
    for reg_id, plan_id, name in rows:
        plans = found.setdefault(reg_id, [])
        if all(p.plan_id != plan_id for p in plans):
            plans.append(PassedIn(plan_id, name, plan_short_name(name)))
    return found


# The registration pages ask the results through their hooks (an earlier area never imports a later one).
registration_outcomes.OUTCOME_SOURCES.append(outcomes)
registration_outcomes.PASSED_ELSEWHERE_CLAUSES.append(passed_elsewhere_clause)
registration_outcomes.PASSED_ELSEWHERE_SOURCES.append(passed_elsewhere)
