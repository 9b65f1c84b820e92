"""Revocation (撤销) of an issued certificate by the org, with a reason.

The record keeps its number: the number's unique constraint and the counter that never
goes back make sure it is never given to anyone else.
"""
from __future__ import annotations

from typing import Any

from ..core import clock, permissions
from ..core.errors import DomainError
from .models import CertificateRecord
from .states import CERTIFICATE

REASON_MAX = 500


def revoke(actor: Any, record_id: int, reason: str) -> CertificateRecord:
    """Revoke an issued certificate; public verification then says 已撤销 with the date."""
    permissions.require(actor, "certificates.revoke")
    record = permissions.get_for(actor, CertificateRecord, record_id)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写撤销原因", field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(f"撤销原因不能超过 {REASON_MAX} 个字", field="reason")
    CERTIFICATE.move(record, "revoke", actor, reason=reason)
    record.revoked_at = clock.now()
    record.revoke_reason = reason
    return record
