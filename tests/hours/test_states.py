"""The hours review machine (学时审核): every allowed move works, every other is refused."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from examadmin.hours.states import HOURS, HoursState
from tests.workflow_table import check_move

ROLES = ["sysadmin", "org", "province", "city", "school", "candidate", None]  # None: the system
H = HoursState

# (state, action, role) -> expected target; everything not listed must be refused
ALLOWED = {
    **{(H.PENDING, "verify", r): H.VERIFIED for r in ("school", "org")},
    **{(H.PENDING, "return", r): H.RETURNED for r in ("school", "org")},
    (H.RETURNED, "resubmit", "candidate"): H.PENDING,
}


def _cases():
    for state in H:
        for action in sorted({m.action for m in HOURS.moves}):
            for role in ROLES:
                yield state, action, role


@pytest.mark.parametrize("state,action,role", list(_cases()))
def test_every_move_of_the_hours_machine(state, action, role, monkeypatch):
    check_move(HOURS, SimpleNamespace(state=state, id=1), action, role, ALLOWED.get((state, action, role)),
               monkeypatch)


def test_verified_is_final():
    record = SimpleNamespace(state=H.VERIFIED, id=1)
    assert not any(HOURS.actions_for(record, SimpleNamespace(role=role)) for role in ROLES if role)
