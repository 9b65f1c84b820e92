"""The scores area's to-do source: objections waiting for the org's answer, per plan.

A plan cannot be published final while one is open (services.publish_final), so the org
sees each plan's count with a link to that plan's list of open objections."""
from __future__ import annotations

from typing import Any, Iterable

from flask import url_for
from sqlalchemy import func, select

from ..core import permissions
from ..core.todo import Todo, source
from ..exams.models import ExamPlan
from ..extensions import db
from .models import ScoreObjection
from .states import ObjectionState

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
