"""Candidates (考生), their photos and verification, and corrections of locked data."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..catalog.models import Major, School
from ..core import clock
from ..core.columns import enum_type
from ..core.roles import Role
from ..extensions import db
from .states import CandidateState, CorrectionState


class CandidateKind(StrEnum):
    STUDENT = "本校考生"
    SOCIAL = "社会考生"


class IdType(StrEnum):
    RESIDENT = "居民身份证"
    HK_MACAO = "港澳居民来往内地通行证"
    TAIWAN = "台湾居民来往大陆通行证"
    PASSPORT = "护照"
    FOREIGN_RESIDENT = "外国人永久居留身份证"


class Candidate(db.Model):
    __table_args__ = (
        # Hidden candidates keep their row, so the same ID number cannot come back in.
        UniqueConstraint("school_id", "id_type", "id_number"),
        Index("ix_candidate_school_state", "school_id", "state"),
        # the capped counts per state of a wide scope (core.counts) read this index only
        Index("ix_candidate_state_hidden", "state", "hidden"),
        # a school's list, newest first, read in order from the index (not the whole table's ids)
        Index("ix_candidate_school_id_id", "school_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    kind: Mapped[CandidateKind] = mapped_column(enum_type(CandidateKind), default=CandidateKind.STUDENT)
    name: Mapped[str] = mapped_column(String(50))
    id_type: Mapped[IdType] = mapped_column(enum_type(IdType, 30), default=IdType.RESIDENT)
    #: normalised (core.idcard.normalise); locked at 信息准确
    id_number: Mapped[str] = mapped_column(String(30), index=True)
    #: 男 / 女
    gender: Mapped[str] = mapped_column(String(2))
    birth_date: Mapped[date | None]
    ethnicity: Mapped[str] = mapped_column(String(20), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    #: school students only: a catalogue row of the school's type
    major_id: Mapped[int | None] = mapped_column(ForeignKey("major.id"))
    class_name: Mapped[str] = mapped_column(String(50), default="")
    student_number: Mapped[str] = mapped_column(String(30), default="")
    enrolment_year: Mapped[int | None]
    #: storage key of the standard photo (JPEG 358×441), None until uploaded
    photo_key: Mapped[str | None] = mapped_column(String(200))
    photo_uploaded_at: Mapped[datetime | None]
    state: Mapped[CandidateState] = mapped_column(enum_type(CandidateState), default=CandidateState.PENDING)
    #: the reasons of the last failed verification, shown to the school
    verify_reasons: Mapped[list | None] = mapped_column(JSON)
    verified_at: Mapped[datetime | None]
    #: deleted by the school: hidden everywhere, restorable only by the org
    hidden: Mapped[bool] = mapped_column(default=False)
    hidden_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    school: Mapped[School] = relationship()
    major: Mapped[Major | None] = relationship()

    @property
    def locked(self) -> bool:
        return self.state == CandidateState.ACCURATE

    @classmethod
    def scope_clause(cls, actor):
        """Staff by the school scope; a candidate sees only their own record."""
        from ..core.permissions import column_scope

        if actor.role == Role.CANDIDATE:
            return cls.id == actor.candidate_id if actor.candidate_id else false()
        return column_scope(actor, cls)


class CorrectionRequest(db.Model):
    """A change of locked data (name, ID number) asked by the school with a letter (函件)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), index=True)
    #: copied from the candidate for scoping
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    #: the values asked for, e.g. {"name": "...", "id_number": "..."}
    new_values: Mapped[dict] = mapped_column(JSON)
    #: the values at the time of the request, for the reviewer
    old_values: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    letter_key: Mapped[str] = mapped_column(String(200))
    letter_name: Mapped[str] = mapped_column(String(200))
    state: Mapped[CorrectionState] = mapped_column(enum_type(CorrectionState), default=CorrectionState.PENDING)
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    decided_at: Mapped[datetime | None]

    candidate: Mapped[Candidate] = relationship()

    @property
    def name(self) -> str:
        return f"{self.candidate.name} 的信息更正"

    @classmethod
    def scope_clause(cls, actor):
        from ..core.permissions import column_scope

        if actor.role == Role.CANDIDATE:
            return false()
        return column_scope(actor, cls)
