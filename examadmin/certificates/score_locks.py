"""Registers the certificates area with the scores area (scores.services.LOCKED_SOURCES): a score
whose result has a certificate record that is not 已撤销 cannot change. Otherwise a corrected
score could fail a person who holds a certificate that verification still calls 有效. Scores is
the earlier area and never imports certificates; this module plugs the rule in."""
from __future__ import annotations

from sqlalchemy import exists, select

from ..extensions import db
from ..scores import services as scores
from .models import CertificateRecord
from .states import CertificateState

#: registrations per query (below every driver's bound-parameter limit)
CHUNK = 500


def locked_registrations(plan_id: int, registration_ids: set[int]) -> dict[int, str]:
    """Of these registrations of the plan, those with a certificate record not 已撤销: id -> its state,
    with the certificate number once the record has one (「已发放；证书编号：…」), so that the refusal
    names the certificate to revoke."""
    live = CertificateRecord.state != CertificateState.REVOKED
    # Most writes happen before any certificate of the plan exists: one indexed look answers them.
    if not db.session.scalar(select(exists().where(CertificateRecord.plan_id == plan_id, live))):
        return {}
    ids = sorted(registration_ids)
    found: dict[int, str] = {}
    for start in range(0, len(ids), CHUNK):
        rows = db.session.execute(select(CertificateRecord.registration_id, CertificateRecord.state,
                                         CertificateRecord.number).where(
            CertificateRecord.registration_id.in_(ids[start:start + CHUNK]), live))
        found.update({registration_id: CertificateState(state).value + (f"；证书编号：{number}" if number else "")
                      for registration_id, state, number in rows})
    return found


if locked_registrations not in scores.LOCKED_SOURCES:
    scores.LOCKED_SOURCES.append(locked_registrations)
