"""The demo: the scheduled plan's results are published, so the lookup and statistics show something."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from examadmin.candidates.models import Candidate
from examadmin.exams.models import ExamPlan
from examadmin.extensions import db
from examadmin.registrations.models import Registration
from examadmin.scores import results
from examadmin.scores.models import Result, ScorePublication
from examadmin.scores.states import PublicationStage


def test_the_demo_publishes_the_past_plans_results_and_is_idempotent(cli):
    assert cli.invoke(args=["demo"]).exit_code == 0
    plan = db.session.scalar(select(ExamPlan).where(ExamPlan.name.like("%第2次全国统一考试（社会心理服务）")))
    pub = db.session.scalar(select(ScorePublication).where(ScorePublication.plan_id == plan.id))
    assert pub.stage == PublicationStage.FINAL and pub.display_ends_at < pub.published_at
    outcome = dict(db.session.execute(select(Candidate.name, Result.passed)
                                      .join(Registration, Registration.id == Result.registration_id)
                                      .join(Candidate, Candidate.id == Registration.candidate_id)
                                      .where(Result.plan_id == plan.id)).all())
    assert outcome["陈同学"] is True and outcome["刘明"] is False and outcome["黄晓雯"] is False
    chen = db.session.scalar(select(Candidate).where(Candidate.name == "陈同学"))
    assert chen.id_number == "500106200403150141"  # named in README
    total = db.session.scalar(select(Result.total).join(Registration, Registration.id == Result.registration_id)
                              .where(Registration.candidate_id == chen.id))
    assert total == Decimal("86.5")
    failed = db.session.scalar(select(Registration).join(Candidate).where(Candidate.name == "刘明",
                                                                          Registration.plan_id == plan.id))
    assert results.is_retaker(failed.id_type, failed.id_number, failed.certificate_level_id)
    assert cli.invoke(args=["demo"]).exit_code == 0
