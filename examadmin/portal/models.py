"""Candidate accounts (考生账号) of the portal, opened by the school with a one-time activation code."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..candidates.models import Candidate
from ..core import clock
from ..core.roles import Role
from ..extensions import db


class PortalAccount(db.Model):
    """A candidate's account: the user it signs in as and the state of its activation.

    The sign-in name is the candidate's ID number, read from the candidate (not copied), so
    that a correction of the number moves the sign-in with it.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id"), unique=True)
    #: the candidate's school, for the permission layer
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), unique=True)
    #: keyed hash (HMAC-SHA256) of the one-time activation code; None once it was used
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_issued_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    candidate: Mapped[Candidate] = relationship()
    user = relationship("User")

    @property
    def name(self) -> str:
        return f"{self.candidate.name} 的考生账号"

    @property
    def state_label(self) -> str:
        return "已激活" if self.activated_at else "待激活"

    @classmethod
    def scope_clause(cls, actor):
        from ..core.permissions import column_scope

        if actor.role == Role.CANDIDATE:
            return cls.candidate_id == actor.candidate_id if actor.candidate_id else false()
        return column_scope(actor, cls)
