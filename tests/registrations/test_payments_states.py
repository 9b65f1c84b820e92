"""The payment order machine: every allowed move, and every other one refused."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from examadmin.registrations.states import PAYMENT, PaymentState
from tests.workflow_table import check_move

P = PaymentState
ROLES = ["sysadmin", "org", "province", "city", "school", "candidate", None]  # None: the system

# (state, action, role) -> target; every other combination must be refused
ALLOWED = {
    (P.DRAFT, "submit", "school"): P.SUBMITTED,
    (P.REJECTED, "submit", "school"): P.SUBMITTED,
    (P.SUBMITTED, "confirm", "org"): P.CONFIRMED,
    (P.SUBMITTED, "confirm", None): P.CONFIRMED,  # an online provider's notification
    (P.SUBMITTED, "reject", "org"): P.REJECTED,
    (P.DRAFT, "withdraw", "school"): P.WITHDRAWN,
    (P.SUBMITTED, "withdraw", "school"): P.WITHDRAWN,
    (P.REJECTED, "withdraw", "school"): P.WITHDRAWN,
}


def _cases():
    actions = sorted({m.action for m in PAYMENT.moves})
    for state in P:
        for action in actions:
            for role in ROLES:
                yield state, action, role


@pytest.mark.parametrize("state,action,role", list(_cases()))
def test_every_move_of_the_payment_machine(state, action, role, monkeypatch):
    check_move(PAYMENT, SimpleNamespace(state=state, id=1), action, role, ALLOWED.get((state, action, role)),
               monkeypatch)
