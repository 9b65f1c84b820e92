"""Verification of candidates (认证, DOMAIN.md §4) behind one verifier interface.

A verifier answers one question: what, if anything, is wrong with this candidate's
identity data? `check(candidate)` returns the reasons in Chinese; an empty list means the
candidate passes. The services below move the candidate through the workflow
(信息待认证 | 需人工确认 → 认证中 → 信息准确 | 需人工确认) and never care which verifier ran.

What is checked here, honestly: the built-in verifier (`BuiltinVerifier`) checks what the
system can check by itself — the 居民身份证 number (length, region, birth date, ISO 7064
check character), that birth date and gender agree with it, and that a photo is stored,
readable and a JPEG of the standard 358×441. It cannot tell whether the photo shows the
person the number belongs to: that is the nationwide check against the public-security
photo database (全国人像比对), an outside service that is NOT connected in this system.

Plugging in an outside service:
1. Subclass `PhotoServiceVerifier` and implement `compare(candidate, photo) -> list[str]`
   (call the service with name, ID number and the JPEG bytes; return its reasons, empty
   when it confirms the person). Raise `ServiceUnavailable` when it cannot answer: the
   candidate then fails with a message saying to try again later, and stays retryable
   (需人工确认 → 申请认证), because a timeout is not proof that the data is wrong.
   The built-in checks run first; the service is asked only when they pass.
2. Register it: `register_verifier("gongan", MyServiceVerifier)` in a module the app
   imports, or name it by dotted path without registering.
3. Choose it with the setting `CANDIDATE_VERIFIER` (environment, read in config.py):
   `builtin` (the default), a registered name, or `package.module:ClassName`.
Batch verification runs as a background job, so a slow service does not block a page.
"""
from __future__ import annotations

import importlib
import warnings
from typing import Any, Callable, Protocol

from flask import current_app
from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select

from ..core import clock, idcard, jobs, permissions
from ..core.errors import DomainError
from ..core.locks import lock_row
from ..core.storage import get_storage
from ..extensions import db
from .models import Candidate, IdType
from .services import get_candidate
from .states import CANDIDATE, CandidateState

#: the standard photo: JPEG, width × height in pixels (the photo import produces it)
STANDARD_PHOTO_SIZE = (358, 441)
#: a candidate whose state allows 申请认证
VERIFIABLE = (CandidateState.PENDING, CandidateState.NEEDS_REVIEW)
#: the note of a manual confirmation (人工确认), kept in the audit log
MAX_NOTE = 500


class Verifier(Protocol):
    #: shown on the candidate page, so users know what was (and was not) checked
    label: str

    def check(self, candidate: Candidate) -> list[str]:
        """The reasons why the candidate's data cannot be accepted; empty when it passes."""
        ...


class BuiltinVerifier:
    """What the system checks by itself: ID number, birth date, gender, the photo."""

    label = "本系统校验：证件号码、出生日期、性别、照片（未接入全国人像比对）"

    def check(self, candidate: Candidate) -> list[str]:
        return self.check_identity(candidate) + self.check_photo(candidate)

    def check_identity(self, candidate: Candidate) -> list[str]:
        reasons = []
        if not (candidate.name or "").strip():
            reasons.append("姓名为空")
        number = candidate.id_number or ""
        if candidate.id_type != IdType.RESIDENT:
            if not number:
                reasons.append("证件号码为空")
            if candidate.gender not in ("男", "女"):
                reasons.append("性别未填写")
            return reasons
        try:
            info = idcard.parse(number, today=clock.now().date())
        except idcard.IdCardError as exc:
            return reasons + [str(exc)]
        if candidate.birth_date != info.birth_date:
            shown = candidate.birth_date.isoformat() if candidate.birth_date else "未填写"
            reasons.append(f"出生日期（{shown}）与身份证号码不符（号码显示为 {info.birth_date.isoformat()}）")
        if candidate.gender != info.gender:
            reasons.append(f"性别（{candidate.gender or '未填写'}）与身份证号码不符（号码显示为{info.gender}）")
        return reasons

    def check_photo(self, candidate: Candidate) -> list[str]:
        if not candidate.photo_key:
            return ["没有照片：请先上传考生照片"]
        storage = get_storage()
        if not storage.exists(candidate.photo_key):
            return ["照片文件缺失：请重新上传考生照片"]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(storage.path(candidate.photo_key)) as image:
                    kind, size = image.format, image.size
                    image.load()  # a truncated or corrupt file fails here, not at printing time
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
                SyntaxError, ValueError):
            return ["照片无法读取（文件已损坏或不是图片）：请重新上传"]
        reasons = []
        if kind != "JPEG":
            reasons.append(f"照片格式为 {kind}，应为 JPEG：请重新上传")
        if size != STANDARD_PHOTO_SIZE:
            w, h = STANDARD_PHOTO_SIZE
            reasons.append(f"照片尺寸为 {size[0]}×{size[1]} 像素，应为 {w}×{h} 像素：请重新上传")
        return reasons


class ServiceUnavailable(Exception):
    """The outside service could not answer (timeout, outage); not a verdict on the data."""


class PhotoServiceVerifier(BuiltinVerifier):
    """The base for an outside public-security photo service (全国人像比对); none is connected.

    The built-in checks run first; only a candidate that passes them is sent to the
    service, with the stored standard photo. Subclasses implement `compare`.
    """

    label = "本系统校验 + 全国人像比对"
    #: shown when the service cannot answer; the school may ask again later
    UNAVAILABLE = "全国人像比对服务暂时无法访问，未能完成比对：请稍后重新申请认证"

    def check(self, candidate: Candidate) -> list[str]:
        reasons = super().check(candidate)
        if reasons:
            return reasons
        photo = get_storage().read(candidate.photo_key)
        try:
            return list(self.compare(candidate, photo))
        except ServiceUnavailable:
            return [self.UNAVAILABLE]

    def compare(self, candidate: Candidate, photo: bytes) -> list[str]:
        """Ask the service whether name, ID number and photo belong to one person."""
        raise NotImplementedError("接入全国人像比对服务时实现此方法")


#: name -> factory of a verifier; the setting CANDIDATE_VERIFIER chooses one
VERIFIERS: dict[str, Callable[[], Verifier]] = {"builtin": BuiltinVerifier}


def register_verifier(name: str, factory: Callable[[], Verifier]) -> None:
    """Make a verifier choosable by name in the setting CANDIDATE_VERIFIER."""
    VERIFIERS[name] = factory


def get_verifier() -> Verifier:
    """The verifier the setting CANDIDATE_VERIFIER names (default: the built-in one)."""
    name = (current_app.config.get("CANDIDATE_VERIFIER") or "builtin").strip()
    factory = VERIFIERS.get(name)
    if factory is None:
        if ":" not in name:
            raise RuntimeError(f"CANDIDATE_VERIFIER={name!r}: unknown verifier (known: {', '.join(VERIFIERS)})")
        module, _, attr = name.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    return factory()


# ---- services -----------------------------------------------------------------------------

def _run_check(candidate: Candidate, verifier: Verifier) -> list[str]:
    """Run the verifier on a candidate in 认证中 and move it, as the system, to its result.

    `verified_at` is the time of the last result (pass, fail or manual confirmation).
    """
    reasons = [str(r) for r in verifier.check(candidate)]
    candidate.verified_at = clock.now()
    if reasons:
        candidate.verify_reasons = reasons
        CANDIDATE.move(candidate, "fail", None, reason="；".join(reasons))
    else:
        candidate.verify_reasons = None
        CANDIDATE.move(candidate, "pass", None)
    return reasons


def _verify(actor: Any, candidate: Candidate, verifier: Verifier) -> list[str]:
    CANDIDATE.move(candidate, "verify", actor)
    return _run_check(candidate, verifier)


def request_verification(actor: Any, candidate_id: int) -> Candidate:
    """申请认证 of one candidate: the check runs at once; the candidate ends 信息准确 or 需人工确认."""
    permissions.require(actor, "candidates.verify")
    candidate = get_candidate(actor, candidate_id)
    lock_row(candidate)  # two clicks at once verify once
    if candidate.state not in VERIFIABLE:
        raise DomainError(f"考生「{candidate.name}」当前状态为「{candidate.state.value}」，不需要再申请认证")
    _verify(actor, candidate, get_verifier())
    db.session.flush()
    return candidate


def unconfirmable_reasons(candidate: Candidate) -> list[str]:
    """What no person can vouch for: a missing, unreadable or non-standard photo.

    人工确认 overrides checks a person can judge (a number the school has checked against
    the card, the outside service being unreachable); a ticket and a certificate need a
    standard photo, so a photo problem is fixed by uploading one, never confirmed away.
    """
    return BuiltinVerifier().check_photo(candidate)


def confirm_manually(actor: Any, candidate_id: int, note: str) -> Candidate:
    """人工确认: the school has checked the failed reasons and vouches for the data (note audited)."""
    permissions.require(actor, "candidates.verify")
    candidate = get_candidate(actor, candidate_id)
    note = (note or "").strip()
    if not note:
        raise DomainError("请填写人工确认的说明（例如：已核对身份证原件，信息无误）", field="note")
    if len(note) > MAX_NOTE:
        raise DomainError(f"说明过长（最多 {MAX_NOTE} 个字）", field="note")
    lock_row(candidate)
    if candidate.state == CandidateState.NEEDS_REVIEW:
        photo = unconfirmable_reasons(candidate)
        if photo:
            raise DomainError(f"照片问题不能人工确认（{'；'.join(photo)}）。请先上传符合规格的照片，再重新申请认证")
    CANDIDATE.move(candidate, "confirm", actor, reason=note)
    candidate.verified_at = clock.now()
    # Confirmed: the failed reasons no longer stand beside 信息准确 (the audit log keeps them).
    candidate.verify_reasons = None
    db.session.flush()
    return candidate


# ---- batch, as a job --------------------------------------------------------------------------

#: candidates verified per transaction in a batch: each is complete on its own, so a long
#: batch commits as it goes instead of holding the database's write lock throughout
BATCH_CHUNK = 200
#: failures listed in a batch job's result (the candidates list has them all)
MAX_FAILURES_SHOWN = 500


#: the most candidates one request may choose by id (a page shows far fewer)
MAX_CHOSEN = 1000


def start_verify_batch(actor: Any, ids: list[int] | None = None, *, all_pending: bool = False) -> jobs.Job:
    """Record a 批量认证 job: the chosen candidates, or every 信息待认证 one of the school."""
    permissions.require(actor, "candidates.verify")
    if all_pending:
        count = db.session.scalar(
            select(func.count()).select_from(Candidate).where(permissions.scope_clause(actor, Candidate))
            .where(Candidate.hidden.is_(False), Candidate.state == CandidateState.PENDING))
        if not count:
            raise DomainError("没有「信息待认证」的考生")
        params: dict[str, Any] = {"all_pending": True}
        title = f"批量认证（全部信息待认证，{count} 人）"
    else:
        # ids beyond 64 bits name no candidate (and SQLite cannot even bind them)
        clean = sorted({n for n in (int(i) for i in ids or [] if str(i).strip().isdigit())
                        if 0 < n <= permissions.MAX_ID})
        if not clean:
            raise DomainError("请先勾选要认证的考生")
        if len(clean) > MAX_CHOSEN:
            raise DomainError(f"一次最多勾选 {MAX_CHOSEN} 名考生；要认证全部待认证考生，请用「全部信息待认证」")
        params = {"ids": clean}
        title = f"批量认证（所选 {len(clean)} 人）"
    return jobs.submit(actor, "candidate_verify", params, title=title)


def _batch_ids(actor: Any, params: dict) -> list[int]:
    query = (select(Candidate.id).where(permissions.scope_clause(actor, Candidate))
             .where(Candidate.hidden.is_(False)).order_by(Candidate.id))
    if params.get("all_pending"):
        query = query.where(Candidate.state == CandidateState.PENDING)
    else:
        query = query.where(Candidate.id.in_(params.get("ids") or []))
    return list(db.session.scalars(query))


def verify_batch(actor: Any, params: dict, progress: Callable[[int, int], None] | None = None,
                 *, commit: bool = False) -> dict[str, Any]:
    """Verify many candidates (the body of the job); candidates outside the scope are not seen.

    Candidates not waiting for verification (already 信息准确, say) are skipped and counted.
    With `commit` (the job) each chunk is committed as it is done.
    """
    permissions.require(actor, "candidates.verify")
    verifier = get_verifier()
    wanted = params.get("ids") or []
    ids = _batch_ids(actor, params)
    total = len(ids)
    result: dict[str, Any] = {"total": total, "passed": 0, "failed": 0, "skipped": 0, "failures": [],
                              "not_found": max(len(wanted) - total, 0) if wanted else 0}
    done = 0
    for start in range(0, total, BATCH_CHUNK):
        chunk = ids[start:start + BATCH_CHUNK]
        for candidate in db.session.scalars(
                select(Candidate).where(Candidate.id.in_(chunk)).order_by(Candidate.id).with_for_update()):
            if candidate.state not in VERIFIABLE:
                result["skipped"] += 1
            else:
                reasons = _verify(actor, candidate, verifier)
                if reasons:
                    result["failed"] += 1
                    if len(result["failures"]) < MAX_FAILURES_SHOWN:
                        result["failures"].append({"id": candidate.id, "name": candidate.name, "reasons": reasons})
                else:
                    result["passed"] += 1
            done += 1
        db.session.flush()
        if commit:
            db.session.commit()
        if progress:
            progress(done, total)
    return result


def summary(result: dict[str, Any]) -> str:
    """One line for the job page, e.g. 认证 11 人：通过 5，需人工确认 6."""
    text = f"认证 {result['total']} 人：通过 {result['passed']}，需人工确认 {result['failed']}"
    if result["skipped"]:
        text += f"，跳过 {result['skipped']} 人（不在待认证状态）"
    if result.get("not_found"):
        text += f"，{result['not_found']} 人不存在或已删除"
    return text
