"""State machines of the exam-site area."""
from __future__ import annotations

from enum import StrEnum

from ..core.workflow import Workflow


class SiteState(StrEnum):
    PENDING = "待审核"
    APPROVED = "已通过"
    REJECTED = "已驳回"
    DISABLED = "已停用"


S = SiteState
EXAM_SITE = Workflow(
    "exam_site",
    S,
    moves=[
        # (from,        action,      to,          who may)
        (S.PENDING,     "approve",   S.APPROVED,  "sysadmin|org"),
        (S.PENDING,     "reject",    S.REJECTED,  "sysadmin|org"),    # with a reason
        (S.REJECTED,    "resubmit",  S.PENDING,   "school"),          # the same record, edited
        (S.APPROVED,    "disable",   S.DISABLED,  "sysadmin|org"),
        (S.DISABLED,    "enable",    S.APPROVED,  "sysadmin|org"),
    ],
    action_labels={"approve": "审核通过", "reject": "驳回", "resubmit": "重新提交",
                   "disable": "停用", "enable": "启用"},
)
