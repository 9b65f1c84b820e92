"""State machines of registrations (报考) and payment orders (缴费订单)."""
from __future__ import annotations

from enum import StrEnum

from ..core.workflow import Workflow


class RegistrationState(StrEnum):
    UNPAID = "待缴费"
    PAID = "已缴费"
    #: placed in a room and seat by seat scheduling (issue 10 moves it here)
    SCHEDULED = "已排考"
    CANCELLED = "已取消"
    #: 未在规定时间内缴费的视为自动放弃报名
    LAPSED = "已放弃（未缴费）"


#: states in which a registration holds its place and blocks a second one of the same person
LIVE = (RegistrationState.UNPAID, RegistrationState.PAID, RegistrationState.SCHEDULED)

R = RegistrationState
REGISTRATION = Workflow(
    "registration",
    R,
    moves=[
        # (from,                action,     to,           who may)
        (R.UNPAID,             "pay",      R.PAID,       "org|system"),   # its payment order was confirmed
        (R.UNPAID,             "lapse",    R.LAPSED,     "system"),       # unpaid at the payment deadline
        ((R.UNPAID, R.PAID),   "cancel",   R.CANCELLED,  "school|org"),   # before scheduling: place given back
        (R.SCHEDULED,          "cancel",   R.CANCELLED,  "org"),          # after scheduling: the org, with a reason
        (R.PAID,               "schedule", R.SCHEDULED,  "school|org|system"),
    ],
    action_labels={"pay": "确认缴费", "lapse": "逾期未缴费自动放弃", "cancel": "取消报考", "schedule": "排考"},
)


class PaymentState(StrEnum):
    #: created by the school, voucher not yet uploaded
    DRAFT = "待上传凭证"
    SUBMITTED = "待确认"
    CONFIRMED = "已确认"
    REJECTED = "已驳回"
    #: withdrawn by the school before confirmation; its registrations are free again
    WITHDRAWN = "已撤销"


P = PaymentState
PAYMENT = Workflow(
    "payment",
    P,
    moves=[
        ((P.DRAFT, P.REJECTED), "submit",   P.SUBMITTED, "school"),   # with a voucher
        (P.SUBMITTED,           "confirm",  P.CONFIRMED, "org|system"),  # system: an online provider's callback
        (P.SUBMITTED,           "reject",   P.REJECTED,  "org"),      # with a reason; the school may resubmit
        ((P.DRAFT, P.SUBMITTED, P.REJECTED), "withdraw", P.WITHDRAWN, "school"),
    ],
    action_labels={"submit": "提交凭证", "confirm": "确认到账", "reject": "驳回", "withdraw": "撤销订单"},
)
