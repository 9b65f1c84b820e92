"""To-dos of registration and payment: payments to confirm for the org; for a school, rejected
payment orders and registrations still unpaid before their plan's deadline; for both, registrations
stranded at a disabled site and registrations of a level their person already passed."""
from __future__ import annotations

from typing import Any, Iterable

from flask import url_for
from sqlalchemy import select

from ..core import clock, permissions
from ..core.counts import is_wide_scope, wide_scope_cached
from ..core.todo import Todo, count_in_scope, source
from ..exams.models import ExamPlan
from . import lapse, outcomes, stranded
from .models import PaymentOrder, Registration
from .states import PaymentState, RegistrationState


def _still_payable():
    """SQL: an order that still holds a registration it can pay for. One whose registrations all
    lapsed (written, or overdue and not yet written) asks nothing of anyone: confirming it is
    refused, and a new voucher would be too."""
    live = select(Registration.payment_order_id).where(Registration.state == RegistrationState.UNPAID,
                                                       ~lapse.overdue_clause())
    return PaymentOrder.id.in_(live)


@source("payments.to_confirm")
def payments_to_confirm(user: Any) -> Iterable[Todo]:
    if not permissions.can(user, "payments.review"):
        return []
    state = PaymentState.SUBMITTED
    count = count_in_scope(user, PaymentOrder, PaymentOrder.state == state, _still_payable())
    return [Todo("待确认的缴费订单", count, url_for("registrations.payments", state=state.value),
                 "核对缴费凭证后确认到账或驳回；缴费截止前未确认的报考将视为自动放弃")]


@source("payments.rejected")
def payments_rejected(user: Any) -> Iterable[Todo]:
    if not permissions.can(user, "payments.manage"):
        return []
    state = PaymentState.REJECTED
    count = count_in_scope(user, PaymentOrder, PaymentOrder.state == state, _still_payable())
    return [Todo("被驳回的缴费订单", count, url_for("registrations.payments", state=state.value),
                 "按驳回原因重新上传凭证，或撤销订单")]


@source("registrations.unpaid")
def unpaid_registrations(user: Any) -> Iterable[Todo]:
    if not permissions.can(user, "payments.manage"):
        return []
    still_open = select(ExamPlan.id).where(ExamPlan.payment_deadline >= clock.now())
    state = RegistrationState.UNPAID
    # one already in a live order (voucher uploaded, or rejected and to be re-uploaded) has its own to-do
    count = count_in_scope(user, Registration, Registration.state == state, Registration.plan_id.in_(still_open),
                           Registration.payment_order_id.is_(None))
    # the list the link opens shows what the count counts: every plan, unpaid, in no order yet
    return [Todo("待缴费的报考", count, url_for("registrations.index", plan_id="", state=state.value, no_order="1"),
                 "在缴费截止前创建缴费订单并上传凭证，逾期未缴费视为自动放弃报名")]


@source("registrations.site_disabled")
def site_disabled_registrations(user: Any) -> Iterable[Todo]:
    # The school whose candidates wait, and the org (across schools), who can enable the site again.
    if permissions.can(user, "registrations.manage"):
        hint = "考核站点已被停用，这些报考无法排考：请联系评价组织重新启用站点，或取消不再参加的报考"
    elif permissions.can(user, "sites.review") and permissions.can(user, "registrations.view"):
        hint = "这些报考所在的考核站点已停用，无法排考：重新启用站点，或与院校商定取消报考"
    else:
        return []
    count = count_in_scope(user, Registration, stranded.stranded_clause())
    return [Todo("站点已停用的报考", count, url_for("registrations.index", plan_id="", site_disabled="1"), hint)]


@source("registrations.already_passed")
def already_passed_registrations(user: Any) -> Iterable[Todo]:
    # The school cancels its own before scheduling; after scheduling only the org can (with a reason).
    if permissions.can(user, "registrations.manage"):
        hint = ("这些考生已在另一考试计划通过该等级（成绩已发布），不能再获得该等级的证书：请取消本次报考"
                "（未排考的取消后指标退回；已排考的请联系评价组织取消）；报考费的退还在系统外办理")
    elif permissions.can(user, "registrations.cancel_scheduled"):
        hint = ("这些考生已在另一考试计划通过该等级（成绩已发布），仍在其他计划报考：请院校取消未排考的报考，"
                "已排考的由评价组织取消（须填写原因）；报考费的退还在系统外办理")
    else:
        return []
    if is_wide_scope(user):
        # Across every school the count hashes every passed final result (45 ms at 100,000
        # registrations, bench/seed_scale.py): the org's dashboard takes the count of the last minute.
        count = wide_scope_cached(user, ("registrations-already-passed",), lambda: int(
            count_in_scope(user, Registration, outcomes.already_passed_clause())))
    else:
        count = count_in_scope(user, Registration, outcomes.already_passed_clause())
    return [Todo("已通过该等级、仍在其他计划报考", count, url_for("registrations.index", plan_id="", passed_level="1"), hint)]
