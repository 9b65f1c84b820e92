"""The state machine of an issued certificate (证书发放), DOMAIN.md §10, and of paper batches."""
from __future__ import annotations

from enum import StrEnum

from ..core.workflow import Workflow


class CertificateState(StrEnum):
    ORG_SIGNING = "待评价组织签发"
    SITE_SIGNING = "考核站点待签发"
    READY = "待发放"
    GENERATING = "证书生成中"
    ISSUED = "已发放"
    REVOKED = "已撤销"


C = CertificateState
CERTIFICATE = Workflow(
    "certificate",
    C,
    moves=[
        # (from,           action,     to,             who may)
        (C.ORG_SIGNING,   "org_sign", C.SITE_SIGNING, "org"),      # stage one: the org checks the data and signs
        (C.SITE_SIGNING,  "site_sign", C.READY,       "school"),   # stage two: the school's signer scans the QR code
        (C.READY,         "issue",    C.GENERATING,   "org|sysadmin"),  # stage three: the org presses 发放 (or the CLI)
        (C.GENERATING,    "generated", C.ISSUED,      "system"),   # the e-certificate file exists
        (C.ISSUED,        "revoke",   C.REVOKED,      "org"),      # with a reason; the number is never reused
    ],
    action_labels={"org_sign": "评价组织签发", "site_sign": "考核站点签发", "issue": "发放",
                   "generated": "电子证书已生成", "revoke": "撤销"},
)


class PaperState(StrEnum):
    PRINTING = "印制中"
    SHIPPED = "已寄出"


P = PaperState
PAPER = Workflow(
    "paper_batch",
    P,
    moves=[(P.PRINTING, "ship", P.SHIPPED, "org")],   # with carrier and tracking number
    action_labels={"ship": "寄出"},
)
