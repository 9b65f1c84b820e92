"""The PaymentProvider interface: the voucher provider, and an online provider plugged in."""
from __future__ import annotations

from decimal import Decimal

import pytest

from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.registrations import payments, providers
from examadmin.registrations.providers import Notification, OnlineProvider
from examadmin.registrations.states import PaymentState, RegistrationState
from tests.registrations.factories_payment import make_world, register


class FakeBank(OnlineProvider):
    """A provider as a real one would be written: a cashier URL, signed notifications."""

    name = "fakebank"
    label = "网上缴费（测试银行）"

    def checkout_url(self, order):
        return f"https://pay.example.test/cashier?ref={order.reference}&amount={order.amount}"

    def parse_notification(self, payload):
        if payload.get("sign") != "ok":
            raise DomainError("支付通知签名无效")
        return Notification(payload["ref"], payload["txn"], Decimal(payload["amount"]), payload["status"] == "paid")


@pytest.fixture
def online(app):
    providers.register_provider("fakebank", FakeBank)
    app.config["PAYMENT_PROVIDER"] = "fakebank"
    yield
    app.config["PAYMENT_PROVIDER"] = "voucher"
    providers.unregister_provider("fakebank")


def test_new_orders_use_the_voucher_provider_by_default():
    world = make_world(places=3)
    order = payments.create_school_order(world.school_user, world.plan.id, [register(world).id])
    assert order.provider == "voucher" and providers.get_provider(order.provider).checkout_url(order) is None
    with pytest.raises(DomainError, match="请转账后上传付款凭证"):
        payments.start_checkout(world.school_user, order.id)
    with pytest.raises(DomainError, match="人工确认"):
        payments.record_notification("voucher", {})


def test_an_online_provider_takes_the_payer_to_its_cashier_and_its_notice_confirms(online):
    world = make_world(places=3)
    regs = [register(world, name=f"学生{i}") for i in range(2)]
    order = payments.create_school_order(world.school_user, world.plan.id, [r.id for r in regs])
    assert order.provider == "fakebank"
    with pytest.raises(DomainError, match="无需上传凭证"):
        payments.submit_voucher(world.school_user, order.id, "a.pdf", b"%PDF-1.4")
    url = payments.start_checkout(world.school_user, order.id)
    assert url == f"https://pay.example.test/cashier?ref={order.reference}&amount=600.00"
    assert order.state == PaymentState.SUBMITTED

    with pytest.raises(DomainError, match="签名无效"):
        payments.record_notification("fakebank", {"sign": "forged"})
    with pytest.raises(DomainError, match="应缴 600.00 元，支付通知的金额为 1.00 元"):
        payments.record_notification("fakebank", {"sign": "ok", "ref": order.reference, "txn": "T1",
                                                  "amount": "1.00", "status": "paid"})
    with pytest.raises(DomainError, match="找不到缴费订单"):
        payments.record_notification("fakebank", {"sign": "ok", "ref": "JF0", "txn": "T1", "amount": "600",
                                                  "status": "paid"})
    payments.record_notification("fakebank", {"sign": "ok", "ref": order.reference, "txn": "T9",
                                              "amount": "600.00", "status": "paid"})
    assert order.state == PaymentState.CONFIRMED and order.transaction_ref == "T9"
    assert all(r.state == RegistrationState.PAID for r in regs)
    # the provider repeating its notice of the same payment is acknowledged and changes nothing
    payments.record_notification("fakebank", {"sign": "ok", "ref": order.reference, "txn": "T9",
                                              "amount": "600.00", "status": "paid"})
    assert order.state == PaymentState.CONFIRMED and order.transaction_ref == "T9"
    with pytest.raises(DomainError, match="不能重复确认"):  # a second payment of a paid order
        payments.record_notification("fakebank", {"sign": "ok", "ref": order.reference, "txn": "T10",
                                                  "amount": "600.00", "status": "paid"})
    assert order.transaction_ref == "T9"


def test_an_unknown_provider_is_a_clear_error():
    with pytest.raises(DomainError, match="未配置的缴费方式"):
        providers.get_provider("alipay")


def test_a_provider_named_module_and_class_in_the_settings_is_loaded(app):
    app.config["PAYMENT_PROVIDER"] = "tests.registrations.test_payments_provider:FakeBank"
    try:
        world = make_world(places=3)
        order = payments.create_school_order(world.school_user, world.plan.id, [register(world).id])
        assert order.provider == "fakebank"
        providers.unregister_provider("fakebank")  # as in another process, which has not loaded it yet
        assert isinstance(providers.get_provider(order.provider), FakeBank)
        app.config["PAYMENT_PROVIDER"] = "no.such.module:Bank"
        with pytest.raises(DomainError, match="无法载入缴费方式"):
            payments.create_school_order(world.school_user, world.plan.id, [register(world, name="乙").id])
    finally:
        app.config["PAYMENT_PROVIDER"] = "voucher"
        providers.unregister_provider("fakebank")


def test_the_public_callback_view_confirms_on_a_signed_notice_and_refuses_the_rest(online, client):
    world = make_world(places=3)
    regs = [register(world, name=f"回调生{i}") for i in range(2)]
    order = payments.create_school_order(world.school_user, world.plan.id, [r.id for r in regs])
    payments.start_checkout(world.school_user, order.id)
    db.session.commit()
    url = "/registrations/payments/notify/fakebank"
    paid = {"sign": "ok", "ref": order.reference, "txn": "W1", "amount": "600.00", "status": "paid"}

    # no session and no CSRF token: the provider's server calls it; a forged or odd notice is a 400
    forged = client.post(url, json={**paid, "sign": "forged"})
    assert forged.status_code == 400 and forged.get_json() == {"ok": False, "message": "支付通知签名无效"}
    assert client.post(url, json=["not", "an", "object"]).status_code == 400
    missing = client.post(url, json={"sign": "ok"})
    assert missing.status_code == 400 and "支付通知内容无效" in missing.get_json()["message"]
    wrong = client.post(url, json={**paid, "amount": "1.00"})
    assert wrong.status_code == 400 and "应缴 600.00 元" in wrong.get_json()["message"]
    assert client.post("/registrations/payments/notify/voucher", json=paid).status_code == 400
    assert client.post("/registrations/payments/notify/alipay", json=paid).get_json()["message"] \
        == "未配置的缴费方式「alipay」"
    assert client.post("/registrations/payments/notify/" + "x" * 41, json=paid).status_code == 404
    odd_name = client.post("/registrations/payments/notify/a%00b", json=paid)
    assert odd_name.status_code == 404 and odd_name.get_json() == {"ok": False, "message": "未知的缴费方式"}
    # a body nested past the JSON decoder's depth, and signed values of the wrong kind: 400, never 500
    deep = client.post(url, data="[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert deep.status_code == 400 and "支付通知格式无效" in deep.get_json()["message"]
    for odd in ({"ref": 123}, {"ref": [order.reference]}, {"txn": {"a": 1}}, {"amount": "sNaN"},
                {"amount": "NaN"}, {"amount": "9" * 5000}, {"txn": "x" * 5000}):
        answer = client.post(url, json={**paid, **odd})
        assert answer.status_code == 400 and "支付通知内容无效" in answer.get_json()["message"], odd
    # a provider that calls a text's methods on whatever arrived (AttributeError on a number)
    strict = FakeBank.parse_notification
    FakeBank.parse_notification = lambda self, payload: strict(self, {**payload, "ref": payload["ref"].strip()})
    try:
        answer = client.post(url, json={**paid, "ref": 123})
        assert answer.status_code == 400 and "支付通知内容无效" in answer.get_json()["message"]
    finally:
        FakeBank.parse_notification = strict
    db.session.refresh(order)
    assert order.state == PaymentState.SUBMITTED

    answer = client.post(url, data=paid)  # a form-encoded notice works as well as JSON
    assert answer.status_code == 200
    assert answer.get_json() == {"ok": True, "reference": order.reference, "state": "已确认"}
    db.session.refresh(order)
    assert order.state == PaymentState.CONFIRMED and order.transaction_ref == "W1"
    for r in regs:
        db.session.refresh(r)
        assert r.state == RegistrationState.PAID
    assert client.post(url, json=paid).status_code == 200  # the provider's retry is acknowledged
