"""Figures for the org and the provinces: certificates by validity state, applications waiting per reviewer level."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..catalog.models import CertificateLevel, School
from ..certificates.models import CertificateRecord
from ..certificates.states import CertificateState
from ..core import clock, permissions
from ..core.excel import write_table
from ..extensions import db
from .models import RenewalApplication
from .states import RenewalState, Validity
from .validity import cycles

#: records classified per batch (the state is computed on read, in Python, by the one rule)
BATCH = 2000


@dataclass
class Figures:
    #: validity state -> number of certificates
    by_state: dict[Validity, int]
    #: (certificate level label, validity state) -> number
    by_level: dict[tuple[str, Validity], int]
    #: reviewer level (市级 / 省级) -> applications waiting, and per city
    waiting: dict[RenewalState, int]
    waiting_by_city: list[tuple[str, int, int]]

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def levels(self) -> list[str]:
        return sorted({label for label, _ in self.by_level})


def figures(actor: Any) -> Figures:
    """Certificates by validity state and waiting applications, in the actor's scope (a province: its schools)."""
    permissions.require(actor, "renewals.stats")
    today = clock.now().date()
    by_state: Counter = Counter({state: 0 for state in Validity})
    by_level: Counter = Counter()
    last_id = 0
    base = (permissions.scoped(actor, select(CertificateRecord))
            .options(joinedload(CertificateRecord.certificate_level).joinedload(CertificateLevel.certificate))
            .where(CertificateRecord.state.in_([CertificateState.ISSUED, CertificateState.REVOKED])))
    while True:
        records = db.session.scalars(base.where(CertificateRecord.id > last_id)
                                     .order_by(CertificateRecord.id).limit(BATCH)).all()
        if not records:
            break
        last_id = records[-1].id
        labels = {r.id: r.certificate_level.label for r in records}
        for record_id, cycle in cycles(list(records), today).items():
            by_state[cycle.state] += 1
            by_level[(labels[record_id], cycle.state)] += 1
    waiting_rows = db.session.execute(
        select(RenewalApplication.state, func.count())
        .where(permissions.scope_clause(actor, RenewalApplication),
               RenewalApplication.state.in_([RenewalState.CITY_REVIEW, RenewalState.PROVINCE_REVIEW]))
        .group_by(RenewalApplication.state)).all()
    waiting = {RenewalState.CITY_REVIEW: 0, RenewalState.PROVINCE_REVIEW: 0}
    waiting.update({state: count for state, count in waiting_rows})
    from ..catalog.models import City

    city_rows = db.session.execute(
        select(City.name, RenewalApplication.state, func.count())
        .join(School, School.id == RenewalApplication.school_id).join(City, City.id == School.city_id)
        .where(permissions.scope_clause(actor, RenewalApplication),
               RenewalApplication.state.in_([RenewalState.CITY_REVIEW, RenewalState.PROVINCE_REVIEW]))
        .group_by(City.name, RenewalApplication.state).order_by(City.name)).all()
    per_city: dict[str, list[int]] = {}
    for city, state, count in city_rows:
        per_city.setdefault(city, [0, 0])[0 if state == RenewalState.CITY_REVIEW else 1] += count
    return Figures(dict(by_state), dict(by_level), waiting,
                   [(city, c, p) for city, (c, p) in per_city.items()])


def export(actor: Any) -> bytes:
    """The figures as an Excel sheet: one row per certificate level and validity state, then the waiting counts."""
    data = figures(actor)
    rows: list[list] = []
    for label in data.levels:
        for state in Validity:
            rows.append(["证书有效期状态", label, state.value, data.by_level.get((label, state), 0)])
    for state in Validity:
        rows.append(["证书有效期状态", "合计", state.value, data.by_state.get(state, 0)])
    for city, city_count, province_count in data.waiting_by_city:
        rows.append(["待审核再登记申请", city, RenewalState.CITY_REVIEW.value, city_count])
        rows.append(["待审核再登记申请", city, RenewalState.PROVINCE_REVIEW.value, province_count])
    for state, count in data.waiting.items():
        rows.append(["待审核再登记申请", "合计", state.value, count])
    out = BytesIO()
    write_table(out, "再登记统计", ["类别", "证书等级/地市", "状态", "数量"], rows, widths=[18, 30, 14, 10])
    return out.getvalue()
