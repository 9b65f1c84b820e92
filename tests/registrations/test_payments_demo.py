"""The demo's payments: some paid in a confirmed order, one order waiting, the rest unpaid."""
from __future__ import annotations

from examadmin.candidates.models import CandidateKind
from examadmin.registrations import demo_payments
from examadmin.registrations.models import PaymentKind
from examadmin.registrations.states import PaymentState, RegistrationState
from tests.registrations.factories_payment import make_world, register


def test_half_the_students_paid_the_social_candidate_waits_the_rest_unpaid():
    world = make_world(places=10)
    students = [register(world, name=f"学生{i}") for i in range(4)]
    social = register(world, kind=CandidateKind.SOCIAL, name="社会人")

    assert demo_payments.pay_some(world.school_user, world.org, world.plan) == {"confirmed": 2, "waiting": 1}

    assert [r.state for r in students] == [RegistrationState.PAID] * 2 + [RegistrationState.UNPAID] * 2
    assert students[0].payment_order.state == PaymentState.CONFIRMED
    assert students[0].payment_order.voucher_name == "演示银行回单.png"
    assert social.payment_order.kind == PaymentKind.SOCIAL and social.payment_order.state == PaymentState.SUBMITTED
    assert students[2].payment_order_id is None
    # run again: the school has orders on the plan, nothing more is done
    assert demo_payments.pay_some(world.school_user, world.org, world.plan) == {"confirmed": 0, "waiting": 0}


def test_without_a_social_candidate_a_second_school_order_waits():
    world = make_world(places=10)
    students = [register(world, name=f"学生{i}") for i in range(5)]
    assert demo_payments.pay_some(world.school_user, world.org, world.plan) == {"confirmed": 3, "waiting": 1}
    assert students[3].payment_order.state == PaymentState.SUBMITTED
    assert students[4].state == RegistrationState.UNPAID and students[4].payment_order_id is None


def test_the_demo_loader_does_nothing_without_the_demo_school():
    assert demo_payments.load_demo() == {"confirmed": 0, "waiting": 0}
