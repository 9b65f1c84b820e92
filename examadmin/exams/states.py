"""State machines of the exam-plan area."""
from __future__ import annotations

from enum import StrEnum

from ..core.workflow import Workflow


class PlanState(StrEnum):
    DRAFT = "草稿"
    PUBLISHED = "已发布"


S = PlanState
EXAM_PLAN = Workflow(
    "exam_plan",
    S,
    moves=[
        # (from,        action,      to,            who may)
        (S.DRAFT,       "publish",   S.PUBLISHED,   "sysadmin|org",
         lambda plan: bool(plan.sessions), "至少有一个考试场次"),
        (S.PUBLISHED,   "withdraw",  S.DRAFT,       "sysadmin|org",
         lambda plan: not plan.has_rooms, "尚无院校设置考场"),
    ],
    action_labels={"publish": "发布", "withdraw": "撤回发布"},
)
