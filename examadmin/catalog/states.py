"""State machines of the catalog area."""
from __future__ import annotations

from enum import StrEnum

from ..core.workflow import Workflow


class CertificateState(StrEnum):
    ENABLED = "启用"
    DISABLED = "停用"


S = CertificateState
CERTIFICATE = Workflow(
    "certificate",
    S,
    moves=[
        # (from,       action,    to,          who may)
        (S.ENABLED,    "disable", S.DISABLED,  "sysadmin|org"),
        (S.DISABLED,   "enable",  S.ENABLED,   "sysadmin|org"),
    ],
    action_labels={"disable": "停用", "enable": "启用"},
)
