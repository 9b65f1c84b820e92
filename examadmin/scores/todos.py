"""The scores area's to-do sources, per plan: objections waiting for the org's answer, seats
still without a score once the exam is over, and plans whose display period is over.

A plan cannot be published final while one objection is open (services.publish_final), so the
org sees each plan's count with a link to that plan's list of open objections. A plan cannot
go on display while a seat has neither a score nor a mark (services.open_display): once every
session has ended, the org sees how many are missing. And once the display period is over with
no objection open, the plan waits only for 发布成绩.

Each source is one grouped statement over the plans concerned, at most MAX_PLANS of them."""
from __future__ import annotations

from typing import Any, Iterable

from flask import url_for
from sqlalchemy import func, select

from ..core import clock, permissions
from ..core.todo import Todo, source
from ..exams.models import ExamPlan, ExamSession
from ..extensions import db
from ..scheduling.models import Seat
from . import services
from .models import Result, Score, ScoreObjection, ScorePublication
from .states import ObjectionState, PublicationStage

#: plans listed at most (those with the most open objections first)
MAX_PLANS = 5


@source("scores.objections_open", order=50)
def open_objections(user: Any) -> Iterable[Todo]:
    if not permissions.can(user, "scores.answer"):
        return []
    state = ObjectionState.OPEN
    rows = db.session.execute(
        select(ScoreObjection.plan_id, ExamPlan.name, func.count(ScoreObjection.id))
        .join(ExamPlan, ExamPlan.id == ScoreObjection.plan_id)
        .where(permissions.scope_clause(user, ScoreObjection), ScoreObjection.state == state)
        .group_by(ScoreObjection.plan_id, ExamPlan.name)
        .order_by(func.count(ScoreObjection.id).desc(), ScoreObjection.plan_id)
        .limit(MAX_PLANS)).all()
    return [Todo(f"待答复的成绩异议（{name}）", count,
                 url_for("scores.objections", plan_id=plan_id, state=state.value),
                 "复核后答复异议，可同时更正成绩；全部答复后才能发布成绩")
            for plan_id, name, count in rows]


def _plans_to_enter():
    """Plans still 成绩登记中 that have sessions and none of them unended: the exam is over."""
    now = clock.now()
    past_entering = select(ScorePublication.id).where(ScorePublication.plan_id == ExamPlan.id,
                                                      ScorePublication.stage != PublicationStage.ENTERING)
    has_session = select(ExamSession.id).where(ExamSession.plan_id == ExamPlan.id)
    unended = has_session.where(services.unended_clause(now))
    return select(ExamPlan.id).where(~past_entering.exists(), has_session.exists(), ~unended.exists())


@source("scores.to_enter", order=48)
def scores_to_enter(user: Any) -> Iterable[Todo]:
    """Seats without a score or mark (and not 缺考 at check-in: 开始公示 enters those) of plans
    whose every session has ended and which are not yet on display."""
    if not permissions.can(user, "scores.enter"):
        return []
    missing = func.count(Seat.id)
    rows = db.session.execute(
        select(Seat.plan_id, ExamPlan.name, missing)
        .join(ExamPlan, ExamPlan.id == Seat.plan_id)
        .outerjoin(Score, services.entered_score_join())
        .where(Seat.plan_id.in_(_plans_to_enter()), permissions.scope_clause(user, Seat),
               Score.id.is_(None), Seat.absent.is_(False))
        .group_by(Seat.plan_id, ExamPlan.name)
        .order_by(missing.desc(), Seat.plan_id)
        .limit(MAX_PLANS)).all()
    return [Todo(f"待录入成绩（{name}）", count, url_for("scores.index", plan_id=plan_id),
                 "考试已全部结束：请录入或导入这些科目成绩（缺考、违纪也须标记），全部登记后才能开始公示")
            for plan_id, name, count in rows]


@source("scores.to_publish", order=49)
def scores_to_publish(user: Any) -> Iterable[Todo]:
    """Plans on display whose period is over and with no objection open: 发布成绩 would succeed.
    The count is the plan's candidates (results)."""
    if not permissions.can(user, "scores.publish"):
        return []
    open_objection = select(ScoreObjection.id).where(ScoreObjection.plan_id == ScorePublication.plan_id,
                                                     ScoreObjection.state == ObjectionState.OPEN)
    people = func.count(Result.id)
    rows = db.session.execute(
        select(ScorePublication.plan_id, ExamPlan.name, people)
        .join(ExamPlan, ExamPlan.id == ScorePublication.plan_id)
        .join(Result, Result.plan_id == ScorePublication.plan_id)
        .where(ScorePublication.stage == PublicationStage.DISPLAY,
               ScorePublication.display_ends_at.is_(None) | (ScorePublication.display_ends_at <= clock.now()),
               ~open_objection.exists(), permissions.scope_clause(user, ExamPlan))
        .group_by(ScorePublication.plan_id, ExamPlan.name)
        .order_by(ScorePublication.plan_id)
        .limit(MAX_PLANS)).all()
    return [Todo(f"可发布成绩（{name}）", count, url_for("scores.index", plan_id=plan_id),
                 "公示期已结束，异议已全部答复：请发布成绩（数字为考生人数），发布后才能生成证书记录")
            for plan_id, name, count in rows]
