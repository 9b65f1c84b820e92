"""Re-registration (再登记申请) and the renewal policies: every rule of DOMAIN.md §12 after issue lives here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from ..catalog.models import Certificate, CertificateLevel, School
from ..certificates.models import CertificateRecord
from ..certificates.states import CertificateState
from ..certificates import verification
from ..core import audit, clock, permissions
from ..core.errors import DomainError
from ..core.locks import lock_row
from ..core.roles import Role
from ..core.storage import delete_after_rollback, get_storage, upload_name
from ..core.unique import unique_writes
from ..extensions import db
from ..registrations.models import Registration
from .models import RenewalApplication, RenewalPolicy
from .states import EDITABLE, RENEWAL, RenewalState, Validity
from .validity import Cycle, cycle, policy_for, renewed_until

#: the hours that count towards re-registration
CONTINUING = "继续教育"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_EXPLANATION = 2000
#: (magic bytes, storage suffix, MIME type); judged by the first bytes, never by the name
FORM_TYPES = ((b"%PDF-", ".pdf", "application/pdf"), (b"\xff\xd8\xff", ".jpg", "image/jpeg"),
              (b"\x89PNG\r\n\x1a\n", ".png", "image/png"))
IMAGE_TYPES = FORM_TYPES[1:]
MIME_BY_SUFFIX = {suffix: mime for _, suffix, mime in FORM_TYPES}
#: attachment kind -> (column, label, accepted types)
ATTACHMENTS = {
    "signed_form": ("signed_form_key", "签字后的《再登记申请表》", FORM_TYPES),
    "photo": ("photo_key", "近期照片", IMAGE_TYPES),
    "identity_proof": ("identity_proof_key", "身份信息变更证明", FORM_TYPES),
}
POLICY_FIELDS = ["validity_years", "window_months", "hours_required", "late_hours_required", "grace_months"]
#: bounds of the policy's numbers: (label, minimum, maximum)
POLICY_BOUNDS = {"validity_years": ("有效期（年）", 1, 10), "window_months": ("再登记窗口（月）", 1, 12),
                 "hours_required": ("所需继续教育学时", 0, 1000),
                 "late_hours_required": ("补办所需学时", 0, 1000), "grace_months": ("逾期可补办（月）", 0, 60)}


def _fmt(day: date) -> str:
    return day.strftime("%Y-%m-%d")


# ---- the policy ---------------------------------------------------------------------------------

def save_policy(actor: Any, certificate_id: int, data: dict[str, Any]) -> RenewalPolicy:
    """The org sets a certificate's validity years, window, hours and grace period."""
    permissions.require(actor, "renewals.policy")
    certificate = permissions.get_for(actor, Certificate, certificate_id)
    values = {}
    for field, (label, low, high) in POLICY_BOUNDS.items():
        raw = data.get(field)
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            raise DomainError(f"{label}应为整数", field=field) from None
        if not low <= value <= high:
            raise DomainError(f"{label}应在 {low} 到 {high} 之间", field=field)
        values[field] = value
    if values["late_hours_required"] < values["hours_required"]:
        raise DomainError("补办所需学时不能少于按期再登记所需学时", field="late_hours_required")
    # Two saves of a certificate's first policy at once: the certificate's row makes them take
    # turns, so the second finds the first's policy and updates it (no unique violation).
    db.session.execute(select(Certificate.id).where(Certificate.id == certificate.id).with_for_update())
    policy = db.session.scalar(select(RenewalPolicy).where(RenewalPolicy.certificate_id == certificate.id))
    before = audit.snapshot(policy, POLICY_FIELDS) if policy else None
    if policy is None:
        policy = RenewalPolicy(certificate_id=certificate.id)
        db.session.add(policy)
    for field, value in values.items():
        setattr(policy, field, value)
    policy.updated_at, policy.updated_by_id = clock.now(), actor.id
    db.session.flush()
    audit.record(actor, "renewal_policy.update", policy, before=before, after=audit.snapshot(policy, POLICY_FIELDS))
    return policy


def list_policies(actor: Any) -> list[tuple[Certificate, Any]]:
    permissions.require(actor, "renewals.stats")
    certificates = db.session.scalars(select(Certificate).order_by(Certificate.name)).all()
    return [(c, policy_for(c.id)) for c in certificates]


# ---- the holder ---------------------------------------------------------------------------------

def hours_since(record: CertificateRecord, current: Cycle) -> date:
    """The first day whose hours count in the current cycle: its first valid day, or the day after the
    previous approved application was submitted when that was later (a late application counted the
    hours up to its submission, which fall in this cycle's first months; they count once)."""
    last = db.session.scalar(select(func.max(RenewalApplication.submitted_at)).where(
        RenewalApplication.record_id == record.id, RenewalApplication.state == RenewalState.APPROVED,
        RenewalApplication.cycle_expiry < current.valid_until))
    if last is None:
        return current.valid_from
    return max(current.valid_from, last.date() + timedelta(days=1))


def cycle_hours(record: CertificateRecord, current: Cycle, today: date | None = None) -> Decimal:
    """The holder's verified continuing-education hours dated in the current cycle (hours_since),
    recorded at the certificate's school or verified by the org (hours.services.verified_hours)."""
    from ..hours.services import verified_hours

    today = today or clock.now().date()
    return verified_hours(record.id_type, record.id_number, kinds=[CONTINUING], since=hours_since(record, current),
                          until=min(today, current.valid_until) if not current.late else today,
                          school_id=record.school_id)


def current_application(record_id: int, current: Cycle) -> RenewalApplication | None:
    return db.session.scalar(select(RenewalApplication).where(RenewalApplication.record_id == record_id,
                                                             RenewalApplication.cycle_expiry == current.valid_until))


@dataclass
class HolderCertificate:
    record: CertificateRecord
    cycle: Cycle
    application: RenewalApplication | None


def my_certificates(actor: Any) -> list[HolderCertificate]:
    """The holder's issued certificates with their cycle and the current cycle's application."""
    permissions.require(actor, "renewals.apply")
    records = db.session.scalars(
        permissions.scoped(actor, select(CertificateRecord))
        .options(joinedload(CertificateRecord.certificate_level).joinedload(CertificateLevel.certificate))
        .order_by(CertificateRecord.issue_date.desc(), CertificateRecord.id.desc()).limit(50)).all()
    from .validity import cycles

    found = cycles(list(records))
    out = []
    for record in records:
        if record.id in found:
            out.append(HolderCertificate(record, found[record.id], current_application(record.id, found[record.id])))
    return out


def my_applications(actor: Any) -> list[RenewalApplication]:
    """我的申请: every re-registration application of the holder, newest first."""
    permissions.require(actor, "renewals.apply")
    return list(db.session.scalars(
        permissions.scoped(actor, select(RenewalApplication))
        .options(joinedload(RenewalApplication.record).joinedload(CertificateRecord.certificate_level)
                 .joinedload(CertificateLevel.certificate))
        .order_by(RenewalApplication.created_at.desc(), RenewalApplication.id.desc()).limit(100)))


@dataclass
class ApplyPage:
    """What the holder sees before applying: data, past registrations and certificates, hours."""

    record: CertificateRecord
    cycle: Cycle
    hours: Decimal
    registrations: list[Registration]
    certificates: list[CertificateRecord]
    application: RenewalApplication | None

    @property
    def enough_hours(self) -> bool:
        return self.hours >= self.cycle.hours_needed


def _holder_record(actor: Any, record_id: int) -> tuple[CertificateRecord, Cycle]:
    record = permissions.get_for(actor, CertificateRecord, record_id)
    if verification.revoked_but_not_in_state(record):  # 记录异常: treated as revoked everywhere
        raise DomainError("该证书记录异常（曾被撤销，但记录状态与撤销记录不符），不能申请再登记，请联系评价组织核实")
    current = cycle(record)
    if current is None:
        raise DomainError("该证书尚未发放，不能申请再登记")
    return record, current


def past(record: CertificateRecord) -> tuple[list[Registration], list[CertificateRecord]]:
    """The holder's registrations (exams) and issued certificates, newest first."""
    registrations = db.session.scalars(
        select(Registration).where(Registration.candidate_id == record.candidate_id)
        .order_by(Registration.id.desc()).limit(50)).all()
    certificates = db.session.scalars(
        select(CertificateRecord).where(CertificateRecord.id_number == record.id_number,
                                        CertificateRecord.state.in_([CertificateState.ISSUED,
                                                                     CertificateState.REVOKED]))
        .order_by(CertificateRecord.issue_date.desc()).limit(50)).all()
    return list(registrations), list(certificates)


def apply_page(actor: Any, record_id: int) -> ApplyPage:
    permissions.require(actor, "renewals.apply")
    record, current = _holder_record(actor, record_id)
    registrations, certificates = past(record)
    return ApplyPage(record, current, cycle_hours(record, current), registrations, certificates,
                     current_application(record.id, current))


def _require_open(current: Cycle) -> None:
    """Refuse outside the window and after the grace period, naming the dates."""
    if current.state in (Validity.VALID, Validity.RENEWED):
        raise DomainError(f"不在再登记时间内：本证书有效期至 {_fmt(current.valid_until)}，"
                          f"再登记申请自 {_fmt(current.window_opens)} 起开放")
    if current.state == Validity.LAPSED:
        raise DomainError(f"本证书有效期已于 {_fmt(current.valid_until)} 届满，补办期限（至 "
                          f"{_fmt(current.grace_until)}）已过，证书已失效，不能再申请再登记")
    if current.state == Validity.REVOKED:
        raise DomainError("该证书已被撤销，不能申请再登记")


def create_application(actor: Any, record_id: int) -> RenewalApplication:
    """Start the holder's application for the current cycle (in the window, or late during the grace period)."""
    permissions.require(actor, "renewals.apply")
    record, current = _holder_record(actor, record_id)
    _require_open(current)

    def check_no_second() -> None:
        existing = current_application(record.id, current)
        if existing is not None:
            raise DomainError(f"本证书本周期（有效期至 {_fmt(current.valid_until)}）已有再登记申请"
                              f"（{existing.state.value}），每个周期只能申请一次，请在原申请上修改")

    check_no_second()
    application = RenewalApplication(record_id=record.id, candidate_id=record.candidate_id,
                                     school_id=record.school_id, cycle_expiry=current.valid_until,
                                     late=current.late)
    with unique_writes(check_no_second):
        db.session.add(application)
    audit.record(actor, "renewal_application.create", application,
                 after={"cycle_expiry": _fmt(current.valid_until), "late": current.late})
    return application


def get_application(actor: Any, application_id: int) -> RenewalApplication:
    permissions.require(actor, "renewals.view" if actor.role != Role.CANDIDATE else "renewals.apply")
    application = permissions.get_for(actor, RenewalApplication, application_id)
    if actor.role in (Role.CITY, Role.PROVINCE) and application.state == RenewalState.DRAFT:
        raise permissions.NotInScope()  # not submitted to them (yet)
    return application


def _editable(actor: Any, application_id: int) -> RenewalApplication:
    permissions.require(actor, "renewals.apply")
    application = permissions.get_for(actor, RenewalApplication, application_id)
    lock_row(application)  # two submits or a submit and a decision: one wins
    if application.state not in EDITABLE:
        raise DomainError(f"申请{application.state.value}，不能修改")
    return application


def save_explanation(actor: Any, application_id: int, explanation: str) -> RenewalApplication:
    """The holder's 情况说明 (required for a late application) or remarks."""
    application = _editable(actor, application_id)
    text = (explanation or "").strip()
    if len(text) > MAX_EXPLANATION:
        raise DomainError(f"情况说明不能超过 {MAX_EXPLANATION} 字", field="explanation")
    before = application.explanation
    application.explanation = text
    audit.record(actor, "renewal_application.update", application, before={"explanation": before},
                 after={"explanation": text})
    return application


def file_suffix(data: bytes, accepted) -> str | None:
    for magic, suffix, _ in accepted:
        if data.startswith(magic):
            return suffix
    return None


def attach(actor: Any, application_id: int, kind: str, data: bytes) -> RenewalApplication:
    """Upload the signed form, a recent photo or an identity-change proof, checked by its first bytes."""
    application = _editable(actor, application_id)
    if kind not in ATTACHMENTS:
        raise DomainError("未知的附件类型")
    column, label, accepted = ATTACHMENTS[kind]
    if not data:
        raise DomainError(f"请选择{label}文件", field=kind)
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError(f"{label}文件不能超过 10 MB", field=kind)
    suffix = file_suffix(data, accepted)
    if suffix is None:
        kinds = "PDF、JPEG 或 PNG 文件" if accepted is FORM_TYPES else "JPEG 或 PNG 图片"
        raise DomainError(f"{label}应为 {kinds}（按文件内容判断，不看扩展名）", field=kind)
    storage = get_storage()
    key = storage.save(storage.new_key("renewals", suffix), data)
    delete_after_rollback(db.session, key, storage)
    had = bool(getattr(application, column))
    setattr(application, column, key)
    audit.record(actor, "renewal_application.attach", application, before={kind: "已上传" if had else ""},
                 after={kind: f"已上传（{suffix[1:].upper()}）"})
    return application


def attachment(actor: Any, application_id: int, kind: str) -> tuple[RenewalApplication, str, str]:
    """(application, local path, MIME type) of an attachment, for the holder and the reviewers in scope."""
    application = get_application(actor, application_id)
    if kind not in ATTACHMENTS or not getattr(application, ATTACHMENTS[kind][0]):
        raise DomainError("没有该附件")
    key = getattr(application, ATTACHMENTS[kind][0])
    storage = get_storage()
    if not storage.exists(key):
        raise DomainError("附件文件不存在")
    return application, str(storage.path(key)), MIME_BY_SUFFIX.get("." + key.rsplit(".", 1)[-1], "application/octet-stream")


def submit_application(actor: Any, application_id: int) -> RenewalApplication:
    """Submit (or resubmit) for review: in the window or grace period, with the hours, the signed form
    and, when late, an explanation."""
    application = _editable(actor, application_id)
    record = application.record
    current = cycle(record)
    if current is None or current.valid_until != application.cycle_expiry:
        raise DomainError("本申请所属的再登记周期已结束，不能提交")
    _require_open(current)
    late = current.late
    needed = current.hours_needed
    hours = cycle_hours(record, current)
    if hours < needed:
        kind = "补办再登记" if late else "再登记"
        raise DomainError(f"学时未达标将无法提交：{kind}需本周期（{_fmt(hours_since(record, current))} 起）已核验的继续教育"
                          f"学时 {needed} 学时，目前 {hours} 学时，还差 {Decimal(needed) - hours} 学时")
    if late and not application.explanation.strip():
        raise DomainError("证书有效期已届满，补办再登记须填写情况说明", field="explanation")
    if not application.signed_form_key:
        raise DomainError("请先下载《再登记申请表》，打印签字后上传扫描件或照片", field="signed_form")
    application.late = late
    application.hours = hours
    RENEWAL.move(application, "submit", actor)
    application.submitted_at = clock.now()
    return application


# ---- the reviewers ------------------------------------------------------------------------------

#: the reviewers (city, province) never see a holder's draft: it is not submitted to them
REVIEWERS = (Role.CITY, Role.PROVINCE)


def visible_states(actor: Any) -> list[RenewalState]:
    """The application states the actor's list offers (a reviewer: all but 未提交)."""
    return [s for s in RenewalState if not (actor.role in REVIEWERS and s == RenewalState.DRAFT)]


def list_applications(actor: Any, *, state: str = "", q: str = "", school_id: int | None = None,
                      city_id: int | None = None, level_id: int | None = None):
    """Applications in the actor's scope (a city: its schools' holders), waiting ones first for reviewers;
    `q` is part of the holder's name or a whole ID number; a reviewer's list holds no drafts."""
    from sqlalchemy import or_

    from ..core import idcard

    permissions.require(actor, "renewals.view")
    query = (permissions.scoped(actor, select(RenewalApplication))
             .join(CertificateRecord, CertificateRecord.id == RenewalApplication.record_id)
             .options(selectinload(RenewalApplication.school),
                      selectinload(RenewalApplication.record).selectinload(CertificateRecord.certificate_level)
                      .selectinload(CertificateLevel.certificate))
             .order_by(RenewalApplication.submitted_at.desc().nulls_last(), RenewalApplication.id.desc()))
    if state:
        query = query.where(RenewalApplication.state == RenewalState(state))
    if actor.role in REVIEWERS:
        query = query.where(RenewalApplication.state != RenewalState.DRAFT)
    text = (q or "").strip()[:100]
    if text:
        query = query.where(or_(CertificateRecord.name.contains(text, autoescape=True),
                                CertificateRecord.id_number == idcard.normalise(text)))
    if school_id:
        query = query.where(RenewalApplication.school_id == school_id)
    if city_id:
        query = query.where(RenewalApplication.school_id.in_(select(School.id).where(School.city_id == city_id)))
    if level_id:
        query = query.where(CertificateRecord.certificate_level_id == level_id)
    return query


def pass_to_province(actor: Any, application_id: int) -> RenewalApplication:
    """The city's review passes the application on to the province."""
    permissions.require(actor, "renewals.review")
    application = permissions.get_for(actor, RenewalApplication, application_id)
    lock_row(application)  # decisions at once: one wins, the others see its state
    RENEWAL.move(application, "pass", actor)
    return application


def return_application(actor: Any, application_id: int, reason: str) -> RenewalApplication:
    """Return to the holder with a reason; the holder corrects and resubmits the same application."""
    permissions.require(actor, "renewals.review")
    application = permissions.get_for(actor, RenewalApplication, application_id)
    lock_row(application)  # decisions at once: one wins, the others see its state
    reason = (reason or "").strip()[:MAX_EXPLANATION]
    if not reason:
        raise DomainError("请填写退回原因，持证人将据此修改", field="reason")
    RENEWAL.move(application, "return", actor, reason=reason)
    application.return_reason = reason
    application.returned_by = "city" if actor.role == Role.CITY else "province"
    return application


def approve_application(actor: Any, application_id: int) -> RenewalApplication:
    """The province approves: validity moves on one period and an e-registration record is issued."""
    permissions.require(actor, "renewals.approve")
    application = permissions.get_for(actor, RenewalApplication, application_id)
    lock_row(application)  # decisions at once: one wins, the others see its state
    record = application.record
    if record.state != CertificateState.ISSUED:
        raise DomainError("该证书已被撤销，不能审核通过再登记")
    RENEWAL.move(application, "approve", actor)
    policy = policy_for(record.certificate_level.certificate_id)
    application.new_expiry = renewed_until(application.cycle_expiry, policy)
    application.approved_at = clock.now()
    application.return_reason = None
    db.session.flush()
    application.registration_number = registration_number(application)
    audit.record(actor, "renewal_application.registered", application,
                 before={"valid_until": _fmt(application.cycle_expiry)},
                 after={"valid_until": _fmt(application.new_expiry),
                        "registration_number": application.registration_number})
    return application


def registration_number(application: RenewalApplication) -> str:
    """再登记编号: ZC, the approval year, the application id (unique as the id is)."""
    return f"ZC{application.approved_at:%Y}{application.id:08d}"


# ---- the hours behind an application's total ------------------------------------------------------

def application_hours(actor: Any, application_id: int) -> tuple[RenewalApplication, list]:
    """The verified 继续教育 records counted for an application (its cycle, up to submission), for
    whoever may see the application: the holder and the reviewers in scope."""
    from datetime import timedelta

    from ..hours.models import HoursKind, HoursRecord
    from ..hours.states import HoursState
    from .validity import add_months

    application = get_application(actor, application_id)
    record = application.record
    policy = policy_for(record.certificate_level.certificate_id)
    since = max(record.issue_date, add_months(application.cycle_expiry + timedelta(days=1),
                                              -12 * policy.validity_years))
    until = application.submitted_at.date() if application.submitted_at else clock.now().date()
    if not application.late:
        until = min(until, application.cycle_expiry)
    rows = db.session.scalars(
        select(HoursRecord).where(HoursRecord.id_type == record.id_type, HoursRecord.id_number == record.id_number,
                                  HoursRecord.kind == HoursKind(CONTINUING), HoursRecord.state == HoursState.VERIFIED,
                                  HoursRecord.date >= since, HoursRecord.date <= until)
        .order_by(HoursRecord.date, HoursRecord.id).limit(500)).all()
    return application, list(rows)


def hours_evidence(actor: Any, application_id: int, hours_id: int) -> tuple[str, str, str]:
    """(path, MIME type, name) of the evidence of one record counted for the application: the city and
    the province reviewing it see it here, within the application's own scope."""
    from ..hours.services import MIME_BY_SUFFIX as HOURS_MIME

    _, rows = application_hours(actor, application_id)
    row = next((r for r in rows if r.id == hours_id), None)
    storage = get_storage()
    if row is None or not row.evidence_key or not storage.exists(row.evidence_key):
        raise permissions.NotInScope()
    suffix = "." + row.evidence_key.rsplit(".", 1)[-1]
    return str(storage.path(row.evidence_key)), HOURS_MIME.get(suffix, "application/octet-stream"), \
        upload_name(row.evidence_filename, suffix, "证明材料")
