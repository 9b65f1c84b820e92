"""Payment orders: school and social orders, vouchers, confirmation, rejection, withdrawal."""
from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from examadmin.candidates.models import CandidateKind
from examadmin.core import audit, clock
from examadmin.core.errors import DomainError
from examadmin.core.permissions import ForbiddenAction, NotInScope
from examadmin.core.storage import get_storage
from examadmin.extensions import db
from examadmin.registrations import payment_lists, payments, providers
from examadmin.registrations.models import PaymentKind, PaymentOrder
from examadmin.registrations.states import PaymentState, RegistrationState
from tests.registrations.factories_payment import (AFTER_DEADLINE, BEFORE_DEADLINE, make_world, register,
                                                   used)
from tests.sites.factories import make_user

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(buffer, "PNG")
    return buffer.getvalue()


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def world():
    return make_world(places=10)


def at(monkeypatch, moment):
    monkeypatch.setattr(clock, "now", lambda: moment)


def school_order(world, count=2):
    regs = [register(world, name=f"学生{i}") for i in range(count)]
    return payments.create_school_order(world.school_user, world.plan.id, [r.id for r in regs]), regs


def submitted(world, count=2):
    order, regs = school_order(world, count)
    payments.submit_voucher(world.school_user, order.id, "凭证.pdf", PDF, "流水123")
    return order, regs


# ---- creating orders --------------------------------------------------------------------------

def test_a_school_order_sums_the_fees_and_claims_its_registrations(world):
    order, regs = school_order(world, 3)
    assert order.kind == PaymentKind.SCHOOL and order.state == PaymentState.DRAFT
    assert order.amount == Decimal("900.00")  # 3 × the plan's 初级 fee of 300
    assert order.reference.startswith("JF") and order.reference.endswith(f"{order.id:06d}")
    assert [r.id for r in order.registrations] == [r.id for r in regs]
    assert all(r.payment_order_id == order.id for r in regs)
    entry = audit.history(order)[0]
    assert entry.action == "payment.create" and entry.after["registrations"] == 3


def test_the_amount_is_fixed_when_the_order_is_made(world):
    order, regs = school_order(world, 1)
    regs[0].fee = Decimal("999")
    db.session.flush()
    db.session.refresh(order)
    assert order.amount == Decimal("300.00")


def test_all_eligible_takes_every_unpaid_student_registration_not_in_an_order(world):
    first, _ = school_order(world, 1)
    regs = [register(world, name=f"学生{i}") for i in range(3)]
    register(world, kind=CandidateKind.SOCIAL, name="社会人")
    order = payments.create_school_order(world.school_user, world.plan.id, all_eligible=True)
    assert sorted(r.id for r in order.registrations) == sorted(r.id for r in regs)
    assert order.amount == Decimal("900.00")


def test_a_registration_goes_into_one_live_order_only(world):
    order, regs = school_order(world, 1)
    with pytest.raises(DomainError, match="已在其他缴费订单中") as exc:
        payments.create_school_order(world.school_user, world.plan.id, [regs[0].id])
    assert "学生0" in exc.value.message


def test_the_claim_refuses_a_registration_taken_by_another_order_meanwhile(world, monkeypatch):
    """The check passed (a stale read), but another order took the row: the UPDATE decides."""
    reg = register(world)
    monkeypatch.setattr(payments, "_payable_problems", lambda rows, plan: [])
    payments.create_school_order(world.school_user, world.plan.id, [reg.id])
    with pytest.raises(DomainError, match="刚刚被加入其他缴费订单"):
        payments.create_school_order(world.school_user, world.plan.id, [reg.id])


def test_a_school_order_refuses_social_candidates_by_name(world):
    social = register(world, kind=CandidateKind.SOCIAL, name="王社会")
    with pytest.raises(DomainError, match="王社会.*社会考生个人缴费订单"):
        payments.create_school_order(world.school_user, world.plan.id, [social.id])


def test_a_school_order_refuses_registrations_of_another_school(world):
    other = make_world(places=5)
    foreign = register(other, name="外校生")
    with pytest.raises(DomainError, match="不存在或不属于本校"):
        payments.create_school_order(world.school_user, world.plan.id, [foreign.id])


def test_a_school_order_refuses_paid_and_cancelled_registrations(world):
    order, regs = submitted(world, 1)
    payments.confirm_order(world.org, order.id)
    with pytest.raises(DomainError, match="学生0.*不是「待缴费」状态"):
        payments.create_school_order(world.school_user, world.plan.id, [regs[0].id])


def test_an_empty_selection_and_bad_ids_are_refused(world):
    with pytest.raises(DomainError, match="请选择要缴费的报考记录"):
        payments.create_school_order(world.school_user, world.plan.id, [])
    with pytest.raises(DomainError, match="无效"):
        payments.create_school_order(world.school_user, world.plan.id, ["abc"])
    with pytest.raises(DomainError, match="无效"):
        payments.create_school_order(world.school_user, world.plan.id, [2**40])
    with pytest.raises(DomainError, match="最多包含"):
        payments.create_school_order(world.school_user, world.plan.id,
                                     range(1, payments.MAX_ORDER_REGISTRATIONS + 2))


def test_a_social_order_is_one_per_social_candidate(world):
    reg = register(world, kind=CandidateKind.SOCIAL, name="王社会")
    order = payments.create_social_order(world.school_user, world.plan.id, reg.candidate_id)
    assert order.kind == PaymentKind.SOCIAL and order.candidate_id == reg.candidate_id
    assert order.amount == Decimal("300.00") and [r.id for r in order.registrations] == [reg.id]
    with pytest.raises(DomainError, match="已在缴费订单中"):
        payments.create_social_order(world.school_user, world.plan.id, reg.candidate_id)


def test_a_social_order_refuses_a_school_student(world):
    reg = register(world, name="李学生")
    with pytest.raises(DomainError, match="李学生.*学校统一缴费订单"):
        payments.create_social_order(world.school_user, world.plan.id, reg.candidate_id)


def test_orders_cannot_be_made_after_the_payment_deadline(world, monkeypatch):
    reg = register(world)
    at(monkeypatch, AFTER_DEADLINE)
    with pytest.raises(DomainError, match="缴费截止时间（2030-05-31 17:00）已过"):
        payments.create_school_order(world.school_user, world.plan.id, [reg.id])


def test_only_a_school_user_creates_orders(world):
    reg = register(world)
    for role in ("org", "province", "city", "sysadmin"):
        with pytest.raises(ForbiddenAction):
            payments.create_school_order(make_user(role), world.plan.id, [reg.id])


# ---- vouchers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name,data,suffix", [("凭证.pdf", PDF, ".pdf"), ("回单.png", png(), ".png"),
                                              ("回单.jpg", jpeg(), ".jpg"), ("无扩展名", PDF, ".pdf")])
def test_a_pdf_or_image_voucher_is_stored_and_the_order_waits(world, name, data, suffix):
    order, _ = school_order(world, 1)
    payments.submit_voucher(world.school_user, order.id, name, data, " 流水 42 ")
    assert order.state == PaymentState.SUBMITTED and order.submitted_at is not None
    assert order.voucher_key.startswith("vouchers/") and order.voucher_key.endswith(suffix)
    # the name keeps the extension of the detected type, never another one
    assert order.voucher_name == name.split(".")[0] + suffix and order.transaction_ref == "流水 42"
    assert get_storage().read(order.voucher_key) == data


@pytest.mark.parametrize("name,data,message", [
    ("凭证.pdf", b"", "文件不能为空"),
    ("凭证.pdf", b"hello, I am text", "不是 PDF、JPEG 或 PNG"),
    ("凭证.pdf", b"PK\x03\x04zipfile", "不是 PDF、JPEG 或 PNG"),
    ("big.pdf", b"%PDF-" + b"0" * providers.MAX_VOUCHER_BYTES, "超过 10 MB"),
])
def test_bad_vouchers_are_refused_and_nothing_is_stored(world, name, data, message):
    order, _ = school_order(world, 1)
    with pytest.raises(DomainError, match=message):
        payments.submit_voucher(world.school_user, order.id, name, data)
    assert order.state == PaymentState.DRAFT and order.voucher_key is None


def test_the_voucher_name_loses_folders_and_control_characters(world):
    order, _ = school_order(world, 1)
    payments.submit_voucher(world.school_user, order.id, "C:\\temp\\..\\回单\x07.pdf", PDF)
    assert order.voucher_name == "回单.pdf"


def test_the_voucher_is_served_to_the_school_and_the_org_only(world):
    order, _ = submitted(world, 1)
    path, mime, name = payments.voucher_file(world.org, order.id)
    assert mime == "application/pdf" and name == "凭证.pdf" and Path(path).read_bytes() == PDF
    assert payments.voucher_file(world.school_user, order.id)[0] == path
    with pytest.raises(NotInScope):
        payments.voucher_file(make_user("school"), order.id)
    with pytest.raises(ForbiddenAction):
        payments.voucher_file(make_user("province"), order.id)


def test_a_voucher_after_the_deadline_is_refused_because_the_registrations_lapsed(world, monkeypatch):
    order, _ = school_order(world, 1)
    at(monkeypatch, AFTER_DEADLINE)
    with pytest.raises(DomainError, match="学生0.*因未缴费视为自动放弃"):
        payments.submit_voucher(world.school_user, order.id, "凭证.pdf", PDF)


# ---- confirming and rejecting -----------------------------------------------------------------

def test_confirming_makes_the_registrations_paid(world, monkeypatch):
    order, regs = submitted(world, 2)
    at(monkeypatch, BEFORE_DEADLINE)
    payments.confirm_order(world.org, order.id)
    assert order.state == PaymentState.CONFIRMED and order.decided_at == BEFORE_DEADLINE
    for reg in regs:
        assert reg.state == RegistrationState.PAID and reg.paid_at == BEFORE_DEADLINE
        assert [e.action for e in audit.history(reg)] == ["registration.pay"]
    assert [e.action for e in audit.history(order)] == ["payment.create", "payment.submit",
                                                        "payment.confirm"]


def test_confirming_twice_is_refused_with_the_reason(world):
    order, _ = submitted(world, 1)
    payments.confirm_order(world.org, order.id)
    with pytest.raises(DomainError, match="已于 .* 确认到账，不能重复确认"):
        payments.confirm_order(world.org, order.id)


def test_an_order_without_a_voucher_cannot_be_confirmed(world):
    order, regs = school_order(world, 1)
    with pytest.raises(DomainError, match="只有「待确认」的订单可以确认到账"):
        payments.confirm_order(world.org, order.id)
    assert regs[0].state == RegistrationState.UNPAID


def test_confirming_an_order_whose_registrations_lapsed_is_refused(world, monkeypatch):
    order, regs = submitted(world, 2)
    at(monkeypatch, AFTER_DEADLINE)
    with pytest.raises(DomainError, match="学生0.*学生1.*因未缴费视为自动放弃.*不能确认到账"):
        payments.confirm_order(world.org, order.id)
    assert order.state == PaymentState.SUBMITTED


def test_only_the_org_confirms_or_rejects(world):
    order, _ = submitted(world, 1)
    for role in ("school", "province", "city", "sysadmin"):
        user = world.school_user if role == "school" else make_user(role)
        with pytest.raises(ForbiddenAction):
            payments.confirm_order(user, order.id)
        with pytest.raises(ForbiddenAction):
            payments.reject_order(user, order.id, "不对")


def test_a_rejected_order_shows_the_reason_and_takes_a_new_voucher(world):
    order, regs = submitted(world, 1)
    with pytest.raises(DomainError, match="请填写驳回原因"):
        payments.reject_order(world.org, order.id, "  ")
    payments.reject_order(world.org, order.id, "凭证金额与订单不符")
    assert order.state == PaymentState.REJECTED and order.reject_reason == "凭证金额与订单不符"
    assert regs[0].state == RegistrationState.UNPAID
    with pytest.raises(DomainError, match="只有「待确认」的订单可以确认到账"):
        payments.confirm_order(world.org, order.id)
    payments.submit_voucher(world.school_user, order.id, "新凭证.png", png())
    assert order.state == PaymentState.SUBMITTED and order.voucher_name == "新凭证.png"
    payments.confirm_order(world.org, order.id)
    assert regs[0].state == RegistrationState.PAID


def test_a_confirmed_order_takes_no_new_voucher(world):
    order, _ = submitted(world, 1)
    payments.confirm_order(world.org, order.id)
    with pytest.raises(DomainError, match="订单状态为「已确认」，不能提交付款凭证"):
        payments.submit_voucher(world.school_user, order.id, "凭证.pdf", PDF)


# ---- withdrawing ------------------------------------------------------------------------------

def test_withdrawing_frees_the_registrations_for_a_new_order(world):
    order, regs = submitted(world, 2)
    payments.withdraw_order(world.school_user, order.id)
    assert order.state == PaymentState.WITHDRAWN
    db.session.expire_all()
    assert all(r.payment_order_id is None for r in regs)
    assert all(r.state == RegistrationState.UNPAID for r in regs) and used(world) == 2  # places still held
    again = payments.create_school_order(world.school_user, world.plan.id, [r.id for r in regs])
    assert again.amount == Decimal("600.00") and again.id != order.id
    assert audit.history(order)[-1].after["registration_ids"] == [r.id for r in regs]


def test_a_confirmed_order_cannot_be_withdrawn(world):
    order, _ = submitted(world, 1)
    payments.confirm_order(world.org, order.id)
    with pytest.raises(DomainError, match="不能执行「撤销订单」"):
        payments.withdraw_order(world.school_user, order.id)


def test_another_school_cannot_touch_an_order(world):
    order, _ = school_order(world, 1)
    stranger = make_user("school")
    with pytest.raises(NotInScope):
        payments.withdraw_order(stranger, order.id)
    with pytest.raises(NotInScope):
        payments.submit_voucher(stranger, order.id, "凭证.pdf", PDF)
    with pytest.raises(NotInScope):
        payments.get_order(stranger, order.id)


# ---- lists ------------------------------------------------------------------------------------

def test_lists_are_scoped_and_filtered(world):
    order, _ = submitted(world, 1)
    social = register(world, kind=CandidateKind.SOCIAL, name="王社会")
    personal = payments.create_social_order(world.school_user, world.plan.id, social.candidate_id)
    other = make_world(places=3)
    foreign, _ = school_order(other, 1)

    def ids(actor, **filters):
        return [o.id for o in db.session.scalars(payment_lists.list_orders(actor, **filters))]

    assert ids(world.school_user) == [personal.id, order.id]
    assert set(ids(world.org)) >= {order.id, personal.id, foreign.id}
    assert ids(world.school_user, state="待确认") == [order.id]
    assert ids(world.school_user, kind="社会考生个人缴费") == [personal.id]
    assert ids(world.school_user, state="不存在的状态") == [personal.id, order.id]  # unknown filter: ignored
    assert ids(world.school_user, q="王社会") == [personal.id]
    assert ids(world.school_user, q=order.reference.lower()) == [order.id]
    school = world.school_user.school
    assert ids(world.org, q=school.code) == ids(world.org, q=school.name) == [personal.id, order.id]
    assert ids(world.school_user, q=other.school_user.school.code) == []  # scope still applies
    assert payment_lists.state_counts(world.school_user) == {"待确认": 1, "待上传凭证": 1}


def test_social_pending_lists_social_candidates_without_an_order(world):
    a = register(world, kind=CandidateKind.SOCIAL, name="甲社会")
    b = register(world, kind=CandidateKind.SOCIAL, name="乙社会")
    register(world, name="学生")
    payments.create_social_order(world.school_user, world.plan.id, b.candidate_id)
    pending = payment_lists.social_pending(world.school_user, world.plan.id)
    assert [p["candidate"].id for p in pending] == [a.candidate_id]
    assert pending[0]["amount"] == Decimal("300.00") and "*" in pending[0]["id_number_masked"]
    assert payment_lists.social_pending(make_user("school"), world.plan.id) == []


def test_a_withdrawn_order_keeps_its_reference_unique(world):
    order, _ = school_order(world, 1)
    payments.withdraw_order(world.school_user, order.id)
    again = payments.create_school_order(world.school_user, world.plan.id, all_eligible=True)
    references = db.session.scalars(select(PaymentOrder.reference)).all()
    assert len(references) == len(set(references)) and again.reference != order.reference
