"""Registers the renewals area's validity cycles with the hours area (hours.services.CYCLE_SOURCES):
继续教育 hours must be dated in the holder's current cycle of an issued certificate. Hours is the
earlier area and never imports renewals; this module plugs the rule in."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..catalog.models import CertificateLevel
from ..certificates.models import CertificateRecord
from ..certificates.states import CertificateState
from ..extensions import db
from ..hours import services as hours
from .states import Validity
from .validity import cycles


def cycle_spans(persons: list[tuple], today: date) -> dict[tuple, list[hours.CycleSpan]]:
    """person -> the current cycle of each of their issued (or revoked) certificates."""
    wanted = set(persons)
    numbers = sorted({number for _, number in wanted})
    found: dict[tuple, list[hours.CycleSpan]] = {}
    for start in range(0, len(numbers), 900):  # SQLite's bound-parameter limit
        records = db.session.scalars(
            select(CertificateRecord)
            .where(CertificateRecord.id_number.in_(numbers[start:start + 900]),
                   CertificateRecord.state.in_([CertificateState.ISSUED, CertificateState.REVOKED]),
                   CertificateRecord.issue_date.is_not(None))
            .options(joinedload(CertificateRecord.certificate_level).joinedload(CertificateLevel.certificate))).all()
        records = [r for r in records if (r.id_type, r.id_number) in wanted]
        current_of = cycles(records, today)  # two queries for the whole chunk
        for record in records:
            current = current_of.get(record.id)
            if current is None:
                continue
            renewable = current.state not in (Validity.REVOKED, Validity.LAPSED)
            # a late re-registration (补办) counts the hours dated up to today
            last = max(current.valid_until, today) if current.late else current.valid_until
            found.setdefault((record.id_type, record.id_number), []).append(hours.CycleSpan(
                record.certificate_level.label, current.valid_from, last, renewable))
    return found


if cycle_spans not in hours.CYCLE_SOURCES:
    hours.CYCLE_SOURCES.append(cycle_spans)
