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


# ---- the certificates behind the counts -------------------------------------------------------------

#: rows of one export at most (the list itself pages)
MAX_EXPORT = 50_000


def certificates_by_state(actor: Any, *, state: str = "", level_id: int | None = None):
    """The issued (and revoked) certificates in the actor's scope whose validity is `state` today,
    newest first. Filtered in SQL by the date ranges validity.state_clause derives from the rule,
    so a page reads only its own rows; the state shown next to each is computed by the rule itself."""
    from .validity import state_clause

    permissions.require(actor, "renewals.stats")
    today = clock.now().date()
    approved = (select(RenewalApplication.record_id.label("record_id"),
                       func.max(RenewalApplication.new_expiry).label("until"))
                .where(RenewalApplication.state == RenewalState.APPROVED)
                .group_by(RenewalApplication.record_id).subquery())
    query = (permissions.scoped(actor, select(CertificateRecord))
             .join(CertificateLevel, CertificateLevel.id == CertificateRecord.certificate_level_id)
             .outerjoin(approved, approved.c.record_id == CertificateRecord.id)
             .options(joinedload(CertificateRecord.certificate_level).joinedload(CertificateLevel.certificate),
                      joinedload(CertificateRecord.school))
             .where(CertificateRecord.issue_date.is_not(None))
             .order_by(CertificateRecord.issue_date.desc(), CertificateRecord.id.desc()))
    if state == Validity.REVOKED:
        query = query.where(CertificateRecord.state == CertificateState.REVOKED)
    elif state:
        query = query.where(CertificateRecord.state == CertificateState.ISSUED,
                            state_clause(Validity(state), today, CertificateRecord.issue_date,
                                         CertificateLevel.certificate_id, approved.c.until))
    else:
        query = query.where(CertificateRecord.state.in_([CertificateState.ISSUED, CertificateState.REVOKED]))
    if level_id:
        query = query.where(CertificateRecord.certificate_level_id == level_id)
    return query


def export_certificates(actor: Any, *, state: str = "", level_id: int | None = None) -> bytes:
    """The filtered list as Excel, ID numbers masked, read in batches."""
    from ..core import idcard

    query = certificates_by_state(actor, state=state, level_id=level_id)

    def rows():
        offset = 0
        while offset < MAX_EXPORT:
            batch = db.session.scalars(query.limit(BATCH).offset(offset)).unique().all()
            if not batch:
                return
            found = cycles(list(batch))
            for r in batch:
                c = found.get(r.id)
                yield [r.name, idcard.mask(r.id_number), r.certificate_level.label, r.number or "",
                       f"{r.issue_date:%Y-%m-%d}", r.school.name, c.state.value if c else "",
                       f"{c.valid_until:%Y-%m-%d}" if c else "", c.registration_number if c else ""]
            offset += BATCH

    out = BytesIO()
    write_table(out, "证书有效期", ["姓名", "证件号码", "证书等级", "证书编号", "发证日期", "院校", "有效期状态",
                                  "有效期至", "再登记编号"], rows(), widths=[10, 22, 30, 22, 12, 28, 10, 12, 18])
    return out.getvalue()
