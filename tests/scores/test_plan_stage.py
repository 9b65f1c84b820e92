"""The exam plan pages show the plan's score publication stage (exams reads it through scores'
template global, never by importing scores)."""
from __future__ import annotations

from datetime import datetime

import pytest

from examadmin.core import clock
from examadmin.extensions import db
from examadmin.scores.models import ScorePublication
from examadmin.scores.states import PublicationStage
from tests.conftest import login_as
from tests.exams.factories import make_plan, make_subject
from tests.sites.factories import make_user


@pytest.mark.parametrize("stage,shown", [
    (None, "考试已结束"),
    (PublicationStage.ENTERING, "成绩登记中"),
    (PublicationStage.DISPLAY, "成绩公示中"),
    (PublicationStage.FINAL, "成绩已发布"),
])
def test_the_plan_list_and_page_show_the_stage_after_the_exam(client, monkeypatch, stage, shown):
    plan = make_plan([(make_subject(), "09:00", "11:00")])
    if stage is not None:
        db.session.add(ScorePublication(plan_id=plan.id, stage=stage))
        db.session.flush()
    monkeypatch.setattr(clock, "now", lambda: datetime(2030, 7, 1))
    login_as(client, make_user("school"))
    listing = client.get("/exams/plans").get_data(as_text=True)
    assert f'data-testid="plan-stage">{shown}<' in listing
    assert 'data-testid="plan-stage">已发布<' not in listing
    page = client.get(f"/exams/plans/{plan.id}").get_data(as_text=True)
    assert f'data-testid="plan-stage">{shown}<' in page


def test_before_the_exam_the_clock_decides_even_with_scores_started(client, monkeypatch):
    plan = make_plan([(make_subject(), "09:00", "11:00")])
    db.session.add(ScorePublication(plan_id=plan.id, stage=PublicationStage.ENTERING))
    db.session.flush()
    monkeypatch.setattr(clock, "now", lambda: datetime(2030, 5, 10))
    login_as(client, make_user("org"))
    assert 'data-testid="plan-stage">报考中<' in client.get("/exams/plans").get_data(as_text=True)
