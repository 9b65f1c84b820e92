"""State machines of candidates (考生认证) and corrections of locked data (信息更正)."""
from __future__ import annotations

from enum import StrEnum

from ..core.workflow import Workflow


class CandidateState(StrEnum):
    PENDING = "信息待认证"
    VERIFYING = "认证中"
    ACCURATE = "信息准确"
    NEEDS_REVIEW = "需人工确认"


S = CandidateState
CANDIDATE = Workflow(
    "candidate",
    S,
    moves=[
        # (from,                    action,     to,             who may)
        ((S.PENDING, S.NEEDS_REVIEW), "verify", S.VERIFYING,    "school"),
        (S.VERIFYING,               "pass",     S.ACCURATE,     "system"),
        (S.VERIFYING,               "fail",     S.NEEDS_REVIEW, "system"),
        # 人工确认: the school has looked at the reasons and vouches for the data.
        (S.NEEDS_REVIEW,            "confirm",  S.ACCURATE,     "school"),
        # Data changed after a failed check: the old reasons no longer apply.
        (S.NEEDS_REVIEW,            "reset",    S.PENDING,      "school"),
    ],
    action_labels={"verify": "申请认证", "pass": "认证通过", "fail": "认证未通过", "confirm": "人工确认",
                   "reset": "修改后待重新认证"},
)

#: at these states name and ID number are locked; changing them needs a correction request
LOCKED = (S.ACCURATE,)


class CorrectionState(StrEnum):
    PENDING = "待审核"
    APPROVED = "已通过"
    REJECTED = "已驳回"


C = CorrectionState
CORRECTION = Workflow(
    "correction",
    C,
    moves=[
        (C.PENDING, "approve", C.APPROVED, "org"),
        (C.PENDING, "reject",  C.REJECTED, "org"),
    ],
    action_labels={"approve": "通过", "reject": "驳回"},
)
