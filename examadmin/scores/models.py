"""Scores (科目成绩) per registration and subject, results (考证结果), publication and objections."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, false, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..candidates.models import IdType
from ..core import clock
from ..core.columns import enum_type
from ..core.roles import NATIONAL, Role
from ..exams.models import ExamPlan, Subject
from ..extensions import db
from ..registrations.models import Registration
from .states import ObjectionState, PublicationStage


class ScorePublication(db.Model):
    """The publication stage of one plan's scores (成绩登记中 → 成绩公示中 → 成绩已发布)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), unique=True)
    stage: Mapped[PublicationStage] = mapped_column(enum_type(PublicationStage), default=PublicationStage.ENTERING)
    #: length of the display period in days (configurable per plan)
    display_days: Mapped[int] = mapped_column(default=5)
    display_started_at: Mapped[datetime | None]
    #: objections are accepted until this moment
    display_ends_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]

    plan: Mapped[ExamPlan] = relationship()

    @classmethod
    def scope_clause(cls, actor):
        from sqlalchemy import true

        return true()  # the stage of a plan is no secret; scores are scoped by their own rows


def visible_from_display(cls, actor):
    """The scope of scores and results: the org sees all; schools, provinces and candidates
    (their own) only once the plan is on display (成绩公示中) or final."""
    from ..core.permissions import column_scope

    if actor.role in NATIONAL:
        return column_scope(actor, cls)
    visible = cls.plan_id.in_(select(ScorePublication.plan_id).where(
        ScorePublication.stage.in_([PublicationStage.DISPLAY, PublicationStage.FINAL])))
    if actor.role == Role.CANDIDATE:
        if not actor.candidate_id:
            return false()
        return visible & cls.registration_id.in_(
            select(Registration.id).where(Registration.candidate_id == actor.candidate_id))
    return visible & column_scope(actor, cls)


class Score(db.Model):
    """The score of one registration in one subject; 缺考 and 违纪 are marks of their own."""

    __table_args__ = (
        UniqueConstraint("registration_id", "subject_id"),
        CheckConstraint("score IS NULL OR score >= 0", name="score_not_negative"),
        # a mark excludes a score: 缺考 or 违纪 rows carry none
        CheckConstraint("NOT (absent AND score IS NOT NULL)", name="absent_has_no_score"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    #: copied for scoping and per-plan queries
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    #: 0..subject.full_mark with at most one decimal; None while not entered or when marked
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    #: 缺考 (pre-marked from check-in's absent seats)
    absent: Mapped[bool] = mapped_column(default=False)
    #: 违纪
    violation: Mapped[bool] = mapped_column(default=False)
    entered_at: Mapped[datetime | None]
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    registration: Mapped[Registration] = relationship()
    subject: Mapped[Subject] = relationship()

    @property
    def entered(self) -> bool:
        return self.score is not None or self.absent or self.violation

    @classmethod
    def scope_clause(cls, actor):
        return visible_from_display(cls, actor)


class Result(db.Model):
    """The computed result (考证结果) of a registration: passed when every subject reaches its pass mark.

    Never typed: recomputed from the scores whenever one changes. A failed result of a
    final plan makes the person a retaker of the certificate level (id_type/id_number are
    copied so that registration can find it across schools).
    """

    __table_args__ = (Index("ix_result_person_level", "id_type", "id_number", "certificate_level_id"),
                      # a plan's passed and failed counts (scores page) from the index alone
                      Index("ix_result_plan_passed", "plan_id", "passed"))
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    certificate_level_id: Mapped[int] = mapped_column(ForeignKey("certificate_level.id"), index=True)
    id_type: Mapped[IdType] = mapped_column(enum_type(IdType, 30))
    id_number: Mapped[str] = mapped_column(String(30))
    #: None while some subject has no score or mark yet
    passed: Mapped[bool | None]
    #: the sum over subjects, for statistics (None when any subject is marked or missing)
    total: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    computed_at: Mapped[datetime] = mapped_column(default=clock.now)

    registration: Mapped[Registration] = relationship()

    @classmethod
    def scope_clause(cls, actor):
        return visible_from_display(cls, actor)


class ScoreObjection(db.Model):
    """A school's objection to one score during the display period, answered by the org."""

    id: Mapped[int] = mapped_column(primary_key=True)
    score_id: Mapped[int] = mapped_column(ForeignKey("score.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[ObjectionState] = mapped_column(enum_type(ObjectionState), default=ObjectionState.OPEN, index=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    raised_at: Mapped[datetime] = mapped_column(default=clock.now)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    answered_at: Mapped[datetime | None]

    score: Mapped[Score] = relationship()

    @property
    def name(self) -> str:
        return f"成绩异议 #{self.id}"
