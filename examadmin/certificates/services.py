"""Certificate issuance (证书发放): records, stage one (the org signs), stage two (the QR
sign-off by the school's signer), stage three (issue: numbers, signatures, e-certificates).

Every rule lives here; views, the CLI and jobs call these functions with the acting user.
Functions flush, never commit.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterable

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.exceptions import NotFound
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import joinedload

from ..candidates.models import Candidate
from ..catalog.models import Certificate, CertificateLevel, School
from ..core import audit, clock, jobs, permissions
from ..core.counts import capped_counts
from ..core.errors import DomainError
from ..core.locks import lock_row
from ..core.roles import Role
from ..exams.models import ExamPlan
from ..extensions import db
from ..registrations.models import Registration
from ..scores.models import Result, ScorePublication
from ..scores.states import PublicationStage
from ..sites.models import ExamSite
from . import numbers, signing
from .models import CertificateRecord, CertificateSeal, CertificateSignoff, NumberCounter
from .states import CERTIFICATE, CertificateState

log = logging.getLogger(__name__)
S = CertificateState

#: how long the QR code of a sign-off may be used (DOMAIN: "valid for a few minutes")
SIGNOFF_MINUTES = 5
SIGNOFF_SALT = "examadmin.certificate-signoff"
#: at most this many names are shown to the signer as a sample of the batch
SAMPLE_NAMES = 8


# ---- records ---------------------------------------------------------------------------------

def make_records(plan_id: int, actor: Any = None) -> int:
    """Make a record (待评价组织签发) for every passed result of a final plan that has none; idempotent.

    Returns how many were made. The issuing data is copied from the candidate now. A passer
    who already holds a record of the level that is not revoked gets none (one certificate per
    person and level; holders_without_new_record names them).
    """
    if actor is not None:  # None: the system, e.g. when the scores are published
        permissions.require(actor, "certificates.issue")
    plan = db.session.get(ExamPlan, int(plan_id))
    if plan is None:
        raise DomainError("找不到该考试计划")
    # two runs at once (two clicks, or a click during publication): the second waits here and
    # then finds the records made, instead of failing on the unique result_id
    lock_row(plan)
    stage = db.session.scalar(select(ScorePublication.stage).where(ScorePublication.plan_id == plan.id))
    if stage != PublicationStage.FINAL:
        raise DomainError(f"考试计划「{plan.name}」的成绩尚未发布，不能生成证书记录")
    rows = [r for r in _passed_without_record(plan.id) if not r.held]
    if not rows:
        return 0
    now = clock.now()
    values = [{
        "result_id": r.id, "registration_id": r.registration_id, "candidate_id": r.candidate_id,
        "plan_id": plan.id, "school_id": r.school_id, "site_id": r.site_id,
        "certificate_level_id": r.certificate_level_id, "name": r.name, "gender": r.gender,
        "id_type": r.id_type, "id_number": r.id_number, "verify_code": secrets.token_urlsafe(24),
        "state": S.ORG_SIGNING, "revoke_reason": "", "created_at": now,
    } for r in rows]
    db.session.execute(insert(CertificateRecord), values)
    audit.record(actor, "certificate.make_records", plan, after={"made": len(values)})
    return len(values)


def holds_the_level():
    """SQL, on a Result: its person already holds a record of its level that is not revoked
    (one person holds one certificate per level; someone who passed in two plans, registered in
    both before either was published, gets no second one). Persons are ID type and number, as
    registration reads them."""
    return select(CertificateRecord.id).where(
        CertificateRecord.id_type == Result.id_type, CertificateRecord.id_number == Result.id_number,
        CertificateRecord.certificate_level_id == Result.certificate_level_id,
        CertificateRecord.state != S.REVOKED).exists()


def _passed_without_record(plan_id: int) -> list:
    """The plan's passed results that have no certificate record yet, with the issuing data and
    whether the person holds the level already (`held`)."""
    return db.session.execute(
        select(Result.id, Result.registration_id, Registration.candidate_id, Result.school_id,
               Registration.site_id, Result.certificate_level_id, Candidate.name, Candidate.gender,
               Candidate.id_type, Candidate.id_number, holds_the_level().label("held"))
        .join(Registration, Registration.id == Result.registration_id)
        .join(Candidate, Candidate.id == Registration.candidate_id)
        .where(Result.plan_id == plan_id, Result.passed.is_(True))
        .where(~select(CertificateRecord.id).where(CertificateRecord.result_id == Result.id).exists())
        .order_by(Result.id)
    ).all()


def holders_without_new_record(actor: Any, plan_id: int) -> list[str]:
    """Names of the plan's passers who got no record because they hold one of that level already."""
    permissions.require(actor, "certificates.issue")
    return [r.name for r in _passed_without_record(int(plan_id)) if r.held]


#: filters the lists accept; unknown values are ignored
FILTERS = ("plan_id", "province_id", "school_id", "site_id", "certificate_level_id", "state")


def _clean_filters(filters: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key in FILTERS:
        value = filters.get(key)
        if value in (None, ""):
            continue
        if key == "state":
            try:
                clean[key] = CertificateState(value)
            except ValueError:
                continue
        else:
            number = permissions.parse_id(value)
            if number is not None:
                clean[key] = number
    return clean


def _filtered(actor: Any, query, filters: dict[str, Any]):
    query = permissions.scoped(actor, query, CertificateRecord)
    for key, value in filters.items():
        if key == "province_id":
            query = query.where(CertificateRecord.school_id.in_(
                select(School.id).where(School.province_id == value)))
        elif key != "state":
            query = query.where(getattr(CertificateRecord, key) == value)
    return query


def list_records(actor: Any, filters: dict[str, Any]):
    """The records in the actor's scope with the filters (state included), newest plan first."""
    permissions.require(actor, "certificates.view")
    clean = _clean_filters(filters)
    query = _filtered(actor, select(CertificateRecord), clean)
    if "state" in clean:
        query = query.where(CertificateRecord.state == clean["state"])
    return query.options(joinedload(CertificateRecord.school), joinedload(CertificateRecord.site),
                         joinedload(CertificateRecord.certificate_level).joinedload(CertificateLevel.certificate),
                         joinedload(CertificateRecord.plan)) \
        .order_by(CertificateRecord.plan_id.desc(), CertificateRecord.school_id, CertificateRecord.id)


def state_counts(actor: Any, filters: dict[str, Any]) -> dict[CertificateState, int]:
    """How many records per state in the actor's scope with the filters (state itself ignored),
    each at most COUNT_CAP + 1."""
    permissions.require(actor, "certificates.view")
    clean = _clean_filters(filters)
    clean.pop("state", None)
    # each count capped (core.counts): the org's tabs would otherwise read every record
    return capped_counts(_filtered(actor, select(CertificateRecord), clean), CertificateRecord.state,
                         list(CertificateState))


#: at most this many schools or sites are offered in a filter's drop-down; more: narrow first
CHOICES_MAX = 300


@dataclass
class FilterChoices:
    """The schools and sites the list's drop-downs offer: those with records in the actor's scope
    (and the plan and province chosen). None: too many to list, choose a plan or province first."""

    schools: list[School] | None
    sites: list[ExamSite] | None


def filter_choices(actor: Any, filters: dict[str, Any]) -> FilterChoices:
    """Schools (not for a school: it sees its own) and sites that have records in the actor's scope."""
    permissions.require(actor, "certificates.view")
    clean = _clean_filters(filters)
    narrowing = {k: v for k, v in clean.items() if k in ("plan_id", "province_id")}
    schools: list[School] | None = []
    if getattr(actor, "role", None) != Role.SCHOOL:
        ids = _filtered(actor, select(CertificateRecord.school_id), narrowing).distinct() \
            .order_by(CertificateRecord.school_id).limit(CHOICES_MAX + 1)
        schools = _named(School, ids)
    if "school_id" in clean:
        narrowing["school_id"] = clean["school_id"]
    ids = _filtered(actor, select(CertificateRecord.site_id), narrowing).distinct() \
        .order_by(CertificateRecord.site_id).limit(CHOICES_MAX + 1)
    return FilterChoices(schools, _named(ExamSite, ids))


def _named(model, id_query) -> list | None:
    ids = list(db.session.scalars(id_query))
    if len(ids) > CHOICES_MAX:
        return None
    return list(db.session.scalars(select(model).where(model.id.in_(ids)).order_by(model.name))) if ids else []


def get_record(actor: Any, record_id: Any) -> CertificateRecord:
    permissions.require(actor, "certificates.view")
    return permissions.get_for(actor, CertificateRecord, record_id)


# ---- stage one: the org signs ----------------------------------------------------------------

@dataclass
class BatchOutcome:
    """What a batch operation did: records moved and records refused, each with a reason."""

    done: list[CertificateRecord] = field(default_factory=list)
    refused: list[tuple[CertificateRecord, str]] = field(default_factory=list)

    @property
    def message(self) -> str:
        text = f"{len(self.done)} 份证书已处理"
        if self.refused:
            text += f"，{len(self.refused)} 份被拒绝：" + "；".join(
                f"{r.name}（{reason}）" for r, reason in self.refused[:5])
            if len(self.refused) > 5:
                text += " 等"
        return text


def _batch(actor: Any, plan_id: Any, site_id: Any, record_ids: Iterable[Any] | None,
           state: CertificateState) -> list[CertificateRecord]:
    """The records a batch operation works on, locked.

    Ticked records (record_ids not None, even empty: the 签发所选 form) are taken in any state,
    so that one whose state changed since the page was shown is refused by name. A plan (and
    site) batch takes only the records waiting in `state`: those already past it are not part
    of the batch, and listing them as refusals would make every later batch look half-failed.
    """
    query = permissions.scoped(actor, select(CertificateRecord), CertificateRecord)
    if record_ids is not None:
        ids = _clean_ids(record_ids)
        if not ids:
            raise DomainError("请先勾选证书记录")
        query = query.where(CertificateRecord.id.in_(ids))
    else:
        plan = _int_or_none(plan_id)
        if plan is None:
            raise DomainError("请选择考试计划")
        query = query.where(CertificateRecord.plan_id == plan, CertificateRecord.state == state)
        site = _int_or_none(site_id)
        if site is not None:
            query = query.where(CertificateRecord.site_id == site)
    return list(db.session.scalars(query.order_by(CertificateRecord.id).with_for_update()))


def _clean_ids(values: Iterable[Any]) -> list[int]:
    ids = []
    for value in values:
        number = _int_or_none(value)
        if number is not None:
            ids.append(number)
    return ids[:10_000]


def _int_or_none(value: Any) -> int | None:
    return permissions.parse_id(value)


def _check_issuing_data(record: CertificateRecord) -> str | None:
    """Why the issuing data cannot be signed as it is, or None."""
    if not record.name.strip():
        return "姓名为空"
    if record.gender not in ("男", "女"):
        return "性别无效"
    if not record.id_number:
        return "证件号码为空"
    return None


def org_sign(actor: Any, plan_id: Any = None, site_id: Any = None, record_ids: Iterable[Any] | None = None) -> BatchOutcome:
    """Stage one: the org checks the issuing data and signs a batch (a plan and site, or selected records).

    record_ids None: the plan's (and site's) 待评价组织签发 records; a list, even empty: the ticked ones.
    """
    permissions.require(actor, "certificates.org_sign")
    outcome = BatchOutcome()
    now = clock.now()
    batch = _batch(actor, plan_id, site_id, record_ids, S.ORG_SIGNING)
    if not batch:
        raise DomainError("没有待评价组织签发的证书" if record_ids is None else "没有符合条件的证书记录")
    for record in batch:
        if record.state != S.ORG_SIGNING:
            outcome.refused.append((record, f"当前状态为「{record.state.value}」"))
            continue
        problem = _check_issuing_data(record)
        if problem:
            outcome.refused.append((record, problem))
            continue
        CERTIFICATE.move(record, "org_sign", actor)
        record.org_signed_at, record.org_signed_by_id = now, getattr(actor, "id", None)
        outcome.done.append(record)
    return outcome


@dataclass
class PlanSteps:
    """What the org's three buttons on a plan's records would do now: a button that could only
    refuse is shown disabled with the reason (the services refuse all the same)."""

    #: the plan's scores are 成绩已发布 (records can be made)
    final: bool
    #: passed results without a record: 生成证书记录 makes these
    to_make: int
    #: records waiting for the org's signature, of the chosen site if one is
    org_signing: int
    #: records waiting for 发放
    ready: int
    #: the plan's certificate has its electronic seal (发放 needs it)
    sealed: bool


def plan_steps(actor: Any, plan_id: Any, site_id: Any = None) -> PlanSteps | None:
    """The counts behind the org's buttons for one plan (and site), in one statement; None for no plan."""
    permissions.require(actor, "certificates.view")
    plan = db.session.get(ExamPlan, _int_or_none(plan_id) or 0)
    if plan is None:
        return None
    site = _int_or_none(site_id)
    scoped = lambda *where: select(func.count(CertificateRecord.id)).where(  # noqa: E731
        permissions.scope_clause(actor, CertificateRecord), CertificateRecord.plan_id == plan.id, *where)
    signing = scoped(CertificateRecord.state == S.ORG_SIGNING)
    if site is not None:
        signing = signing.where(CertificateRecord.site_id == site)
    to_make = select(func.count(Result.id)).where(
        Result.plan_id == plan.id, Result.passed.is_(True), ~holds_the_level(),
        ~select(CertificateRecord.id).where(CertificateRecord.result_id == Result.id).exists())
    stage = select(ScorePublication.stage).where(ScorePublication.plan_id == plan.id)
    sealed = select(CertificateSeal.id).where(CertificateSeal.certificate_id == plan.certificate_id).exists()
    row = db.session.execute(select(stage.scalar_subquery(), to_make.scalar_subquery(), signing.scalar_subquery(),
                                    scoped(CertificateRecord.state == S.READY).scalar_subquery(), sealed)).one()
    final = row[0] == PublicationStage.FINAL
    return PlanSteps(final=final, to_make=row[1] or 0 if final else 0, org_signing=row[2] or 0,
                     ready=row[3] or 0, sealed=bool(row[4]))


# ---- stage two: the QR sign-off --------------------------------------------------------------

class SignoffRefused(DomainError):
    """A sign-off attempt that was refused; the view logs it after rolling back."""

    def __init__(self, message: str, reason: str, signoff_id: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.signoff_id = signoff_id


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SIGNOFF_SALT)


def waiting_batches(actor: Any) -> list[dict[str, Any]]:
    """The school's records in 考核站点待签发, grouped by plan and site, for the 签发 buttons."""
    permissions.require(actor, "certificates.view")
    query = permissions.scoped(actor, select(
        CertificateRecord.plan_id, CertificateRecord.site_id, func.count()), CertificateRecord) \
        .where(CertificateRecord.state == S.SITE_SIGNING) \
        .group_by(CertificateRecord.plan_id, CertificateRecord.site_id) \
        .order_by(CertificateRecord.plan_id, CertificateRecord.site_id)
    rows = db.session.execute(query).all()
    plans = {p.id: p for p in db.session.scalars(select(ExamPlan).where(ExamPlan.id.in_({r[0] for r in rows})))}
    sites = {s.id: s for s in db.session.scalars(select(ExamSite).where(ExamSite.id.in_({r[1] for r in rows})))}
    return [{"plan": plans[p], "site": sites[s], "count": n} for p, s, n in rows]


def start_signoff(actor: Any, plan_id: Any, site_id: Any) -> tuple[CertificateSignoff, str]:
    """The school presses 签发: a one-time token bound to its waiting batch, valid a few minutes."""
    permissions.require(actor, "certificates.site_sign")
    if actor.role != Role.SCHOOL or not actor.school_id:
        raise DomainError("只有试点院校可以发起考核站点签发")
    plan, site = _int_or_none(plan_id), _int_or_none(site_id)
    if plan is None or site is None:
        raise DomainError("请选择考试计划和考核站点")
    ids = list(db.session.scalars(
        select(CertificateRecord.id).where(CertificateRecord.school_id == actor.school_id,
                                           CertificateRecord.plan_id == plan,
                                           CertificateRecord.site_id == site,
                                           CertificateRecord.state == S.SITE_SIGNING)
        .order_by(CertificateRecord.id)))
    if not ids:
        raise DomainError("该考核站点没有待签发的证书")
    now = clock.now()
    signoff = CertificateSignoff(school_id=actor.school_id, plan_id=plan, site_id=site,
                                 token_id=secrets.token_urlsafe(24), record_ids=ids, created_at=now,
                                 created_by_id=actor.id, expires_at=now + timedelta(minutes=SIGNOFF_MINUTES))
    db.session.add(signoff)
    db.session.flush()
    audit.record(actor, "certificate_signoff.start", signoff, after={"records": len(ids)},
                 entity_type="certificate_signoff")
    token = _serializer().dumps({"t": signoff.token_id, "s": actor.school_id})
    return signoff, token


def _load_token(token: str) -> tuple[str, int]:
    if not isinstance(token, str) or len(token) > 500:
        raise SignoffRefused("签发二维码无效，请在院校端重新生成二维码。", "altered")
    try:
        data = _serializer().loads(token, max_age=SIGNOFF_MINUTES * 60)
    except SignatureExpired:
        raise SignoffRefused("签发二维码已过期，请在院校端重新生成二维码。", "expired")
    except BadSignature:
        raise SignoffRefused("签发二维码无效（已被篡改或不完整），请在院校端重新生成二维码。", "altered")
    if not isinstance(data, dict) or not isinstance(data.get("t"), str) or not isinstance(data.get("s"), int):
        raise SignoffRefused("签发二维码无效，请在院校端重新生成二维码。", "altered")
    return data["t"], data["s"]


def _check_signoff(actor: Any, token: str) -> CertificateSignoff:
    token_id, school_id = _load_token(token)
    signoff = db.session.scalar(select(CertificateSignoff).where(CertificateSignoff.token_id == token_id))
    if signoff is None or signoff.school_id != school_id:
        raise SignoffRefused("签发二维码无效，请在院校端重新生成二维码。", "unknown")
    if not permissions.can(actor, "certificates.site_sign"):
        # an org, province or candidate account that opens the QR code: refused like a
        # non-signer of the school, and logged (a plain 403 would leave no trace)
        raise SignoffRefused("只有院校的签发负责人可以扫码确认签发。", "not_signer", signoff.id)
    if getattr(actor, "role", None) != Role.SCHOOL or actor.school_id != signoff.school_id:
        raise SignoffRefused("该签发二维码属于其他院校，您无权确认。", "other_school", signoff.id)
    if not getattr(actor, "is_signer", False):
        raise SignoffRefused("只有本院校的签发负责人可以扫码确认签发。", "not_signer", signoff.id)
    if signoff.confirmed_at is not None:
        raise SignoffRefused("该签发二维码已被使用，不能重复确认。", "replayed", signoff.id)
    if clock.now() > signoff.expires_at:
        raise SignoffRefused("签发二维码已过期，请在院校端重新生成二维码。", "expired", signoff.id)
    return signoff


@dataclass
class SignoffSummary:
    signoff: CertificateSignoff
    plan: ExamPlan
    site: ExamSite | None
    count: int
    levels: list[str]
    sample: list[str]


def signoff_summary(actor: Any, token: str) -> SignoffSummary:
    """What the signer is about to confirm: plan, site, number, levels, a sample of names."""
    signoff = _check_signoff(actor, token)
    records = db.session.scalars(
        select(CertificateRecord).where(CertificateRecord.id.in_(signoff.record_ids))
        .options(joinedload(CertificateRecord.certificate_level).joinedload(CertificateLevel.certificate))
        .order_by(CertificateRecord.id)).all()
    levels = sorted({r.certificate_level.label for r in records})
    return SignoffSummary(signoff, signoff.plan, db.session.get(ExamSite, signoff.site_id) if signoff.site_id else None,
                          len(records), levels, [r.name for r in records[:SAMPLE_NAMES]])


def confirm_signoff(actor: Any, token: str, *, ip: str = "", device: str = "") -> BatchOutcome:
    """The signer confirms from the phone: the batch moves to 待发放; the token is used up.

    The token is taken with a conditional update, so of two confirmations at the same
    moment exactly one wins; the other is refused as a replay.
    """
    signoff = _check_signoff(actor, token)  # the permission too: a refusal is logged by the caller
    now = clock.now()
    taken = db.session.execute(
        update(CertificateSignoff)
        .where(CertificateSignoff.id == signoff.id, CertificateSignoff.confirmed_at.is_(None))
        .values(confirmed_at=now, confirmed_by_id=actor.id, confirmed_ip=(ip or "")[:64],
                confirmed_device=(device or "")[:300])
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise SignoffRefused("该签发二维码已被使用，不能重复确认。", "replayed", signoff.id)
    db.session.refresh(signoff)
    outcome = BatchOutcome()
    records = db.session.scalars(select(CertificateRecord).where(CertificateRecord.id.in_(signoff.record_ids))
                                 .order_by(CertificateRecord.id).with_for_update()).all()
    for record in records:
        if record.state != S.SITE_SIGNING or record.school_id != signoff.school_id:
            outcome.refused.append((record, f"当前状态为「{record.state.value}」"))
            continue
        CERTIFICATE.move(record, "site_sign", actor)
        record.signoff_id = signoff.id
        outcome.done.append(record)
    audit.record(actor, "certificate_signoff.confirm", signoff, entity_type="certificate_signoff",
                 after={"records": len(outcome.done), "ip": ip, "device": (device or "")[:120]})
    return outcome


def log_refusal(actor: Any, exc: SignoffRefused, *, ip: str = "", device: str = "") -> None:
    """Write a refused sign-off attempt to the log and the audit trail (after the caller rolled back)."""
    log.warning("certificate sign-off refused: %s (user %s, signoff %s, ip %s)",
                exc.reason, getattr(actor, "id", None), exc.signoff_id, ip)
    audit.record(actor, "certificate_signoff.refused", None, entity_type="certificate_signoff",
                 entity_id=exc.signoff_id, after={"reason": exc.reason, "message": exc.message, "ip": ip,
                                                  "device": (device or "")[:120]})


def signoff_status(actor: Any, signoff_id: Any) -> dict[str, Any]:
    """For the school's screen polling: confirmed, expired, by whom."""
    permissions.require(actor, "certificates.view")
    signoff = permissions.get_for(actor, CertificateSignoff, signoff_id)
    confirmed = signoff.confirmed_at is not None
    return {"confirmed": confirmed, "expired": not confirmed and clock.now() > signoff.expires_at,
            "count": len(signoff.record_ids)}


# ---- seals -----------------------------------------------------------------------------------

SEAL_MAX_BYTES = 2 * 1024 * 1024
SEAL_MAX_PIXELS = 4000 * 4000


def _image_kind(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    return None


def upload_seal(actor: Any, certificate_id: Any, data: bytes) -> CertificateSeal:
    """Store the org's electronic seal of a certificate: a PNG or JPEG, checked by its first bytes and decoded."""
    permissions.require(actor, "certificates.seal")
    certificate = permissions.get_for(actor, Certificate, certificate_id)
    if not data:
        raise DomainError("请选择印章图片文件", field="image")
    if len(data) > SEAL_MAX_BYTES:
        raise DomainError("印章图片不能超过 2 MB", field="image")
    kind = _image_kind(data)
    if kind is None:
        raise DomainError("印章文件不是 PNG 或 JPEG 图片", field="image")
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > SEAL_MAX_PIXELS or width < 50 or height < 50:
                raise DomainError("印章图片的尺寸应在 50×50 到 4000×4000 像素之间", field="image")
            image.load()
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError):
        raise DomainError("印章图片已损坏，无法读取", field="image")
    from ..core.storage import get_storage

    storage = get_storage()
    key = storage.save(storage.new_key("seals", f".{kind}"), data)
    seal = db.session.scalar(select(CertificateSeal).where(CertificateSeal.certificate_id == certificate.id))
    before = {"image_key": seal.image_key} if seal else None
    if seal is None:
        seal = CertificateSeal(certificate_id=certificate.id, image_key=key)
        db.session.add(seal)
    seal.image_key, seal.uploaded_at, seal.uploaded_by_id = key, clock.now(), getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "certificate_seal.upload", certificate, before=before, after={"image_key": key})
    return seal


def seal_of(certificate_id: int) -> CertificateSeal | None:
    return db.session.scalar(select(CertificateSeal).where(CertificateSeal.certificate_id == certificate_id))


def open_seal(actor: Any, certificate_id: Any) -> tuple[bytes, str]:
    """The seal on file for a certificate as (image bytes, content type), for the seal page's preview;
    only to whoever may manage seals, and only for a certificate in their scope (404 otherwise)."""
    permissions.require(actor, "certificates.seal")
    certificate = permissions.get_for(actor, Certificate, certificate_id)
    seal = seal_of(certificate.id)
    if seal is None:
        raise NotFound()
    from ..core.storage import get_storage

    try:
        data = get_storage().read(seal.image_key)
    except OSError:  # the file went missing from storage: nothing to preview, not an error page
        raise NotFound()
    # the type from the bytes (checked at upload), never from the key or the request
    kind = _image_kind(data)
    if kind is None:
        raise NotFound()
    return data, "image/png" if kind == "png" else "image/jpeg"


# ---- stage three: issue ----------------------------------------------------------------------

def issue(actor: Any, plan_id: Any, *, as_job: bool = True, base_url: str | None = None) -> tuple[jobs.Job | None, int]:
    """The org presses 发放: the plan's 待发放 records go to 证书生成中 and a job generates them.

    Returns the job and the number of records; the caller commits, then dispatches the job.
    With as_job=False (the CLI) no job is made: the caller calls `generate` itself.
    """
    permissions.require(actor, "certificates.issue")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    if seal_of(plan.certificate_id) is None:
        raise DomainError(f"证书「{plan.certificate.name}」还没有上传电子印章，请先上传后再发放")
    records = db.session.scalars(
        select(CertificateRecord).where(CertificateRecord.plan_id == plan.id,
                                        CertificateRecord.state == S.READY)
        .order_by(CertificateRecord.id).with_for_update()).all()
    schools = _load_schools(records)  # noqa: F841 - kept referenced while the records move
    if not records:
        raise DomainError("该考试计划没有待发放的证书")
    for record in records:
        CERTIFICATE.move(record, "issue", actor)
    if not as_job:
        return None, len(records)
    job = jobs.submit(actor, "certificates.issue", {"plan_id": plan.id, "base_url": base_url},
                      title=f"生成电子证书：{plan.name}")
    return job, len(records)


def _load_schools(records: list[CertificateRecord]) -> list[School]:
    """Put the records' schools in the session at once: audit records look them up per record."""
    ids = {r.school_id for r in records}
    return db.session.scalars(select(School).where(School.id.in_(ids))).all() if ids else []


def verify_url(record: CertificateRecord, base_url: str | None = None) -> str:
    """The public verification URL in the QR code (the unguessable code, never the number).

    The address is PUBLIC_BASE_URL when set, else the one the org issued from (passed in by
    the view), else SERVER_NAME.
    """
    base = current_app.config.get("PUBLIC_BASE_URL") or base_url
    if not base:
        server = current_app.config.get("SERVER_NAME") or "localhost"
        scheme = "https" if current_app.config.get("PREFERRED_URL_SCHEME") == "https" else "http"
        base = f"{scheme}://{server}"
    return f"{base.rstrip('/')}/certificates/v/{record.verify_code}"


def take_numbers(certificate_id: int, year: int, count: int) -> list[str]:
    """`count` new certificate numbers, taken under a row lock: unique and never given again."""
    if db.session.scalar(select(NumberCounter.id).where(NumberCounter.certificate_id == certificate_id,
                                                        NumberCounter.year == year)) is None:
        nested = db.session.begin_nested()
        try:
            db.session.add(NumberCounter(certificate_id=certificate_id, year=year, last=0))
            nested.commit()
        except Exception:  # noqa: BLE001 - another process made the counter first: use theirs
            nested.rollback()
    counter = db.session.scalar(select(NumberCounter).where(NumberCounter.certificate_id == certificate_id,
                                                            NumberCounter.year == year).with_for_update())
    first = counter.last + 1
    counter.last += count
    db.session.flush()
    return [numbers.make_number(year, certificate_id, n) for n in range(first, first + count)]


def generate(actor: Any, plan_id: int, progress=None, base_url: str | None = None) -> int:
    """Generate the e-certificates of a plan's 证书生成中 records; each becomes 已发放 when its file exists."""
    from ..core.storage import get_storage
    from .pdf import CertificatePage, sync_files

    plan = db.session.get(ExamPlan, plan_id)
    records = db.session.scalars(
        select(CertificateRecord).where(CertificateRecord.plan_id == plan_id,
                                        CertificateRecord.state == S.GENERATING)
        # the school is loaded for the audit records' scope (else one query per record)
        .options(joinedload(CertificateRecord.candidate), joinedload(CertificateRecord.school),
                 joinedload(CertificateRecord.certificate_level).joinedload(CertificateLevel.certificate))
        .order_by(CertificateRecord.id)).all()
    total = len(records)
    if progress:
        progress(0, total)
    if not records:
        return 0
    storage = get_storage()
    seal = seal_of(plan.certificate_id)
    if seal is None or not storage.exists(seal.image_key):
        raise DomainError("电子印章文件不存在，请重新上传后再发放")
    seal_path = str(storage.path(seal.image_key))
    today = clock.now().date()
    numbers_ = take_numbers(plan.certificate_id, today.year, total)
    now = clock.now()
    jobs_: list[tuple[CertificatePage, str]] = []
    for i, record in enumerate(records):
        record.number = numbers_[i]
        record.issue_date = today
        record.signature = signing.sign(record)
        level = record.certificate_level
        photo = record.candidate.photo_key
        page = CertificatePage(
            name=record.name, gender=record.gender, id_type=record.id_type.value, id_number=record.id_number,
            certificate_name=level.certificate.name, level=level.level.value, number=record.number,
            issue_date=today, org_name=level.certificate.org_name, verify_url=verify_url(record, base_url),
            photo_path=str(storage.path(photo)) if photo and storage.exists(photo) else None,
            seal_path=seal_path)
        record.file_key = f"certificates/{plan_id}/{record.verify_code}.pdf"
        jobs_.append((page, str(storage.path(record.file_key))))
    for i, record in enumerate(records_rendered(records, jobs_)):
        record.issued_at = now
        CERTIFICATE.move(record, "generated", None)
        if progress:
            progress(i + 1, total)
    # the files are on disk before the caller commits the records that say 已发放
    sync_files([path for _, path in jobs_])
    db.session.flush()
    return total


def records_rendered(records: list[CertificateRecord], pages: list[tuple[Any, str]]):
    """Write each record's PDF and yield the record once its file exists, in order.

    One process: a pool of two was measured slower on the shared 2-core machine (process
    start-up and contention); production scales with more job workers instead.
    """
    from .pdf import render_to_file

    for record, (page, path) in zip(records, pages):
        render_to_file(page, path, durable=False)  # synced once for the batch by `generate`
        yield record
