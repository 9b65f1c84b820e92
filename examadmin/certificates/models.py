"""Issued certificates (证书) with their two-stage sign-off, seals, paper batches and verifications."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..candidates.models import Candidate, IdType
from ..catalog.models import Certificate, CertificateLevel, School
from ..core import clock
from ..core.columns import enum_type
from ..core.roles import Role
from ..exams.models import ExamPlan
from ..extensions import db
from ..registrations.models import Registration
from ..scores.models import Result
from ..sites.models import ExamSite
from .states import CertificateState, PaperState


class CertificateRecord(db.Model):
    """The certificate of one passed final result, from 待评价组织签发 to 已发放 (or 已撤销).

    The issuing data (name, gender, ID, level, dates) is copied here when the record is made,
    so that what was signed and issued never changes with later edits elsewhere; the
    Ed25519 signature covers it.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("result.id"), unique=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), unique=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("exam_site.id"), index=True)
    certificate_level_id: Mapped[int] = mapped_column(ForeignKey("certificate_level.id"), index=True)
    #: the issuing data, copied from the candidate when the record is made
    name: Mapped[str] = mapped_column(String(50))
    gender: Mapped[str] = mapped_column(String(2))
    id_type: Mapped[IdType] = mapped_column(enum_type(IdType, 30))
    id_number: Mapped[str] = mapped_column(String(30), index=True)
    #: the certificate number (证书编号), given at issue; unique, never reused; format in README
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    #: the unguessable identifier in the QR code's verification URL (not the sequential number)
    verify_code: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[CertificateState] = mapped_column(enum_type(CertificateState),
                                                    default=CertificateState.ORG_SIGNING, index=True)
    org_signed_at: Mapped[datetime | None]
    org_signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: the QR sign-off (stage two) that confirmed this record
    signoff_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_signoff.id"), index=True)
    issue_date: Mapped[date | None]
    issued_at: Mapped[datetime | None]
    #: storage key of the generated e-certificate PDF
    file_key: Mapped[str | None] = mapped_column(String(200))
    #: base64 Ed25519 signature over the canonical issued data (see certificates/signing.py)
    signature: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str] = mapped_column(String(500), default="")
    paper_batch_id: Mapped[int | None] = mapped_column(ForeignKey("paper_batch.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    result: Mapped[Result] = relationship()
    registration: Mapped[Registration] = relationship()
    candidate: Mapped[Candidate] = relationship()
    plan: Mapped[ExamPlan] = relationship()
    school: Mapped[School] = relationship()
    site: Mapped[ExamSite] = relationship()
    certificate_level: Mapped[CertificateLevel] = relationship()
    signoff: Mapped[CertificateSignoff | None] = relationship()
    paper_batch: Mapped[PaperBatch | None] = relationship()

    @property
    def label(self) -> str:
        return f"{self.name} {self.certificate_level.label}"

    @classmethod
    def scope_clause(cls, actor):
        """Staff by the school scope; a candidate sees only their own issued certificates."""
        from ..core.permissions import column_scope

        if actor.role == Role.CANDIDATE:
            if not actor.candidate_id:
                return false()
            return (cls.candidate_id == actor.candidate_id) & cls.state.in_(
                [CertificateState.ISSUED, CertificateState.REVOKED])
        return column_scope(actor, cls)


#: the order of the records list (newest plan first, then school and record): a page is read
#: from this index instead of sorting every record of the country
Index("ix_certificate_record_list", CertificateRecord.plan_id.desc(), CertificateRecord.school_id,
      CertificateRecord.id)


class CertificateSignoff(db.Model):
    """A QR sign-off of stage two: a one-time token bound to a school's waiting batch."""

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("exam_site.id"))
    #: the token's own id (the signed token carries it); usable once
    token_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: the record ids the batch covers, fixed when the QR code was shown
    record_ids: Mapped[list] = mapped_column(db.JSON)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    expires_at: Mapped[datetime]
    #: set by the one confirmation that wins
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    confirmed_ip: Mapped[str] = mapped_column(String(64), default="")
    confirmed_device: Mapped[str] = mapped_column(String(300), default="")

    school: Mapped[School] = relationship()
    plan: Mapped[ExamPlan] = relationship()


class CertificateSeal(db.Model):
    """The org's electronic seal (电子印章) printed on a certificate's e-certificates."""

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), unique=True)
    image_key: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(default=clock.now)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    certificate: Mapped[Certificate] = relationship()

    @classmethod
    def scope_clause(cls, actor):
        from sqlalchemy import true

        return true()


class PaperBatch(db.Model):
    """Paper certificates of one school and plan: 印制中 → 已寄出 with carrier and tracking number."""

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    state: Mapped[PaperState] = mapped_column(enum_type(PaperState), default=PaperState.PRINTING)
    carrier: Mapped[str] = mapped_column(String(40), default="")
    tracking_number: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    shipped_at: Mapped[datetime | None]

    school: Mapped[School] = relationship()
    plan: Mapped[ExamPlan] = relationship()


class NumberCounter(db.Model):
    """The last certificate number given per certificate and year; taken under a row lock so
    numbers are unique and never reused."""

    __table_args__ = (UniqueConstraint("certificate_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"))
    year: Mapped[int]
    last: Mapped[int] = mapped_column(default=0)


class Verification(db.Model):
    """One public verification of a certificate, for the record's history (the org and the school see it)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("certificate_record.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    #: 编号查询 (number + ID number) or 扫码查询 (the QR code's URL)
    channel: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(default=clock.now)
    ip: Mapped[str] = mapped_column(String(64), default="")
    #: what the verifier was told, e.g. 有效, 已撤销, 签名无效
    answer: Mapped[str] = mapped_column(Text, default="")
