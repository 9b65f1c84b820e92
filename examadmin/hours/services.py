"""Hours (学时): what a person has verified, and the operations on hours records."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Iterable

from sqlalchemy import func, select

from ..candidates.models import IdType
from ..extensions import db
from .models import HoursKind, HoursRecord
from .states import HoursState


def verified_hours(id_type: IdType | str, id_number: str, kinds: Iterable[HoursKind | str] | None = None,
                   since: date | None = None, until: date | None = None) -> Decimal:
    """The sum of a person's 已核验 hours, optionally of the given kinds, dated since..until inclusive."""
    query = select(func.coalesce(func.sum(HoursRecord.hours), 0)).where(
        HoursRecord.id_type == IdType(id_type), HoursRecord.id_number == id_number,
        HoursRecord.state == HoursState.VERIFIED)
    if kinds is not None:
        query = query.where(HoursRecord.kind.in_([HoursKind(k) for k in kinds]))
    if since is not None:
        query = query.where(HoursRecord.date >= since)
    if until is not None:
        query = query.where(HoursRecord.date <= until)
    return Decimal(db.session.scalar(query)).quantize(Decimal("0.1"))
