"""The exam-site and exam-plan state machines: every allowed move works, every other is refused."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from examadmin.core.errors import DomainError
from examadmin.exams.states import EXAM_PLAN, PlanState
from examadmin.sites.states import EXAM_SITE, SiteState
from tests.workflow_table import check_move

ROLES = ["sysadmin", "org", "province", "city", "school", "candidate", None]  # None: the system
S, P = SiteState, PlanState

# (machine, state, action, role) -> expected target; everything not listed must be refused
ALLOWED = {
    **{("exam_site", S.PENDING, "approve", r): S.APPROVED for r in ("sysadmin", "org")},
    **{("exam_site", S.PENDING, "reject", r): S.REJECTED for r in ("sysadmin", "org")},
    ("exam_site", S.REJECTED, "resubmit", "school"): S.PENDING,
    **{("exam_site", S.APPROVED, "disable", r): S.DISABLED for r in ("sysadmin", "org")},
    **{("exam_site", S.DISABLED, "enable", r): S.APPROVED for r in ("sysadmin", "org")},
    **{("exam_plan", P.DRAFT, "publish", r): P.PUBLISHED for r in ("sysadmin", "org")},
    **{("exam_plan", P.PUBLISHED, "withdraw", r): P.DRAFT for r in ("sysadmin", "org")},
}
MACHINES = {"exam_site": EXAM_SITE, "exam_plan": EXAM_PLAN}


def _cases():
    for name, machine in MACHINES.items():
        for state in machine.states:
            for action in sorted({m.action for m in machine.moves}):
                for role in ROLES:
                    yield name, state, action, role


def _record(name, state, **guards):
    if name == "exam_plan":
        return SimpleNamespace(state=state, id=1, sessions=guards.get("sessions", [object()]),
                               has_rooms=guards.get("has_rooms", False))
    return SimpleNamespace(state=state, id=1)


@pytest.mark.parametrize("name,state,action,role", list(_cases()))
def test_every_move(name, state, action, role, monkeypatch):
    check_move(MACHINES[name], _record(name, state), action, role, ALLOWED.get((name, state, action, role)),
               monkeypatch)


@pytest.mark.parametrize("state,action,guards", [
    (P.DRAFT, "publish", {"sessions": []}),         # nothing to sit
    (P.PUBLISHED, "withdraw", {"has_rooms": True}),  # schools already built on it
])
def test_plan_guards_refuse(state, action, guards, monkeypatch):
    monkeypatch.setattr("examadmin.core.audit.record", lambda *a, **k: None)
    record = _record("exam_plan", state, **guards)
    with pytest.raises(DomainError):
        EXAM_PLAN.move(record, action, SimpleNamespace(role="org", id=1, name="t"))
    assert record.state == state


def test_the_workflows_command_prints_both(cli):
    out = cli.invoke(args=["workflows"]).output
    assert "== exam_site" in out and "== exam_plan" in out and "重新提交" in out
