"""The dashboards' to-do lists carry registration and payment work (issue 8 item 13's registry)."""
from __future__ import annotations

from examadmin.core import todo
from examadmin.registrations import payments
from tests.registrations.factories_payment import make_world, register


def _labels(user) -> dict[str, int]:
    return {t.label: t.count for t in todo.todos_for(user)}


def test_unpaid_registrations_wait_for_the_school_and_a_submitted_order_for_the_org(app):
    world = make_world()
    reg = register(world)
    assert _labels(world.school_user).get("待缴费的报考") == 1
    order = payments.create_school_order(world.school_user, world.plan.id, [reg.id])
    assert "待确认的缴费订单" not in _labels(world.org)
    payments.submit_voucher(world.school_user, order.id, "凭证.pdf", b"%PDF-1.4\n%test\n")
    assert _labels(world.org).get("待确认的缴费订单") == 1
    payments.reject_order(world.org, order.id, "金额不符")
    assert _labels(world.school_user).get("被驳回的缴费订单") == 1


def test_registrations_in_a_live_order_are_no_longer_waiting_to_be_paid(app):
    world = make_world()
    first, second = register(world, name="甲"), register(world, name="乙")
    assert _labels(world.school_user).get("待缴费的报考") == 2
    order = payments.create_school_order(world.school_user, world.plan.id, [first.id])
    payments.submit_voucher(world.school_user, order.id, "凭证.pdf", b"%PDF-1.4\n%test\n")
    assert _labels(world.school_user).get("待缴费的报考") == 1  # only 乙: 甲 waits for the org
    payments.withdraw_order(world.school_user, order.id)
    assert _labels(world.school_user).get("待缴费的报考") == 2
    assert second.payment_order_id is None


def test_an_order_whose_registrations_all_lapsed_leaves_the_to_do_lists(app, monkeypatch):
    from examadmin.core import clock
    from examadmin.registrations import lapse
    from tests.registrations.factories_payment import AFTER_DEADLINE, BEFORE_DEADLINE

    monkeypatch.setattr(clock, "now", lambda: BEFORE_DEADLINE)
    world = make_world()
    waiting_reg, rejected_reg = register(world, name="待确认生"), register(world, name="被驳回生")
    waiting = payments.create_school_order(world.school_user, world.plan.id, [waiting_reg.id])
    payments.submit_voucher(world.school_user, waiting.id, "凭证.pdf", b"%PDF-1.4\n%test\n")
    rejected = payments.create_school_order(world.school_user, world.plan.id, [rejected_reg.id])
    payments.submit_voucher(world.school_user, rejected.id, "凭证.pdf", b"%PDF-1.4\n%test\n")
    payments.reject_order(world.org, rejected.id, "金额不符")
    assert _labels(world.org).get("待确认的缴费订单") == 1
    assert _labels(world.school_user).get("被驳回的缴费订单") == 1

    monkeypatch.setattr(clock, "now", lambda: AFTER_DEADLINE)
    # overdue: gone from the lists before the lapse is written, and after
    assert "待确认的缴费订单" not in _labels(world.org)
    assert "被驳回的缴费订单" not in _labels(world.school_user)
    lapse.lapse_overdue()
    assert "待确认的缴费订单" not in _labels(world.org)
    assert "被驳回的缴费订单" not in _labels(world.school_user)


def test_the_unpaid_to_do_opens_a_list_of_exactly_what_it_counts(client, app):
    from examadmin.extensions import db
    from tests.dashboard.test_todos import todos as dashboard_todos

    world = make_world(places=10)
    waiting, ordered = register(world, name="待下单生"), register(world, name="已下单生")
    payments.create_school_order(world.school_user, world.plan.id, [ordered.id])
    db.session.commit()
    count, link = dashboard_todos(client, world.school_user)["待缴费的报考"]
    table = client.get(link).get_data(as_text=True).split('data-testid="reg-table"', 1)[1]
    assert count == 1 and "待下单生" in table and "已下单生" not in table
