"""The check behind every table-driven state-machine test: a move listed as allowed lands
where the table says and is audited; any other move is refused, changes nothing, audits
nothing."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from examadmin.core.errors import DomainError


def check_move(machine, record, action, role, expected, monkeypatch) -> None:
    recorded = []
    monkeypatch.setattr("examadmin.core.audit.record", lambda *a, **k: recorded.append((a, k)))
    actor = SimpleNamespace(role=role, id=1, name="t") if role else None
    before = record.state
    if expected is None:
        with pytest.raises(DomainError, match="不能执行"):
            machine.move(record, action, actor)
        assert record.state == before and not recorded
    else:
        assert machine.move(record, action, actor) == expected
        assert record.state == expected
        assert recorded and recorded[0][0][1] == f"{machine.name}.{action}"
