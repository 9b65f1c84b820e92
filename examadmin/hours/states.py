"""The review of a recorded hours entry (学时记录), DOMAIN.md §12."""
from __future__ import annotations

from enum import StrEnum

from ..core.workflow import Workflow


class HoursState(StrEnum):
    PENDING = "待审核"
    VERIFIED = "已核验"
    RETURNED = "已退回"


H = HoursState
HOURS = Workflow(
    "hours_record",
    H,
    moves=[
        # (from,        action,     to,          who may)
        (H.PENDING,    "verify",   H.VERIFIED,  "school|org"),  # the holder's school (its graduates) or the org
        (H.PENDING,    "return",   H.RETURNED,  "school|org"),  # with a reason the holder sees
        (H.RETURNED,   "resubmit", H.PENDING,   "candidate"),   # corrected by the holder
    ],
    action_labels={"verify": "核验", "return": "退回", "resubmit": "修改后重新提交"},
)
