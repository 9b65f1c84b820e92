"""Every state machine: each allowed move works, each other move is refused."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from examadmin.catalog.states import CERTIFICATE, CertificateState
from examadmin.core.jobs import JOB, JobState
from examadmin.core.workflow import REGISTRY
from tests.workflow_table import check_move

ROLES = ["sysadmin", "org", "province", "city", "school", "candidate", None]  # None: the system

# (machine, state, action, role) -> expected target; everything not listed must be refused
ALLOWED = {
    ("certificate", CertificateState.ENABLED, "disable", "sysadmin"): CertificateState.DISABLED,
    ("certificate", CertificateState.ENABLED, "disable", "org"): CertificateState.DISABLED,
    ("certificate", CertificateState.DISABLED, "enable", "sysadmin"): CertificateState.ENABLED,
    ("certificate", CertificateState.DISABLED, "enable", "org"): CertificateState.ENABLED,
    ("job", JobState.QUEUED, "start", None): JobState.RUNNING,
    ("job", JobState.RUNNING, "finish", None): JobState.DONE,
    ("job", JobState.QUEUED, "fail", None): JobState.FAILED,
    ("job", JobState.RUNNING, "fail", None): JobState.FAILED,
}
MACHINES = {"certificate": CERTIFICATE, "job": JOB}


def _cases():
    for name, machine in MACHINES.items():
        actions = sorted({m.action for m in machine.moves})
        for state in machine.states:
            for action in actions:
                for role in ROLES:
                    yield name, state, action, role


@pytest.mark.parametrize("name,state,action,role", list(_cases()))
def test_every_move(name, state, action, role, monkeypatch):
    check_move(MACHINES[name], SimpleNamespace(state=state, id=1), action, role,
               ALLOWED.get((name, state, action, role)), monkeypatch)


def test_workflows_command_prints_every_machine(cli):
    out = cli.invoke(args=["workflows"]).output
    for machine in REGISTRY:
        assert f"== {machine.name}" in out
    assert "启用" in out and "排队中" in out
