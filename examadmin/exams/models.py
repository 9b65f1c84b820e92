"""Subjects, exam plans with their fees and sessions, and exam rooms."""
from __future__ import annotations

import re

from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint, exists, select, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..catalog.models import Certificate, CertificateLevel, Level
from ..core import clock
from ..core.columns import enum_type
from ..core.roles import NATIONAL
from ..extensions import db
from ..sites.models import ExamSite
from .states import PlanState


#: the round of a plan in its name: 「2026年第3次全国统一考试（…）」
_ROUND = re.compile(r"第\s*(\d+)\s*次")


def plan_short_name(name: str) -> str:
    """A plan's name in a few characters, for lists that name it beside a level: 「第3次」."""
    found = _ROUND.search(name)
    if found:
        return f"第{found.group(1)}次"
    return name if len(name) <= 10 else name[:9] + "…"


class ExamMode(StrEnum):
    COMPUTER = "机考"
    WRITTEN = "笔试"
    PRACTICAL = "实操"


class RoomType(StrEnum):
    COMPUTER_ROOM = "机房"
    CLASSROOM = "普通教室"
    TRAINING_ROOM = "实训室"


#: the exam mode decides the kind of room a subject is sat in
ROOM_TYPE = {ExamMode.COMPUTER: RoomType.COMPUTER_ROOM, ExamMode.WRITTEN: RoomType.CLASSROOM,
             ExamMode.PRACTICAL: RoomType.TRAINING_ROOM}


class Subject(db.Model):
    """A subject (考试科目) of one certificate level; a level is passed when every subject is."""

    __table_args__ = (UniqueConstraint("certificate_level_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_level_id: Mapped[int] = mapped_column(ForeignKey("certificate_level.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    mode: Mapped[ExamMode] = mapped_column(enum_type(ExamMode, 10))
    full_mark: Mapped[int]
    pass_mark: Mapped[int]

    certificate_level: Mapped[CertificateLevel] = relationship()

    @property
    def room_type(self) -> RoomType:
        return ROOM_TYPE[self.mode]

    @property
    def level(self) -> Level:
        return self.certificate_level.level

    @property
    def label(self) -> str:
        return f"{self.certificate_level.level.value} · {self.name}（{self.mode.value}）"

    @classmethod
    def scope_clause(cls, actor):
        # Reference data of a certificate: everyone who may see exams may see its subjects.
        return true()


class ExamPlan(db.Model):
    """An exam plan (考试计划) of the org: windows, fees per level and sessions."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True)
    registration_start: Mapped[datetime]
    registration_end: Mapped[datetime]
    #: registrations unpaid at this moment lapse (视为自动放弃)
    payment_deadline: Mapped[datetime]
    ticket_start: Mapped[datetime]
    ticket_end: Mapped[datetime]
    state: Mapped[PlanState] = mapped_column(enum_type(PlanState), default=PlanState.DRAFT, index=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    certificate: Mapped[Certificate] = relationship()
    fees: Mapped[list[PlanFee]] = relationship(back_populates="plan", cascade="all, delete-orphan",
                                               order_by="PlanFee.level")
    sessions: Mapped[list[ExamSession]] = relationship(
        back_populates="plan", cascade="all, delete-orphan",
        order_by=lambda: [ExamSession.date, ExamSession.start_time, ExamSession.id])

    @property
    def published(self) -> bool:
        return self.state == PlanState.PUBLISHED

    @property
    def short_name(self) -> str:
        """The plan in a few characters, for lists that name it beside a level: 「第3次」."""
        return plan_short_name(self.name)

    @property
    def has_rooms(self) -> bool:
        return bool(db.session.scalar(select(exists().where(ExamRoom.plan_id == self.id))))

    def registration_open(self, at: datetime | None = None) -> bool:
        at = at or clock.now()
        return self.published and self.registration_start <= at <= self.registration_end

    def stage(self, at: datetime | None = None) -> str:
        """Where a published plan is in its year by the clock: 未开始报考, 报考中, 报考已截止
        (waiting for the exam), 考试已结束; a draft is 草稿. The stages after the exam (成绩公示中,
        成绩已发布) belong to scores, which adds them on the pages through a template global."""
        at = at or clock.now()
        if not self.published:
            return self.state.value
        if at < self.registration_start:
            return "未开始报考"
        if at <= self.registration_end:
            return "报考中"
        if self.sessions and at >= max(s.ends_at for s in self.sessions):
            return "考试已结束"
        return "报考已截止"

    def fee_for(self, level: Level) -> Decimal | None:
        return next((f.amount for f in self.fees if f.level == level), None)

    @classmethod
    def scope_clause(cls, actor):
        # The org works on drafts; everyone else sees a plan once it is published.
        if actor.role in NATIONAL:
            return true()
        return cls.state == PlanState.PUBLISHED



#: the one order of plan lists and drop-downs: newest registration period first (then newest record)
PLAN_ORDER = (ExamPlan.registration_start.desc(), ExamPlan.id.desc())

class PlanFee(db.Model):
    """The registration fee of one level in a plan."""

    __table_args__ = (UniqueConstraint("plan_id", "level"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    level: Mapped[Level] = mapped_column(enum_type(Level, 10))
    #: yuan, two decimals
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))

    plan: Mapped[ExamPlan] = relationship(back_populates="fees")

    @classmethod
    def scope_clause(cls, actor):
        return cls.plan_id.in_(select(ExamPlan.id).where(ExamPlan.scope_clause(actor)))


class ExamSession(db.Model):
    """One sitting of a plan: a date and time for one subject of one level."""

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    date: Mapped[date]
    start_time: Mapped[time]
    end_time: Mapped[time]

    plan: Mapped[ExamPlan] = relationship(back_populates="sessions")
    subject: Mapped[Subject] = relationship()

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.date, self.start_time)

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.date, self.end_time)

    @property
    def level(self) -> Level:
        return self.subject.level

    @property
    def label(self) -> str:
        return (f"{self.date:%Y-%m-%d} {self.start_time:%H:%M}-{self.end_time:%H:%M} "
                f"{self.subject.level.value} {self.subject.name}")

    def overlaps(self, other: ExamSession) -> bool:
        return self.date == other.date and self.start_time < other.end_time and other.start_time < self.end_time

    @classmethod
    def scope_clause(cls, actor):
        return cls.plan_id.in_(select(ExamPlan.id).where(ExamPlan.scope_clause(actor)))


class ExamRoom(db.Model):
    """A room (考场) a school sets up at one of its sites for one subject of a plan."""

    __table_args__ = (UniqueConstraint("plan_id", "site_id", "subject_id", "name"),
                      UniqueConstraint("plan_id", "site_id", "number"))
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("exam_site.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    #: the site's school, kept here so that the permission layer scopes rooms by it
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    #: the room's name or number as shown on the door list, e.g. "实训楼 301"
    name: Mapped[str] = mapped_column(String(40))
    seats: Mapped[int]
    #: set by seat scheduling once candidates are placed; then only more seats may be added
    scheduled: Mapped[bool] = mapped_column(default=False)
    #: 考场号: 1, 2, ... within its plan and site, given when the room is first scheduled and
    #: never changed; part of the admission ticket numbers of its seats
    number: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    plan: Mapped[ExamPlan] = relationship()
    site: Mapped[ExamSite] = relationship()
    subject: Mapped[Subject] = relationship()

    @property
    def room_type(self) -> RoomType:
        return self.subject.room_type
