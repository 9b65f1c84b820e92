"""State machines of score publication (成绩发布) and score objections (成绩异议)."""
from __future__ import annotations

from enum import StrEnum

from ..core.workflow import Workflow


class PublicationStage(StrEnum):
    #: only the org sees scores
    ENTERING = "成绩登记中"
    #: schools and candidates see scores and may object, for the display period
    DISPLAY = "成绩公示中"
    #: final: the public lookup and certificates use only these results
    FINAL = "成绩已发布"


P = PublicationStage
PUBLICATION = Workflow(
    "score_publication",
    P,
    moves=[
        # (from,      action,     to,        who may)
        (P.ENTERING, "display",  P.DISPLAY, "org"),
        (P.DISPLAY,  "publish",  P.FINAL,   "org"),   # guard in the service: every objection answered
    ],
    field="stage",
    action_labels={"display": "开始公示", "publish": "发布成绩"},
)


class ObjectionState(StrEnum):
    OPEN = "待答复"
    ANSWERED = "已答复"


O = ObjectionState
OBJECTION = Workflow(
    "score_objection",
    O,
    moves=[
        (O.OPEN, "answer", O.ANSWERED, "org"),   # with a reason; the score may change with it
    ],
    action_labels={"answer": "答复"},
)
