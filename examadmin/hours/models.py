"""Hours after the certificate (学时): continuing education, supervision and practice, and the
minimum supervision and practice hours each certificate level asks at registration (DOMAIN.md §12)."""
from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Numeric, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..candidates.models import Candidate, IdType
from ..catalog.models import CertificateLevel, Level, School
from ..core import clock
from ..core.columns import enum_type
from ..core.roles import Role
from ..extensions import db
from .states import HoursState


class HoursKind(StrEnum):
    CONTINUING = "继续教育"
    SUPERVISION = "督导"
    PRACTICE = "实践"


class HoursSource(StrEnum):
    SELF = "本人填报"
    IMPORT = "机构导入"


class RequirementMode(StrEnum):
    REFUSE = "拒绝"
    WARN = "提醒"


class HoursRecord(db.Model):
    """One entry of a person's hours: kind, date, provider, hours and its evidence.

    Keyed by the PERSON (ID type and number, as on Candidate): the hours follow the holder
    across schools; `candidate_id` is only the candidate record the entry was matched to.
    """

    __table_args__ = (
        Index("ix_hours_record_person", "id_type", "id_number", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    id_type: Mapped[IdType] = mapped_column(enum_type(IdType, 30), default=IdType.RESIDENT)
    id_number: Mapped[str] = mapped_column(String(30))
    #: the candidate record the entry was matched to (the holder's, at entry or import)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), index=True)
    #: the school that verifies: the holder's school
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    kind: Mapped[HoursKind] = mapped_column(enum_type(HoursKind, 10))
    date: Mapped[dt.date]
    #: the training provider or practice institution (机构)
    provider: Mapped[str] = mapped_column(String(100), index=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    #: storage key of the evidence (PDF or image); None for imported rows (the list is the evidence)
    evidence_key: Mapped[str | None] = mapped_column(String(200))
    evidence_filename: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[HoursSource] = mapped_column(enum_type(HoursSource, 10), default=HoursSource.SELF)
    state: Mapped[HoursState] = mapped_column(enum_type(HoursState, 10), default=HoursState.PENDING, index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reviewed_at: Mapped[datetime | None]
    #: why the reviewer returned it, shown to the holder
    return_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    candidate: Mapped[Candidate] = relationship()
    school: Mapped[School] = relationship()

    @property
    def label(self) -> str:
        return f"{self.kind.value}学时 {self.date:%Y-%m-%d} {self.hours} 小时"

    @classmethod
    def scope_clause(cls, actor):
        """Staff by the school scope; a candidate sees the records of their own candidate record only
        (another school's record of the same ID number is not theirs to see: evidence, editing)."""
        from ..core.permissions import column_scope

        if actor.role == Role.CANDIDATE:
            if not actor.candidate_id:
                return false()
            return cls.candidate_id == actor.candidate_id
        return column_scope(actor, cls)


#: the standard's minimums (DOMAIN.md §12) for a level the org has not configured
DEFAULT_REQUIREMENTS: dict[Level, tuple[int, int]] = {
    Level.MIDDLE: (50, 125),
    Level.SENIOR: (100, 250),
}


class HoursRequirement(db.Model):
    """The verified supervision and practice hours registering for a level needs, and whether
    a shortfall refuses the registration (拒绝) or only warns (提醒). A level without a row uses
    DEFAULT_REQUIREMENTS (初级: none)."""

    __table_args__ = (UniqueConstraint("certificate_level_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_level_id: Mapped[int] = mapped_column(ForeignKey("certificate_level.id"))
    min_supervision: Mapped[int] = mapped_column(default=0)
    min_practice: Mapped[int] = mapped_column(default=0)
    mode: Mapped[RequirementMode] = mapped_column(enum_type(RequirementMode, 10), default=RequirementMode.REFUSE)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    certificate_level: Mapped[CertificateLevel] = relationship()

    @classmethod
    def scope_clause(cls, actor):
        from sqlalchemy import true

        return true() if actor.role != Role.CANDIDATE else false()
