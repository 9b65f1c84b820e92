"""The certificate and paper-batch state machines: every allowed move and every forbidden one."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from examadmin.certificates.states import CERTIFICATE, PAPER, CertificateState as S, PaperState as P
from tests.workflow_table import check_move

ROLES = ["sysadmin", "org", "province", "city", "school", "candidate", "proctor", None]

ALLOWED = {
    (S.ORG_SIGNING, "org_sign", "org"): S.SITE_SIGNING,
    (S.SITE_SIGNING, "site_sign", "school"): S.READY,
    (S.READY, "issue", "org"): S.GENERATING,
    (S.READY, "issue", "sysadmin"): S.GENERATING,  # `examadmin certificates issue` at the console
    (S.GENERATING, "generated", None): S.ISSUED,
    (S.ISSUED, "revoke", "org"): S.REVOKED,
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["org_sign", "site_sign", "issue", "generated", "revoke"])
@pytest.mark.parametrize("state", list(S))
def test_every_certificate_move(state, action, role, monkeypatch):
    check_move(CERTIFICATE, SimpleNamespace(state=state, id=1), action, role, ALLOWED.get((state, action, role)),
               monkeypatch)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("state", list(P))
def test_every_paper_move(state, role, monkeypatch):
    expected = P.SHIPPED if (state, role) == (P.PRINTING, "org") else None
    check_move(PAPER, SimpleNamespace(state=state, id=1), "ship", role, expected, monkeypatch)
