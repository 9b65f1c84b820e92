"""Renewal policies, re-registration applications (再登记申请), reminders and the e-mail outbox."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..candidates.models import Candidate
from ..catalog.models import Certificate, School
from ..certificates.models import CertificateRecord
from ..core import clock
from ..core.columns import enum_type
from ..core.roles import Role
from ..extensions import db
from .states import RenewalState


class RenewalPolicy(db.Model):
    """The org's renewal rules of one certificate; a certificate without a row uses the defaults."""

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), unique=True)
    #: years a registration (first or renewed) is valid
    validity_years: Mapped[int] = mapped_column(default=3)
    #: months before expiry in which the holder applies (the window)
    window_months: Mapped[int] = mapped_column(default=3)
    #: verified continuing-education hours in the cycle needed for an application in the window
    hours_required: Mapped[int] = mapped_column(default=90)
    #: the same for a late application (补办) after expiry
    late_hours_required: Mapped[int] = mapped_column(default=120)
    #: months after expiry during which late re-registration is still possible (未再登记);
    #: after them the certificate is 已失效
    grace_months: Mapped[int] = mapped_column(default=12)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    certificate: Mapped[Certificate] = relationship()

    @property
    def name(self) -> str:
        return f"{self.certificate.name} 再登记规则"

    @classmethod
    def scope_clause(cls, actor):
        return true()  # the rules are no one's personal data; who may change them is an action


class RenewalApplication(db.Model):
    """One holder's application to renew one certificate for one cycle; a returned one is resubmitted as is."""

    __table_args__ = (UniqueConstraint("record_id", "cycle_expiry"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("certificate_record.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), index=True)
    #: the holder's school: the city and province that review it follow from it
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    #: the last valid day of the cycle this application renews: one application per certificate and cycle
    cycle_expiry: Mapped[date]
    #: 补办: made after expiry, asks the late hours and an explanation
    late: Mapped[bool] = mapped_column(default=False)
    #: 情况说明 (required when late) or the holder's remarks
    explanation: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[RenewalState] = mapped_column(enum_type(RenewalState), default=RenewalState.DRAFT, index=True)
    #: verified continuing-education hours of the cycle at the last submission
    hours: Mapped[Decimal | None] = mapped_column(Numeric(8, 1))
    #: the signed 《再登记申请表》 uploaded back (PDF or image), a recent photo, an identity-change proof
    signed_form_key: Mapped[str | None] = mapped_column(String(200))
    photo_key: Mapped[str | None] = mapped_column(String(200))
    identity_proof_key: Mapped[str | None] = mapped_column(String(200))
    return_reason: Mapped[str | None] = mapped_column(Text)
    #: "city" or "province": who returned it last, which decides where a resubmission goes
    returned_by: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    #: the new last valid day, set at approval
    new_expiry: Mapped[date | None]
    #: the e-registration record's number (电子再登记凭证), given at approval
    registration_number: Mapped[str | None] = mapped_column(String(32), unique=True)

    record: Mapped[CertificateRecord] = relationship()
    candidate: Mapped[Candidate] = relationship()
    school: Mapped[School] = relationship()

    @property
    def name(self) -> str:
        return f"{self.record.name} {self.record.certificate_level.label} 再登记申请"

    @classmethod
    def scope_clause(cls, actor):
        from ..core.permissions import column_scope

        if actor.role == Role.CANDIDATE:
            return cls.candidate_id == actor.candidate_id if actor.candidate_id else false()
        return column_scope(actor, cls)


class HolderContact(db.Model):
    """The e-mail address a holder gives for reminders (candidates carry none of their own)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), unique=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    email: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)

    @classmethod
    def scope_clause(cls, actor):
        from ..core.permissions import column_scope

        if actor.role == Role.CANDIDATE:
            return cls.candidate_id == actor.candidate_id if actor.candidate_id else false()
        return column_scope(actor, cls)


class RenewalReminder(db.Model):
    """A reminder given once per certificate, kind and cycle: a portal notice and, with an address, an e-mail."""

    __table_args__ = (UniqueConstraint("record_id", "kind", "cycle_expiry"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("certificate_record.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    #: "window" (the window opened) or "month" (one month before expiry)
    kind: Mapped[str] = mapped_column(String(10))
    cycle_expiry: Mapped[date]
    message: Mapped[str] = mapped_column(Text, default="")
    #: what became of the e-mail: 已发送, 已存入发件箱, 未登记邮箱, 发送失败
    email_state: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    record: Mapped[CertificateRecord] = relationship()

    @classmethod
    def scope_clause(cls, actor):
        from ..core.permissions import column_scope

        if actor.role == Role.CANDIDATE:
            return cls.candidate_id == actor.candidate_id if actor.candidate_id else false()
        return column_scope(actor, cls)


class OutboxMessage(db.Model):
    """An e-mail that would have been sent: kept here when no SMTP server is configured."""

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)

    @classmethod
    def scope_clause(cls, actor):
        return true() if actor.role == Role.SYSADMIN else false()
from . import reminders as _reminders, validity as _validity  # noqa: E402,F401  (register the hooks of certificates and the portal)
