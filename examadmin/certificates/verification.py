"""Public verification of a certificate (证书查询), by number + ID number or by the QR code's URL.

No account is needed and only these two things are asked. A number whose check character
does not hold is refused before any lookup; every other mismatch (unknown number, wrong ID
number, a record not issued yet) answers the same 未找到, so an answer never reveals whether
an ID number exists. Each lookup that found a certificate is written to its history.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..catalog.models import CertificateLevel
from ..core import audit, idcard, permissions
from ..core.audit import AuditLog
from ..core.errors import DomainError
from ..extensions import db
from . import numbers, signing, validity
from .models import CertificateRecord, Verification
from .states import CertificateState

log = logging.getLogger(__name__)

BY_NUMBER = "编号查询"
BY_QR = "扫码查询"

NOT_FOUND = "未找到"
MISTYPED = "证书编号有误"
VALID = "有效"
REVOKED = "已撤销"
BROKEN = "签名无效"
#: the record was revoked (the audit trail says so) but its state no longer says 已撤销
ANOMALY = "记录异常"

#: Functions (a typed number, cleaned) -> a hint when it is another kind of number (a later area's,
#: e.g. renewals' 再登记编号), else None; asked before the check character is judged.
OTHER_NUMBERS: list = []

#: states in which a certificate exists for the public
_PUBLIC_STATES = (CertificateState.ISSUED, CertificateState.REVOKED)


@dataclass
class Answer:
    """What a verifier is told. `found` False carries only a message."""

    found: bool
    status: str
    message: str
    name: str = ""
    id_number_masked: str = ""
    certificate: str = ""
    level: str = ""
    number: str = ""
    issue_date: date | None = None
    org_name: str = ""
    state: str = ""
    revoked_at: datetime | None = None
    signature_ok: bool | None = None
    #: the registration validity (有效, 待再登记, 已再登记, 未再登记, 已失效) and its last valid day
    validity: str = ""
    valid_until: date | None = None
    #: 再登记编号 of the re-registration that set `valid_until`, when there was one
    registration_number: str = ""

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["issue_date"] = self.issue_date.isoformat() if self.issue_date else None
        data["valid_until"] = self.valid_until.isoformat() if self.valid_until else None
        data["revoked_at"] = self.revoked_at.isoformat(timespec="seconds") if self.revoked_at else None
        return data


def _not_found() -> Answer:
    return Answer(False, NOT_FOUND, "未找到与所填证书编号和证件号码相符的证书，请核对后重试。")


def _unknown_code() -> Answer:
    # Opening a QR code's URL fills in nothing, so "所填" would mislead; the text is the same for
    # every unknown code (and a record not issued yet), so that codes cannot be probed.
    return Answer(False, NOT_FOUND, "未找到该证书：二维码无效或已损坏，请用证书编号和证件号码查验。")


def _load(clause) -> CertificateRecord | None:
    return db.session.scalar(
        select(CertificateRecord)
        .options(joinedload(CertificateRecord.certificate_level).joinedload(CertificateLevel.certificate))
        .where(clause, CertificateRecord.state.in_(_PUBLIC_STATES)))


def _revoked_in_the_audit_trail(record: CertificateRecord) -> bool:
    """True when the audit trail holds a revocation of the record (an index on entity type and id)."""
    return db.session.scalar(
        select(AuditLog.id).where(AuditLog.entity_type == CertificateRecord.__tablename__,
                                  AuditLog.entity_id == record.id, AuditLog.action == "certificate.revoke")
        .limit(1)) is not None


def revoked_but_not_in_state(record: CertificateRecord) -> bool:
    """记录异常: the audit trail holds a revocation of the record, yet its state is not 已撤销
    (the revocation was undone in the database)."""
    return record.state != CertificateState.REVOKED and _revoked_in_the_audit_trail(record)


def anomalies(records: list[CertificateRecord]) -> set[int]:
    """The ids among `records` that are 记录异常 (see `revoked_but_not_in_state`), in one query."""
    ids = [r.id for r in records if r.state != CertificateState.REVOKED]
    if not ids:
        return set()
    return set(db.session.scalars(
        select(AuditLog.entity_id).where(AuditLog.entity_type == CertificateRecord.__tablename__,
                                         AuditLog.entity_id.in_(ids), AuditLog.action == "certificate.revoke")))


def _answer(record: CertificateRecord, channel: str, ip: str) -> Answer:
    signature_ok = signing.verify_signature(record)
    level = record.certificate_level
    # The signature does not cover the state (it changes after issue), so a revocation undone
    # in the database would verify 有效; the revocation's audit entry tells it apart.
    unrevoked = revoked_but_not_in_state(record)
    if not signature_ok:
        # The stored data no longer matches what was signed: never present it as valid.
        status, message = BROKEN, "该证书记录的电子签名校验未通过，证书数据可能被篡改，请勿采信，并联系发证机构核实。"
    elif unrevoked:
        log.error("certificate record %s was revoked but its state is %s: the database was altered",
                  record.id, record.state.value)
        audit.record(None, "certificate.state_anomaly", record, after={"state": record.state.value, "channel": channel})
        status, message = ANOMALY, ("该证书曾被发证机构撤销，但证书记录的状态与撤销记录不符（记录可能被篡改），"
                                    "请按已撤销对待，勿予采信，并联系发证机构核实。")
    elif record.state == CertificateState.REVOKED:
        status, message = REVOKED, f"该证书已于 {record.revoked_at:%Y-%m-%d} 被发证机构撤销，不再有效。"
    else:
        status, message = VALID, "证书真实有效，电子签名校验通过。"
    # a revoked certificate has no validity to show: 有效期至 beside 已撤销 would mislead
    current = validity.of_record(record) if record.state != CertificateState.REVOKED and not unrevoked else None
    if signature_ok and current is not None:
        until = f"{current.valid_until:%Y-%m-%d}"
        if current.state.value == "未再登记":
            status, message = current.state.value, (f"证书真实，但登记有效期已于 {until} 届满，持证人尚未办理再登记，"
                                                    "目前不在有效期内。")
        elif current.state.value == "已失效":
            status, message = current.state.value, f"证书真实，但登记有效期已于 {until} 届满且逾期未再登记，证书已失效。"
        else:
            message = f"证书真实有效，有效期至 {until}，电子签名校验通过。"
    db.session.add(Verification(record_id=record.id, school_id=record.school_id, channel=channel,
                                ip=(ip or "")[:64], answer=status))
    db.session.flush()
    return Answer(
        True, status, message, name=record.name, id_number_masked=idcard.mask(record.id_number),
        certificate=level.certificate.name, level=level.level.value, number=record.number or "",
        issue_date=record.issue_date, org_name=level.certificate.org_name,
        # 记录异常: the stored state is the altered one; say what it is to be taken as
        state=f"{ANOMALY}（按已撤销处理）" if unrevoked else record.state.value,
        revoked_at=record.revoked_at, signature_ok=signature_ok,
        validity=current.state.value if current is not None else "",
        valid_until=current.valid_until if current is not None else None,
        registration_number=getattr(current, "registration_number", "") if current is not None else "")


def _clean_number(typed: str | None) -> str:
    """A typed number without spaces (also full-width ones), in capitals; its form is numbers.py's business."""
    return "".join((typed or "")[:100].split()).upper()


def verify_by_number(number: str, id_number: str, *, ip: str = "") -> Answer:
    """Verify by certificate number and ID number (the official channel asks only these two)."""
    # bounded before any work on it: a longer input is no certificate number or ID number
    number = _clean_number(number)
    id_number = idcard.normalise((id_number or "")[:100])
    if not number or not id_number:
        raise DomainError("请填写证书编号和证件号码")
    if len(number) > 40 or len(id_number) > 30:
        return _not_found()
    for hint in OTHER_NUMBERS:
        message = hint(number)
        if message:
            return Answer(False, MISTYPED, message)
    if not numbers.is_well_formed(number):
        return Answer(False, MISTYPED, "证书编号有误：校验位不符，请核对后重新输入（注意区分数字 0 和字母 O）。")
    record = _load(CertificateRecord.number == number)
    if record is None or idcard.normalise(record.id_number) != id_number:
        return _not_found()
    return _answer(record, BY_NUMBER, ip)


def verify_by_code(code: str, *, ip: str = "") -> Answer:
    """Verify by the unguessable identifier in the QR code's URL."""
    if not code or len(code) > 64:
        return _unknown_code()
    record = _load(CertificateRecord.verify_code == code)
    if record is None:
        return _unknown_code()
    return _answer(record, BY_QR, ip)


def history(actor: Any, record_id: int) -> tuple[CertificateRecord, list[Verification]]:
    """A record and its verifications, newest first, for the org and the holder's school
    (whether the record is 记录异常: `revoked_but_not_in_state`)."""
    permissions.require(actor, "certificates.history")
    record = permissions.get_for(actor, CertificateRecord, record_id)
    rows = db.session.scalars(select(Verification).where(Verification.record_id == record.id)
                              .order_by(Verification.at.desc(), Verification.id.desc()).limit(500)).all()
    return record, list(rows)
