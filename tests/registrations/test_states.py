"""The registration state machine (报考): every allowed move works, every other is refused."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from examadmin.registrations.states import REGISTRATION, RegistrationState
from tests.workflow_table import check_move

ROLES = ["sysadmin", "org", "province", "city", "school", "candidate", None]  # None: the system
R = RegistrationState

# (state, action, role) -> expected target; everything not listed must be refused
ALLOWED = {
    **{(R.UNPAID, "pay", r): R.PAID for r in ("org", None)},
    (R.UNPAID, "lapse", None): R.LAPSED,
    **{(s, "cancel", r): R.CANCELLED for s in (R.UNPAID, R.PAID) for r in ("school", "org")},
    (R.SCHEDULED, "cancel", "org"): R.CANCELLED,
    **{(R.PAID, "schedule", r): R.SCHEDULED for r in ("school", "org", None)},
}


def _cases():
    for state in R:
        for action in sorted({m.action for m in REGISTRATION.moves}):
            for role in ROLES:
                yield state, action, role


@pytest.mark.parametrize("state,action,role", list(_cases()))
def test_every_move_of_the_registration_machine(state, action, role, monkeypatch):
    check_move(REGISTRATION, SimpleNamespace(state=state, id=1), action, role, ALLOWED.get((state, action, role)),
               monkeypatch)


def test_cancelled_and_lapsed_are_final():
    for state in (R.CANCELLED, R.LAPSED):
        record = SimpleNamespace(state=state, id=1)
        assert not any(REGISTRATION.actions_for(record, SimpleNamespace(role=role)) for role in ROLES if role)
