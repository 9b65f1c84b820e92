"""Seat scheduling (排考), admission tickets (准考证), proctors (监考人员) and check-in."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..candidates.models import IdType
from ..core import clock
from ..core.columns import enum_type
from ..core.roles import Role
from ..exams.models import ExamPlan, ExamRoom, ExamSession, Subject
from ..extensions import db
from ..registrations.models import Registration
from ..sites.models import ExamSite


class ScheduleRun(db.Model):
    """One run of scheduling for a plan and site: its shuffle seed, so the plan can be reproduced."""

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("exam_site.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    #: the seed of the shuffle that spread classes over seats
    seed: Mapped[int]
    placed: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    plan: Mapped[ExamPlan] = relationship()
    site: Mapped[ExamSite] = relationship()


class Seat(db.Model):
    """Where a registration sits one subject: a session (of the subject's alternatives), a room and a seat."""

    __table_args__ = (
        # A registration sits each subject of its level once.
        UniqueConstraint("registration_id", "subject_id"),
        # A seat of a room holds one candidate per session.
        UniqueConstraint("room_id", "session_id", "seat_number"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    #: copied from the registration and the room for scoping and per-site queries
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("exam_site.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("exam_room.id"), index=True)
    #: 1..room.seats; never renumbered (a cancelled registration leaves a gap)
    seat_number: Mapped[int]
    schedule_run_id: Mapped[int | None] = mapped_column(ForeignKey("schedule_run.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    #: arrival recorded at check-in by a proctor scanning the ticket's QR code
    checked_in_at: Mapped[datetime | None]
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: marked 缺考 after the session ended without a check-in; the scores step reads it
    absent: Mapped[bool] = mapped_column(default=False)

    registration: Mapped[Registration] = relationship()
    subject: Mapped[Subject] = relationship()
    session: Mapped[ExamSession] = relationship()
    room: Mapped[ExamRoom] = relationship()

    @classmethod
    def scope_clause(cls, actor):
        from ..core.permissions import column_scope

        if actor.role == Role.CANDIDATE:
            return cls.registration_id.in_(
                db.select(Registration.id).where(Registration.candidate_id == actor.candidate_id)
            ) if actor.candidate_id else false()
        if actor.role == Role.PROCTOR:
            # the seats of the rooms and sessions the proctor is assigned to
            mine = (db.select(ProctorAssignment.id).join(Proctor)
                    .where(Proctor.user_id == actor.id, ProctorAssignment.room_id == cls.room_id,
                           ProctorAssignment.session_id == cls.session_id))
            return mine.exists()
        return column_scope(actor, cls)


class AdmissionTicket(db.Model):
    """The admission ticket number (准考证号) of a registration: unique, never changed once issued."""

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    #: year, plan, site, room and seat with a check digit; format in README
    ticket_number: Mapped[str] = mapped_column(String(24), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=clock.now)

    registration: Mapped[Registration] = relationship()

    @classmethod
    def scope_clause(cls, actor):
        from ..core.permissions import column_scope

        if actor.role == Role.CANDIDATE:
            return cls.registration_id.in_(
                db.select(Registration.id).where(Registration.candidate_id == actor.candidate_id)
            ) if actor.candidate_id else false()
        return column_scope(actor, cls)


class ProctorRole(StrEnum):
    CHIEF = "主监考"
    ASSISTANT = "副监考"


class Proctor(db.Model):
    """A proctor (监考人员) registered by a school."""

    __table_args__ = (UniqueConstraint("school_id", "id_type", "id_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(20), default="")
    id_type: Mapped[IdType] = mapped_column(enum_type(IdType, 30), default=IdType.RESIDENT)
    #: normalised; masked everywhere it is shown
    id_number: Mapped[str] = mapped_column(String(30))
    role: Mapped[ProctorRole] = mapped_column(enum_type(ProctorRole, 10), default=ProctorRole.CHIEF)
    #: the proctor's own account (role proctor) for check-in, if one was made
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    assignments: Mapped[list[ProctorAssignment]] = relationship(back_populates="proctor")

    @classmethod
    def scope_clause(cls, actor):
        from ..core.permissions import column_scope

        if actor.role == Role.PROCTOR:
            return cls.user_id == actor.id
        return column_scope(actor, cls)


class ProctorAssignment(db.Model):
    """A proctor in a room for one session; nobody proctors two rooms of one session."""

    __table_args__ = (UniqueConstraint("proctor_id", "session_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    proctor_id: Mapped[int] = mapped_column(ForeignKey("proctor.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("exam_room.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    proctor: Mapped[Proctor] = relationship(back_populates="assignments")
    room: Mapped[ExamRoom] = relationship()
    session: Mapped[ExamSession] = relationship()

    @classmethod
    def scope_clause(cls, actor):
        from ..core.permissions import column_scope

        if actor.role == Role.PROCTOR:
            return cls.proctor_id.in_(db.select(Proctor.id).where(Proctor.user_id == actor.id))
        return column_scope(actor, cls)
