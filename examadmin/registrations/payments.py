"""Payment orders (缴费管理, DOMAIN.md §6): the school pays, the org confirms.

Fees per level come from the plan and are copied onto each registration. The school
creates orders: one per school for a chosen set of its students' registrations
(学校统一缴费), and one per social candidate (社会考生个人缴费). An order's amount is the
sum of its registrations' fees, fixed at creation. The school uploads a voucher (PDF or
image, judged by its first bytes) and the org confirms the order (its registrations become
已缴费) or rejects it with a reason, after which the school may upload a new voucher.
Only registrations of a confirmed order are paid; only paid registrations can be scheduled.

A registration belongs to at most one live order: it is claimed with one conditional
UPDATE, so that two coordinators putting the same registration into two orders at once
cannot both succeed. Registrations still unpaid at the payment deadline lapse (lapse.py),
even when their order waits for confirmation: the org must confirm before the deadline,
and confirming an order whose registrations lapsed is refused with the reason.
"""
from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import PurePath
from typing import Any, Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from ..candidates.models import Candidate, CandidateKind
from ..core import audit, clock, permissions
from ..core.errors import DomainError
from ..core.locks import lock_row
from ..core.storage import get_storage, upload_name
from ..exams.models import ExamPlan
from ..exams.states import PlanState
from ..extensions import db
from . import lapse, providers
from .models import PaymentKind, PaymentOrder, Registration
from .states import PAYMENT, REGISTRATION, PaymentState, RegistrationState

#: the most registrations one order may hold (a form or file cannot send more)
MAX_ORDER_REGISTRATIONS = 5000
MAX_REASON = 500
MAX_TRANSACTION_REF = 100
#: how many refused registrations a message names before it says "等 N 条"
NAMED_IN_MESSAGE = 5

audit.ACTION_LABELS.update({
    "payment.create": "创建缴费订单",
    "payment.submit": "提交付款凭证",
    "payment.confirm": "确认到账",
    "payment.reject": "驳回缴费订单",
    "payment.withdraw": "撤销缴费订单",
    "payment.release": "释放订单中的报考",
    "registration.pay": "确认缴费",
    "registration.lapse": "逾期未缴费自动放弃",
})
audit.ENTITY_LABELS.setdefault("payment_order", "缴费订单")
audit.ENTITY_LABELS.setdefault("registration", "报考")


def _named(registrations: Iterable[Registration], reason: str) -> str:
    """「张三」「李四」等 N 条 + reason: a refusal that names whom it concerns."""
    rows = list(registrations)
    names = "".join(f"「{r.candidate.name}（{r.certificate_level.label}）」" for r in rows[:NAMED_IN_MESSAGE])
    more = f"等 {len(rows)} 条报考" if len(rows) > NAMED_IN_MESSAGE else ""
    return f"{names}{more}{reason}"


def _deadline_text(plan: ExamPlan) -> str:
    return f"{plan.payment_deadline:%Y-%m-%d %H:%M}"


def _refuse_after_deadline(plan: ExamPlan, what: str) -> None:
    if clock.now() > plan.payment_deadline:
        raise DomainError(f"考试计划「{plan.name}」的缴费截止时间（{_deadline_text(plan)}）已过，不能再{what}；"
                          "未在规定时间内缴费的报考视为自动放弃")


def _get(actor: Any, model: type, record_id: Any):
    """permissions.get_for, with an id the database cannot hold answering 404 like any unknown id."""
    try:
        number = int(record_id)
    except (TypeError, ValueError):
        raise permissions.NotInScope() from None
    if not 0 < number < 2**31:
        raise permissions.NotInScope()
    return permissions.get_for(actor, model, number)


def _plan(actor: Any, plan_id: Any) -> ExamPlan:
    plan = _get(actor, ExamPlan, plan_id)
    if plan.state != PlanState.PUBLISHED:
        raise DomainError(f"考试计划「{plan.name}」未发布，不能缴费")
    return plan


def _ids(values: Iterable[Any]) -> list[int]:
    """Distinct registration ids in the order given, bounded before anything is looked up."""
    ids: dict[int, None] = {}
    for value in values:
        try:
            number = int(str(value)[:20])
        except (TypeError, ValueError):
            raise DomainError(f"报考记录编号「{str(value)[:20]}」无效") from None
        if not 0 < number < 2**31:
            raise DomainError(f"报考记录编号「{number}」无效")
        ids[number] = None
        if len(ids) > MAX_ORDER_REGISTRATIONS:
            raise DomainError(f"一个缴费订单最多包含 {MAX_ORDER_REGISTRATIONS} 条报考，请分批创建")
    return list(ids)


def _with_people(query):
    return query.options(joinedload(Registration.candidate), joinedload(Registration.certificate_level))


def _payable_problems(rows: list[Registration], plan: ExamPlan) -> list[str]:
    """Why some registrations cannot go into a new order (empty when all can)."""
    problems = []
    checks = [
        (lambda r: r.plan_id != plan.id, "不属于考试计划「{}」".format(plan.name)),
        (lambda r: r.state == RegistrationState.LAPSED, f"已因缴费截止时间（{_deadline_text(plan)}）前未缴费视为自动放弃"),
        (lambda r: r.state != RegistrationState.UNPAID and r.state != RegistrationState.LAPSED,
         "不是「待缴费」状态，无需缴费"),
        (lambda r: r.state == RegistrationState.UNPAID and r.payment_order_id is not None,
         "已在其他缴费订单中（撤销该订单后才能重新下单）"),
    ]
    for test, reason in checks:
        hit = [r for r in rows if test(r)]
        if hit:
            problems.append(_named(hit, reason))
    return problems


def _create(actor: Any, plan: ExamPlan, rows: list[Registration], kind: PaymentKind,
            candidate: Candidate | None = None) -> PaymentOrder:
    problems = _payable_problems(rows, plan)
    if problems:
        raise DomainError("；".join(problems))
    amount = sum((r.fee for r in rows), Decimal("0.00"))
    order = PaymentOrder(reference=f"T{uuid.uuid4().hex[:30]}", plan_id=plan.id, school_id=actor.school_id,
                         kind=kind, candidate_id=candidate.id if candidate else None, amount=amount,
                         provider=providers.default_provider_name(), created_by_id=getattr(actor, "id", None),
                         state=PaymentState.DRAFT)
    db.session.add(order)
    db.session.flush()
    order.reference = f"JF{clock.now():%Y%m%d}{order.id:06d}"
    ids = [r.id for r in rows]
    # The claim decides, not the check above: a registration another order took meanwhile
    # makes the count fall short, and the whole order is refused.
    claimed = db.session.execute(
        update(Registration)
        .where(Registration.id.in_(ids), Registration.payment_order_id.is_(None),
               Registration.state == RegistrationState.UNPAID)
        .values(payment_order_id=order.id)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != len(ids):
        raise DomainError("部分报考刚刚被加入其他缴费订单或状态已变化，请刷新页面后重新选择")
    for row in rows:
        db.session.expire(row, ["payment_order_id", "payment_order"])
    db.session.flush()
    audit.record(actor, "payment.create", order, after={
        "reference": order.reference, "kind": kind.value, "amount": str(amount), "registrations": len(ids),
        "registration_ids": ids})
    return order


def eligible_for_school_order(actor: Any, plan_id: int):
    """The school's students' registrations of a plan that a new school order can take."""
    permissions.require(actor, "payments.view")
    return (_with_people(permissions.scoped(actor, select(Registration)))
            .where(Registration.plan_id == plan_id, Registration.kind == CandidateKind.STUDENT,
                   Registration.state == RegistrationState.UNPAID, Registration.payment_order_id.is_(None),
                   ~lapse.overdue_clause())
            .order_by(Registration.certificate_level_id, Registration.site_id, Registration.id))


def create_school_order(actor: Any, plan_id: Any, registration_ids: Iterable[Any] = (), *,
                        all_eligible: bool = False) -> PaymentOrder:
    """One order of the school for a chosen set of its students' registrations (学校统一缴费)."""
    permissions.require(actor, "payments.manage")
    plan = _plan(actor, plan_id)
    lapse.lapse_overdue(plan_id=plan.id, school_id=actor.school_id)
    _refuse_after_deadline(plan, "创建缴费订单")
    if all_eligible:
        ids = [r.id for r in db.session.scalars(eligible_for_school_order(actor, plan.id))]
        ids = _ids(ids)
    else:
        ids = _ids(registration_ids)
    if not ids:
        raise DomainError("请选择要缴费的报考记录（本校考生、待缴费、尚未加入缴费订单）")
    rows = list(db.session.scalars(_with_people(permissions.scoped(actor, select(Registration)))
                                   .where(Registration.id.in_(ids)).order_by(Registration.id)))
    if len(rows) != len(ids):
        raise DomainError(f"有 {len(ids) - len(rows)} 条报考记录不存在或不属于本校")
    social = [r for r in rows if r.kind == CandidateKind.SOCIAL]
    if social:
        raise DomainError(_named(social, "是社会考生，自行缴费：请为其单独创建社会考生个人缴费订单"))
    return _create(actor, plan, rows, PaymentKind.SCHOOL)


def create_social_order(actor: Any, plan_id: Any, candidate_id: Any) -> PaymentOrder:
    """One order for one social candidate's unpaid registrations of a plan (社会考生个人缴费)."""
    permissions.require(actor, "payments.manage")
    plan = _plan(actor, plan_id)
    candidate = _get(actor, Candidate, candidate_id)
    lapse.lapse_overdue(plan_id=plan.id, school_id=actor.school_id)
    _refuse_after_deadline(plan, "创建缴费订单")
    rows = list(db.session.scalars(_with_people(permissions.scoped(actor, select(Registration)))
                                   .where(Registration.plan_id == plan.id, Registration.candidate_id == candidate.id)
                                   .order_by(Registration.id)))
    students = [r for r in rows if r.kind != CandidateKind.SOCIAL]
    if students:
        raise DomainError(_named(students, "是以本校考生身份报考的，请加入学校统一缴费订单"))
    open_rows = [r for r in rows if r.state == RegistrationState.UNPAID]
    if not open_rows:
        raise DomainError(f"社会考生「{candidate.name}」在考试计划「{plan.name}」中没有待缴费的报考")
    free = [r for r in open_rows if r.payment_order_id is None]
    if not free:
        raise DomainError(_named(open_rows, "已在缴费订单中，无需重复创建"))
    return _create(actor, plan, free, PaymentKind.SOCIAL, candidate)


def get_order(actor: Any, order_id: Any) -> PaymentOrder:
    """An order in the actor's scope (a school its own, the org every one); 404 otherwise."""
    permissions.require(actor, "payments.view")
    return _get(actor, PaymentOrder, order_id)


def _locked(actor: Any, order_id: Any, action: str) -> PaymentOrder:
    permissions.require(actor, action)
    order = _get(actor, PaymentOrder, order_id)
    lock_row(order)  # two clicks at once decide once
    return order


def _locked_registrations(order: PaymentOrder) -> list[Registration]:
    """The order's registrations, locked and read afresh: a lapse run at the same moment
    either waits for this transaction or has already lapsed them (and we refuse)."""
    query = (select(Registration).where(Registration.payment_order_id == order.id).order_by(Registration.id)
             # what each audit entry names, in the same query (not one load per row)
             .options(joinedload(Registration.candidate, innerjoin=True),
                      joinedload(Registration.certificate_level, innerjoin=True))
             .with_for_update(of=Registration).execution_options(populate_existing=True))
    return list(db.session.scalars(query).unique())


def _refuse_ended(order: PaymentOrder, what: str, rows: list[Registration] | None = None) -> None:
    """Refuse when a registration of the order is no longer waiting for payment."""
    plan = order.plan
    rows = order.registrations if rows is None else rows
    lapsed = [r for r in rows if r.state == RegistrationState.LAPSED]
    if lapsed:
        raise DomainError(_named(lapsed, f"已于缴费截止时间（{_deadline_text(plan)}）因未缴费视为自动放弃，"
                                         f"不能{what}"))
    other = [r for r in rows if r.state != RegistrationState.UNPAID]
    if other:
        states = "、".join(sorted({r.state.value for r in other}))
        raise DomainError(_named(other, f"的状态为「{states}」，不能{what}；请撤销或驳回此订单"))


def submit_voucher(actor: Any, order_id: Any, file_name: str, data: bytes, transaction_ref: str = "") -> PaymentOrder:
    """The school uploads the payment voucher (PDF, JPEG or PNG); the order waits for the org."""
    order = _locked(actor, order_id, "payments.manage")
    if PAYMENT.allowed(order, "submit", actor) is None:
        raise DomainError(f"订单状态为「{order.state.value}」，不能提交付款凭证")
    lapse.lapse_overdue(plan_id=order.plan_id, school_id=order.school_id)
    _refuse_ended(order, "提交付款凭证")
    _refuse_after_deadline(order.plan, "提交付款凭证")
    provider = providers.get_provider(order.provider)
    suffix = provider.check_voucher(file_name, data)
    transaction_ref = (transaction_ref or "").strip()
    if len(transaction_ref) > MAX_TRANSACTION_REF:
        raise DomainError(f"转账流水号过长（最多 {MAX_TRANSACTION_REF} 个字符）", field="transaction_ref")
    storage = get_storage()
    order.voucher_key = storage.save(storage.new_key("vouchers", suffix), data)
    order.voucher_name = upload_name(file_name, suffix, "付款凭证")
    order.transaction_ref = transaction_ref
    order.submitted_at = clock.now()
    PAYMENT.move(order, "submit", actor, reason=f"凭证：{order.voucher_name}")
    db.session.flush()
    return order


def _confirm(actor: Any, order: PaymentOrder) -> PaymentOrder:
    if order.state == PaymentState.CONFIRMED:
        raise DomainError(f"缴费订单 {order.reference} 已于 {order.decided_at:%Y-%m-%d %H:%M} 确认到账，不能重复确认")
    if order.state != PaymentState.SUBMITTED:
        raise DomainError(f"缴费订单 {order.reference} 的状态为「{order.state.value}」，只有「待确认」的订单可以确认到账")
    lapse.lapse_overdue(plan_id=order.plan_id, school_id=order.school_id)
    rows = _locked_registrations(order)
    _refuse_ended(order, "确认到账（请驳回此订单并说明原因）", rows)
    if not rows:
        raise DomainError(f"缴费订单 {order.reference} 中没有报考，不能确认到账")
    now = clock.now()
    with db.session.no_autoflush:
        for registration in rows:
            REGISTRATION.move(registration, "pay", actor, reason=f"缴费订单 {order.reference}")
            registration.paid_at = now
    order.decided_at = now
    PAYMENT.move(order, "confirm", actor, reason=f"金额 {order.amount} 元，{len(rows)} 条报考")
    db.session.flush()
    return order


def confirm_order(actor: Any, order_id: Any) -> PaymentOrder:
    """The org confirms that the money arrived: the order's registrations become 已缴费."""
    return _confirm(actor, _locked(actor, order_id, "payments.review"))


def reject_order(actor: Any, order_id: Any, reason: str) -> PaymentOrder:
    """The org rejects the voucher with a reason the school reads; the school may upload a new one."""
    order = _locked(actor, order_id, "payments.review")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写驳回原因（院校可见）", field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(f"驳回原因过长（最多 {MAX_REASON} 个字）", field="reason")
    if order.state != PaymentState.SUBMITTED:
        raise DomainError(f"缴费订单 {order.reference} 的状态为「{order.state.value}」，只有「待确认」的订单可以驳回")
    PAYMENT.move(order, "reject", actor, reason=reason)
    order.reject_reason = reason
    order.decided_at = clock.now()
    db.session.flush()
    return order


def withdraw_order(actor: Any, order_id: Any) -> PaymentOrder:
    """The school withdraws an unconfirmed order; its registrations can go into a new order."""
    order = _locked(actor, order_id, "payments.manage")
    ids = [r.id for r in order.registrations]
    PAYMENT.move(order, "withdraw", actor)
    db.session.execute(update(Registration).where(Registration.payment_order_id == order.id)
                       .values(payment_order_id=None).execution_options(synchronize_session=False))
    db.session.expire(order, ["registrations"])
    for registration in db.session.scalars(select(Registration).where(Registration.id.in_(ids))):
        db.session.expire(registration, ["payment_order_id", "payment_order"])
    audit.record(actor, "payment.release", order, after={"registration_ids": ids, "registrations": len(ids)})
    db.session.flush()
    return order


def start_checkout(actor: Any, order_id: Any) -> str:
    """Online providers: the school starts paying; the order waits for the provider's notice."""
    order = _locked(actor, order_id, "payments.manage")
    provider = providers.get_provider(order.provider)
    url = provider.checkout_url(order)
    if not url:
        raise DomainError("该订单以转账凭证方式缴费：请转账后上传付款凭证")
    lapse.lapse_overdue(plan_id=order.plan_id, school_id=order.school_id)
    _refuse_ended(order, "缴费")
    _refuse_after_deadline(order.plan, "缴费")
    if order.state != PaymentState.SUBMITTED:
        order.submitted_at = clock.now()
        PAYMENT.move(order, "submit", actor, reason=provider.label)
    db.session.flush()
    return url


#: the longest reference, transaction number or amount text a notice may carry
MAX_NOTICE_TEXT = 64


def _checked(notice: providers.Notification) -> providers.Notification:
    """A provider's notice with texts that are texts of a sane length and a finite amount."""
    texts = (notice.reference, notice.transaction_ref)
    if not all(isinstance(t, str) and 0 < len(t) <= MAX_NOTICE_TEXT for t in texts):
        raise ValueError("reference")
    amount = Decimal(notice.amount)
    if not amount.is_finite() or len(str(amount)) > MAX_NOTICE_TEXT:
        raise ValueError("amount")
    return providers.Notification(notice.reference, notice.transaction_ref, amount, bool(notice.paid))


def record_notification(provider_name: str, payload: Any) -> PaymentOrder:
    """An online provider's callback: confirm the order as the system after checking it."""
    provider = providers.get_provider(provider_name)
    if not isinstance(payload, dict):
        raise DomainError("支付通知格式无效")
    try:
        notice = _checked(provider.parse_notification(payload))
    except (LookupError, TypeError, ValueError, ArithmeticError, AttributeError):
        # a provider reads the fields it expects: a notice without them, or with values of the
        # wrong kind (a number for the reference, NaN for the amount), is bad input, not a fault
        raise DomainError("支付通知内容无效（缺少或无法识别的字段）") from None
    order = db.session.scalar(select(PaymentOrder).where(PaymentOrder.reference == notice.reference,
                                                         PaymentOrder.provider == provider_name))
    if order is None:
        raise DomainError(f"找不到缴费订单 {notice.reference[:40]}")
    lock_row(order)
    if not notice.paid:
        return order
    if Decimal(notice.amount) != order.amount:
        raise DomainError(f"缴费订单 {order.reference} 应缴 {order.amount} 元，支付通知的金额为 {notice.amount} 元，未确认")
    transaction_ref = notice.transaction_ref[:MAX_TRANSACTION_REF]
    if order.state == PaymentState.CONFIRMED:
        if order.transaction_ref == transaction_ref:
            # providers repeat a notice until it is acknowledged: the same payment again changes nothing
            return order
        _confirm(None, order)  # another payment of a confirmed order: refused (不能重复确认), nothing changed
    order.transaction_ref = transaction_ref
    return _confirm(None, order)


def voucher_file(actor: Any, order_id: Any) -> tuple[str, str, str]:
    """(local path, MIME type, download name) of an order's voucher, for whoever may see the order."""
    order = get_order(actor, order_id)
    storage = get_storage()
    if not order.voucher_key or not storage.exists(order.voucher_key):
        raise DomainError("该订单没有付款凭证")
    suffix = PurePath(order.voucher_key).suffix
    return (str(storage.path(order.voucher_key)), providers.MIME_BY_SUFFIX.get(suffix, "application/octet-stream"),
            upload_name(order.voucher_name, suffix, "付款凭证"))  # also names stored before the rule
