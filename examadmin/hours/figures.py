"""Hours per provider (学时机构统计) for the org: records, people, hours and the verified share."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import case, distinct, func, select

from ..core import permissions
from ..core.excel import write_table
from ..extensions import db
from .models import HoursKind, HoursRecord
from .states import HoursState

#: providers shown on the page and in the export (the largest first)
MAX_PROVIDERS = 5000


@dataclass
class ProviderRow:
    provider: str
    records: int
    people: int
    hours: Decimal
    verified_hours: Decimal

    @property
    def verified_share(self) -> Decimal:
        """Verified hours as a percentage of all recorded hours (one decimal)."""
        if not self.hours:
            return Decimal(0)
        return (self.verified_hours * 100 / self.hours).quantize(Decimal("0.1"))


def providers(actor: Any, kind: str = "") -> list[ProviderRow]:
    """One row per provider, the most hours first; returned records are counted as recorded."""
    permissions.require(actor, "hours.figures")
    verified = func.sum(case((HoursRecord.state == HoursState.VERIFIED, HoursRecord.hours), else_=0))
    query = (select(HoursRecord.provider, func.count(HoursRecord.id),
                    func.count(distinct(HoursRecord.id_number)),  # the same number under two ID types: not met
                    func.sum(HoursRecord.hours), verified)
             .where(permissions.scope_clause(actor, HoursRecord))
             .group_by(HoursRecord.provider).order_by(func.sum(HoursRecord.hours).desc(), HoursRecord.provider)
             .limit(MAX_PROVIDERS))
    if kind in {k.value for k in HoursKind}:
        query = query.where(HoursRecord.kind == HoursKind(kind))
    return [ProviderRow(p, n, people, Decimal(total or 0).quantize(Decimal("0.1")),
                        Decimal(ok or 0).quantize(Decimal("0.1")))
            for p, n, people, total, ok in db.session.execute(query)]


EXPORT_HEADERS = ["机构", "记录数", "人数", "学时合计", "已核验学时", "已核验占比（%）"]


def export(actor: Any, target, kind: str = "") -> None:
    """The figures as an Excel sheet (a provider's name beginning with = stays text: core.excel)."""
    rows = providers(actor, kind)
    write_table(target, "学时机构统计", EXPORT_HEADERS,
                [[r.provider, r.records, r.people, float(r.hours), float(r.verified_hours), float(r.verified_share)]
                 for r in rows])
