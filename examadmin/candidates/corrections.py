"""Corrections of locked data (信息更正, DOMAIN.md §4).

At 信息准确 a candidate's name and ID number are locked. The school asks for a change with
the new values, a reason and a letter (函件: PDF, JPEG or PNG); the org approves (the
candidate's data changes, audited with before and after) or rejects with a reason. One
pending request per candidate at a time; requests and letters are kept, never erased.
"""
from __future__ import annotations

from datetime import date
from enum import Enum
from pathlib import PurePath
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..core import audit, clock, idcard, permissions
from ..core.errors import DomainError
from ..core.locks import lock_row
from ..core.roles import Role
from ..core.unique import unique_writes
from ..core.storage import get_storage, upload_name
from ..extensions import db
from .fields import LABELS, SchoolContext, check_fields
from .models import Candidate, CandidateKind, CorrectionRequest, IdType
from .services import get_candidate, hidden_message
from .states import CORRECTION, CorrectionState

#: the fields a correction may change; gender and birth date follow a new 居民身份证 number
CORRECTABLE = ("name", "id_type", "id_number")
FOLLOWING = ("gender", "birth_date")
#: the largest letter accepted
MAX_LETTER_BYTES = 10 * 1024 * 1024
MAX_REASON = 1000
#: (magic bytes at the start of the file, storage suffix, MIME type, label)
LETTER_TYPES = (
    (b"%PDF-", ".pdf", "application/pdf", "PDF"),
    (b"\xff\xd8\xff", ".jpg", "image/jpeg", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", ".png", "image/png", "PNG"),
)
MIME_BY_SUFFIX = {suffix: mime for _, suffix, mime, _ in LETTER_TYPES}
FIELD_LABELS = {**LABELS, "birth_date": "出生日期"}


def letter_type(data: bytes) -> tuple[str, str] | None:
    """(suffix, MIME type) of a letter judged by its first bytes, never by its name; None if refused."""
    for magic, suffix, mime, _ in LETTER_TYPES:
        if data.startswith(magic):
            return suffix, mime
    return None


def _check_letter(name: str, data: bytes) -> tuple[str, str]:
    if not data:
        raise DomainError("请上传函件（PDF、JPEG 或 PNG）", field="letter")
    if len(data) > MAX_LETTER_BYTES:
        raise DomainError(f"函件「{name}」超过 {MAX_LETTER_BYTES // (1024 * 1024)} MB，请压缩后再上传", field="letter")
    kind = letter_type(data)
    if kind is None:
        raise DomainError(f"函件「{name}」不是 PDF、JPEG 或 PNG 文件（按文件内容判断，与扩展名无关）", field="letter")
    return kind


def _new_values(candidate: Candidate, raw: dict[str, Any]) -> dict[str, Any]:
    """The new name and ID with the field rules of the form and import; only what changes."""
    id_type_text = str(raw.get("id_type") or candidate.id_type.value)
    resident = id_type_text in (IdType.RESIDENT.value, "身份证", "二代身份证")
    checked = check_fields(SchoolContext(candidate.school), {
        "name": raw["name"] if "name" in raw else candidate.name, "id_type": id_type_text,
        "id_number": raw["id_number"] if "id_number" in raw else candidate.id_number,
        # A 居民身份证 number decides the gender; for other papers the candidate's stays.
        "gender": "" if resident else candidate.gender,
        "kind": CandidateKind.SOCIAL.value,  # the student fields are not part of a correction
    })
    for field_name, message in checked.errors:
        if field_name in CORRECTABLE or field_name in FOLLOWING:
            raise DomainError(message, field=field_name if field_name in CORRECTABLE else "id_number")
    clean = checked.values
    wanted = {name: clean[name] for name in CORRECTABLE}
    if clean["id_type"] == IdType.RESIDENT:
        wanted.update(gender=clean["gender"], birth_date=clean["birth_date"])
    elif (clean["id_type"], clean["id_number"]) != (candidate.id_type, candidate.id_number):
        wanted["birth_date"] = candidate.birth_date  # another paper: the date stays as recorded
    changed = {k: v for k, v in wanted.items() if v != getattr(candidate, k)}
    if not any(k in changed for k in CORRECTABLE):
        raise DomainError("新的姓名和证件信息与现有信息相同，无需更正", field="name")
    return changed


def _refuse_clash(candidate: Candidate, values: dict[str, Any]) -> None:
    id_type = values.get("id_type", candidate.id_type)
    number = values.get("id_number", candidate.id_number)
    if (id_type, number) == (candidate.id_type, candidate.id_number):
        return
    other = db.session.scalar(select(Candidate).where(
        Candidate.school_id == candidate.school_id, Candidate.id_type == id_type,
        Candidate.id_number == number, Candidate.id != candidate.id))
    if other is not None:
        if other.hidden:
            raise DomainError(hidden_message(number), field="id_number")
        raise DomainError(f"本校已有证件号码为 {idcard.mask(number)} 的考生（{other.name}），不能更正为该号码",
                          field="id_number")


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe values (enums by value, dates as ISO text), as stored in the request."""
    return {k: v.value if isinstance(v, Enum) else v.isoformat() if isinstance(v, date) else v
            for k, v in values.items()}


def pending_for(candidate: Candidate) -> CorrectionRequest | None:
    return db.session.scalar(select(CorrectionRequest).where(
        CorrectionRequest.candidate_id == candidate.id, CorrectionRequest.state == CorrectionState.PENDING))


def file_correction(actor: Any, candidate_id: int, raw: dict[str, Any], reason: str, letter_name: str,
                    letter_data: bytes) -> CorrectionRequest:
    """The school asks to change a locked candidate's name or ID, with a reason and a letter."""
    permissions.require(actor, "candidates.correct")
    candidate = get_candidate(actor, candidate_id)
    lock_row(candidate)  # one pending request, even when sent twice at once
    if not candidate.locked:
        raise DomainError(f"考生「{candidate.name}」尚未认证为「信息准确」，姓名和证件号码未锁定，可直接修改，无需更正申请")
    pending = pending_for(candidate)
    if pending is not None:
        raise DomainError(f"该考生已有一份待审核的信息更正申请（{pending.created_at:%Y-%m-%d %H:%M} 提交），"
                          "请等待评价组织处理后再提交")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写更正原因", field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(f"更正原因过长（最多 {MAX_REASON} 个字）", field="reason")
    values = _new_values(candidate, raw)
    _refuse_clash(candidate, values)
    suffix, _ = _check_letter(letter_name, letter_data)
    storage = get_storage()
    key = storage.save(storage.new_key("letters", suffix), letter_data)
    request = CorrectionRequest(
        candidate_id=candidate.id, school_id=candidate.school_id, new_values=_plain(values),
        old_values=_plain({k: getattr(candidate, k) for k in values}), reason=reason, letter_key=key,
        letter_name=upload_name(letter_name, suffix, "函件"), state=CorrectionState.PENDING)
    db.session.add(request)
    db.session.flush()
    audit.record(actor, "correction.create", request, after={
        "candidate_id": candidate.id, "old": request.old_values, "new": request.new_values, "reason": reason,
        "letter": request.letter_name})
    return request


def get_correction(actor: Any, correction_id: int) -> CorrectionRequest:
    permissions.require(actor, "candidates.view")
    return permissions.get_for(actor, CorrectionRequest, correction_id)


def list_corrections(actor: Any, *, state: str = "", q: str = "", school_id: int | None = None,
                     candidate_id: int | None = None):
    """Requests in scope (a school its own, the org all), newest first, searchable by candidate."""
    permissions.require(actor, "candidates.view")
    query = (permissions.scoped(actor, select(CorrectionRequest))
             .join(Candidate, Candidate.id == CorrectionRequest.candidate_id)
             .options(selectinload(CorrectionRequest.candidate).selectinload(Candidate.school))
             .order_by(CorrectionRequest.created_at.desc(), CorrectionRequest.id.desc()))
    if state:
        try:
            query = query.where(CorrectionRequest.state == CorrectionState(state))
        except ValueError:
            pass
    if q:
        text = q.strip()
        query = query.where(or_(Candidate.name.contains(text), Candidate.id_number == idcard.normalise(text)))
    if school_id:
        query = query.where(CorrectionRequest.school_id == school_id)
    if candidate_id:
        query = query.where(CorrectionRequest.candidate_id == candidate_id)
    return query


def counts(actor: Any) -> dict[str, int]:
    rows = db.session.execute(
        select(CorrectionRequest.state, func.count()).where(permissions.scope_clause(actor, CorrectionRequest))
        .group_by(CorrectionRequest.state)).all()
    return {state.value: count for state, count in rows}


def _decidable(actor: Any, correction_id: int) -> CorrectionRequest:
    permissions.require(actor, "candidates.review_corrections")
    request = permissions.get_for(actor, CorrectionRequest, correction_id)
    lock_row(request)  # two reviewers at once decide once
    return request


def approve_correction(actor: Any, correction_id: int, note: str = "") -> CorrectionRequest:
    """The org approves: the candidate's data changes (audited before → after)."""
    request = _decidable(actor, correction_id)
    if request.state != CorrectionState.PENDING:
        raise DomainError(f"该申请的状态为「{request.state.value}」，不能再审核")
    candidate = request.candidate
    if candidate.hidden:
        raise DomainError("该考生已被院校删除：请先恢复考生，或驳回此申请")
    current = _plain({k: getattr(candidate, k) for k in request.old_values})
    if current != request.old_values:
        raise DomainError("考生信息在申请提交后已发生变化，请驳回此申请，由院校按现有信息重新提交")
    new = dict(request.new_values)
    values = _new_values(candidate, new)  # the rules again: the catalogue of rules may have changed
    _refuse_clash(candidate, values)
    before = _plain({k: getattr(candidate, k) for k in values})
    with unique_writes(lambda: _refuse_clash(candidate, values), field="id_number"):
        for name, value in values.items():
            setattr(candidate, name, value)
    note = (note or "").strip()[:MAX_REASON]
    CORRECTION.move(request, "approve", actor, reason=note or None)
    request.decision_note = note or None
    request.decided_at = clock.now()
    audit.record(actor, "candidate.correct", candidate, before=before,
                 after={**_plain(values), "correction_id": request.id})
    db.session.flush()
    return request


def reject_correction(actor: Any, correction_id: int, reason: str) -> CorrectionRequest:
    """The org rejects with a reason the school reads; the candidate stays as it was."""
    request = _decidable(actor, correction_id)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写驳回原因", field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(f"驳回原因过长（最多 {MAX_REASON} 个字）", field="reason")
    CORRECTION.move(request, "reject", actor, reason=reason)
    request.decision_note = reason
    request.decided_at = clock.now()
    db.session.flush()
    return request


def letter_file(actor: Any, correction_id: int) -> tuple[str, str, str]:
    """(local path, MIME type, download name) of a request's letter, for whoever may see the request."""
    request = get_correction(actor, correction_id)
    storage = get_storage()
    if not storage.exists(request.letter_key):
        raise DomainError("函件文件缺失")
    suffix = PurePath(request.letter_key).suffix
    return str(storage.path(request.letter_key)), MIME_BY_SUFFIX.get(suffix, "application/octet-stream"), \
        upload_name(request.letter_name, suffix, "函件")  # also names stored before the rule


def shows_whole_id(actor: Any, request: CorrectionRequest) -> bool:
    """The correction review shows whole ID numbers to the org and the owning school only (DOMAIN.md)."""
    return actor.role == Role.ORG or (actor.role == Role.SCHOOL and actor.school_id == request.school_id)


def describe(values: dict[str, Any], *, whole_id: bool = False) -> list[tuple[str, Any]]:
    """(Chinese label, value) pairs for pages; the ID number masked unless `whole_id`."""
    order = [*CORRECTABLE, *FOLLOWING]
    return [(FIELD_LABELS.get(k, k), values[k] if whole_id or k != "id_number" else idcard.mask(values[k]))
            for k in order if k in values]
