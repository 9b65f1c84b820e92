"""Application plans, school applications with their major lines, and the quota they grant."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..catalog.models import CertificateLevel, Major, School
from ..core import clock
from ..core.columns import enum_type
from ..core.roles import NATIONAL, Role
from ..extensions import db
from .states import ApplicationState, PlanStatus

plan_level = Table(
    "plan_level",
    db.metadata,
    Column("plan_id", ForeignKey("application_plan.id", ondelete="CASCADE"), primary_key=True),
    Column("certificate_level_id", ForeignKey("certificate_level.id"), primary_key=True),
)


class ApplicationPlan(db.Model):
    """A province's call for pilot applications (申报计划), open during its window."""

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("province.id"), index=True)
    year: Mapped[int]
    #: e.g. 第一批
    batch: Mapped[str] = mapped_column(String(20))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    #: 是否要求按专业: applications must list majors with their counts
    requires_majors: Mapped[bool] = mapped_column(default=True)
    #: 是否要求地市级教育局审批: the city reviews before the province
    requires_city_review: Mapped[bool] = mapped_column(default=False)
    #: 全部: every enabled certificate level is open; otherwise only `levels`
    all_levels: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    province = relationship("Province")
    levels: Mapped[list[CertificateLevel]] = relationship(secondary=plan_level)

    @property
    def name(self) -> str:
        return f"{self.year}年{self.batch}"

    def status(self, at: datetime | None = None) -> PlanStatus:
        at = at or clock.now()
        if at < self.window_start:
            return PlanStatus.NOT_STARTED
        if at > self.window_end:
            return PlanStatus.ENDED
        return PlanStatus.OPEN

    @classmethod
    def scope_clause(cls, actor):
        """National roles see all plans; everyone else the plans of their own province."""
        if actor.role in NATIONAL:
            return true()
        if actor.role in (Role.PROVINCE, Role.CITY, Role.SCHOOL):
            return cls.province_id == actor.province_id
        return false()


class Application(db.Model):
    """One school's application (试点申报) for one certificate level in one year."""

    __table_args__ = (UniqueConstraint("school_id", "year", "certificate_level_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("application_plan.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    #: copied from the plan so that the database itself keeps one application per year
    year: Mapped[int]
    #: fixed at creation: a different level is a different application
    certificate_level_id: Mapped[int] = mapped_column(ForeignKey("certificate_level.id"))
    explanation: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[ApplicationState] = mapped_column(enum_type(ApplicationState), default=ApplicationState.DRAFT)
    #: the reason of the last return, shown to the school
    return_reason: Mapped[str | None] = mapped_column(Text)
    #: "city" or "province": who returned it last, which decides where a resubmission goes
    returned_by: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]

    plan: Mapped[ApplicationPlan] = relationship()
    school: Mapped[School] = relationship()
    certificate_level: Mapped[CertificateLevel] = relationship()
    lines: Mapped[list[ApplicationLine]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="ApplicationLine.id")

    @property
    def name(self) -> str:
        return f"{self.school.name} {self.year}年 {self.certificate_level.label}"

    @property
    def quota(self) -> int:
        return sum(line.approved or 0 for line in self.lines)

    @property
    def requested_total(self) -> int:
        return sum(line.requested for line in self.lines)


class ApplicationLine(db.Model):
    """A declared major (拟申报专业) and, once approved, its quota: one row of the ledger."""

    __table_args__ = (
        UniqueConstraint("application_id", "major_id"),
        # The last line of defence against overselling, whatever the code above does.
        CheckConstraint("used >= 0", name="used_not_negative"),
        CheckConstraint("approved IS NULL OR used <= approved", name="used_within_approved"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    #: None when the plan does not ask for majors: one line for the whole school
    major_id: Mapped[int | None] = mapped_column(ForeignKey("major.id"))
    #: 本专业在校学生数
    students: Mapped[int]
    #: 本专业专任教师数
    teachers: Mapped[int]
    #: 申请培训人数
    requested: Mapped[int]
    #: set by the province at approval; the quota of this line
    approved: Mapped[int | None]
    #: places taken by registrations; changed only by the conditional updates in quota.py
    used: Mapped[int] = mapped_column(default=0)

    application: Mapped[Application] = relationship(back_populates="lines")
    major: Mapped[Major | None] = relationship()

    @property
    def remaining(self) -> int:
        return max((self.approved or 0) - self.used, 0)

    @property
    def major_label(self) -> str:
        if self.major is None:
            return "不分专业"
        return f"{self.major.code} {self.major.name}"
