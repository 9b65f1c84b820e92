"""Demo scores: the scheduled demo plan gets a score for every seat, and its results are published.

Called by the main demo after the scheduling demo, so that the public lookup and the
statistics show something on a fresh install. Scores go in through the same service as the
grid; the display period is then back-dated (as though it had run its five days without an
objection) so that the results can be published final at once. Idempotent: a plan whose
scores have left 成绩登记中 is left as it is.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ..core import clock
from ..core.auth import User
from ..exams.models import ExamPlan
from ..extensions import db
from ..scheduling.demo import PAST_PLAN_SUFFIX
from . import services
from .states import PublicationStage

#: the demo candidates' scores (candidate name -> score, or "缺考"); the rest get DEFAULT
SCORES = {"陈同学": "86.5", "刘明": "52", "黄晓雯": "缺考", "周杰": "74", "吴桐": "91", "郑海": "60"}
DEFAULT = "68"
DISPLAY_DAYS = 5


def load_demo() -> dict[str, int]:
    org = db.session.scalar(select(User).where(User.username == "org"))
    plan = db.session.scalar(select(ExamPlan).where(ExamPlan.name.like(f"%{PAST_PLAN_SUFFIX}")))
    if org is None or plan is None:
        return {}
    pub = services.publication(plan.id)
    if pub.stage != PublicationStage.ENTERING:
        return {"scores": 0}
    saved = 0
    _, _, rooms = services.entry_choices(org, plan.id)
    for room in rooms:
        _, _, grid = services.entry_grid(org, plan.id, room.id)
        entries = {}
        for row in grid:
            value = SCORES.get(row.name, DEFAULT)
            entries[row.seat_id] = {"score": "", "absent": True} if value == "缺考" else {"score": value}
        report, _ = services.save_grid(org, plan.id, room.id, entries)
        saved += report.saved
    if services.missing_count(plan.id):
        return {"scores": saved}
    services.open_display(org, plan.id, DISPLAY_DAYS)
    now = clock.now()
    pub.display_started_at = now - timedelta(days=DISPLAY_DAYS + 1)
    pub.display_ends_at = now - timedelta(days=1)
    services.publish_final(org, plan.id)
    db.session.flush()
    return {"scores": saved}
