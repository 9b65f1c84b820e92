"""The score publication and objection state machines: every allowed move works, every other is refused."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from examadmin.scores.states import OBJECTION, PUBLICATION, ObjectionState, PublicationStage
from tests.workflow_table import check_move

ROLES = ["sysadmin", "org", "province", "city", "school", "candidate", "proctor", None]  # None: the system
P, O = PublicationStage, ObjectionState

ALLOWED = {
    ("score_publication", P.ENTERING, "display", "org"): P.DISPLAY,
    ("score_publication", P.DISPLAY, "publish", "org"): P.FINAL,
    ("score_objection", O.OPEN, "answer", "org"): O.ANSWERED,
}
MACHINES = {"score_publication": PUBLICATION, "score_objection": OBJECTION}


class _Record:
    """A record of either machine; `state` mirrors the machine's field for the shared check."""

    def __init__(self, field, value):
        self._field, self.id, self.name = field, 1, "t"
        setattr(self, field, value)

    @property
    def state(self):
        return getattr(self, self._field)


def _cases():
    for name, machine in MACHINES.items():
        for state in machine.states:
            for action in sorted({m.action for m in machine.moves}):
                for role in ROLES:
                    yield name, state, action, role


@pytest.mark.parametrize("name, state, action, role", list(_cases()))
def test_every_move_of_the_score_machines(name, state, action, role, monkeypatch):
    machine = MACHINES[name]
    record = _Record(machine.field, state) if machine.field != "state" else SimpleNamespace(state=state, id=1, name="t")
    check_move(machine, record, action, role, ALLOWED.get((name, state, action, role)), monkeypatch)
