"""Registrations (报考) of candidates for an exam plan's certificate level, and payment orders."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..candidates.models import Candidate, CandidateKind, IdType
from ..catalog.models import CertificateLevel, School
from ..core import clock
from ..core.columns import enum_type
from ..core.roles import Role
from ..exams.models import ExamPlan
from ..extensions import db
from ..pilots.models import ApplicationLine
from ..sites.models import ExamSite
from .states import LIVE, PaymentState, RegistrationState


class RetakeBasis(StrEnum):
    """Why a registration counts as a retake (补考), which takes no quota place."""

    #: the school marked 是否补考 = 是 (before results exist in the system)
    MARKED = "学校标记"
    #: a final failed result of this certificate level exists (filled by the scores step)
    RESULT = "成绩记录"


_LIVE_SQL = "state IN ({})".format(", ".join(f"'{s.value}'" for s in LIVE))


class Registration(db.Model):
    __table_args__ = (
        # One live registration per person, plan and certificate level, across schools.
        # The person is the ID document, copied here so that the database can say it.
        Index("uq_registration_person", "plan_id", "certificate_level_id", "id_type", "id_number",
              unique=True, sqlite_where=text(_LIVE_SQL), postgresql_where=text(_LIVE_SQL)),
        Index("ix_registration_plan_school_state", "plan_id", "school_id", "state"),
        # scheduling's list of sites: does this site have paid registrations in the plan (a probe per site)
        Index("ix_registration_site_plan_state", "site_id", "plan_id", "state"),
        # a school's list, newest first, read in order from the index
        Index("ix_registration_school_id_id", "school_id", "id"),
        CheckConstraint("fee >= 0", name="fee_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), index=True)
    #: the candidate's school, kept here so that the permission layer scopes by it
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    #: the exam site (考核站点) the school chose; approved and enabled for this level
    site_id: Mapped[int] = mapped_column(ForeignKey("exam_site.id"), index=True)
    certificate_level_id: Mapped[int] = mapped_column(ForeignKey("certificate_level.id"), index=True)
    #: copied from the candidate at registration (normalised), for the one-per-person constraint
    id_type: Mapped[IdType] = mapped_column(enum_type(IdType, 30))
    id_number: Mapped[str] = mapped_column(String(30))
    #: 本校考生 or 社会考生 at the time of registration
    kind: Mapped[CandidateKind] = mapped_column(enum_type(CandidateKind))
    #: 补考 (第二次报考): takes no quota place
    is_retake: Mapped[bool] = mapped_column(default=False)
    retake_basis: Mapped[RetakeBasis | None] = mapped_column(enum_type(RetakeBasis))
    #: the approved application line whose place this registration holds (school students,
    #: not retakes); None once the place is given back
    quota_line_id: Mapped[int | None] = mapped_column(ForeignKey("application_line.id"), index=True)
    #: yuan, copied from the plan's fee of the level at registration
    fee: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    payment_order_id: Mapped[int | None] = mapped_column(ForeignKey("payment_order.id"), index=True)
    state: Mapped[RegistrationState] = mapped_column(enum_type(RegistrationState), default=RegistrationState.UNPAID,
                                                     index=True)
    #: the reason of a cancellation (required from the org after scheduling)
    cancel_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    paid_at: Mapped[datetime | None]
    #: when it was cancelled or lapsed
    ended_at: Mapped[datetime | None]

    plan: Mapped[ExamPlan] = relationship()
    candidate: Mapped[Candidate] = relationship()
    school: Mapped[School] = relationship()
    site: Mapped[ExamSite] = relationship()
    certificate_level: Mapped[CertificateLevel] = relationship()
    quota_line: Mapped[ApplicationLine | None] = relationship()
    payment_order: Mapped[PaymentOrder | None] = relationship(back_populates="registrations")

    @property
    def live(self) -> bool:
        return self.state in LIVE

    @property
    def name(self) -> str:
        return f"{self.candidate.name} 报考 {self.certificate_level.label}"

    @classmethod
    def scope_clause(cls, actor):
        """Staff by the school scope; a candidate sees only their own registrations."""
        from ..core.permissions import column_scope

        if actor.role == Role.CANDIDATE:
            return cls.candidate_id == actor.candidate_id if actor.candidate_id else false()
        return column_scope(actor, cls)


class PaymentKind(StrEnum):
    #: one order per school for a chosen set of its students' registrations
    SCHOOL = "学校统一缴费"
    #: one order per social candidate, who pays their own fee
    SOCIAL = "社会考生个人缴费"


class PaymentOrder(db.Model):
    """A payment order (缴费订单) with its voucher, confirmed or rejected by the org."""

    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: printed on the voucher and quoted in the bank transfer, e.g. JF2026000012
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    kind: Mapped[PaymentKind] = mapped_column(enum_type(PaymentKind))
    #: the social candidate who pays, for PaymentKind.SOCIAL
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("candidate.id"), index=True)
    #: yuan: the sum of its registrations' fees, fixed when the order is created
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    #: the PaymentProvider that handles it ("voucher": uploaded voucher, confirmed by the org)
    provider: Mapped[str] = mapped_column(String(20), default="voucher")
    #: the provider's transaction number (online providers) or the bank reference typed by the school
    transaction_ref: Mapped[str] = mapped_column(String(100), default="")
    voucher_key: Mapped[str | None] = mapped_column(String(200))
    voucher_name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[PaymentState] = mapped_column(enum_type(PaymentState), default=PaymentState.DRAFT, index=True)
    #: the org's reason of the last rejection, shown to the school
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]

    plan: Mapped[ExamPlan] = relationship()
    school: Mapped[School] = relationship()
    candidate: Mapped[Candidate | None] = relationship()
    registrations: Mapped[list[Registration]] = relationship(back_populates="payment_order",
                                                             order_by="Registration.id")

    @property
    def name(self) -> str:
        return f"缴费订单 {self.reference}"

    @classmethod
    def scope_clause(cls, actor):
        from ..core.permissions import column_scope

        if actor.role == Role.CANDIDATE:
            return cls.candidate_id == actor.candidate_id if actor.candidate_id else false()
        return column_scope(actor, cls)
