"""The demo's certificates after issue: one revoked, paper certificates printed and sent, a verification.

It works on what the issuance steps left: the issued certificates of the demo school. It
never inserts issued records itself (a certificate exists only through issuance), so on a
tree without issued certificates it does nothing. Idempotent: run again, nothing changes.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..catalog.models import School
from ..core.auth import User
from ..extensions import db
from . import paper, revocation, verification
from .models import CertificateRecord, PaperBatch
from .states import CertificateState, PaperState

DEMO_SCHOOL = "5150000001"
REVOKE_REASON = "演示：考生身份信息核查不符，经评价组织复核撤销"
CARRIER, TRACKING = "中国邮政EMS", "EMS1082026001"


def load_demo() -> dict[str, Any]:
    """Revoke the last issued demo certificate, put the others on paper (sent), verify the first once."""
    org = db.session.scalar(select(User).where(User.username == "org"))
    school = db.session.scalar(select(School).where(School.code == DEMO_SCHOOL))
    if org is None or school is None:
        return {}
    records = db.session.scalars(
        select(CertificateRecord).where(CertificateRecord.school_id == school.id,
                                        CertificateRecord.state.in_([CertificateState.ISSUED,
                                                                     CertificateState.REVOKED]))
        .order_by(CertificateRecord.id)).all()
    if len(records) < 2:
        return {}
    done: dict[str, Any] = {"revoked": 0, "paper_batches": 0}
    if not any(r.state == CertificateState.REVOKED for r in records):
        revocation.revoke(org, records[-1].id, REVOKE_REASON)
        done["revoked"] = 1
    plan_id = records[0].plan_id
    if any(r.paper_batch_id is None and r.state == CertificateState.ISSUED and r.plan_id == plan_id
           for r in records):
        paper.start_printing(org, plan_id, school.id)
        done["paper_batches"] = 1
    for batch in db.session.scalars(select(PaperBatch).where(PaperBatch.school_id == school.id,
                                                            PaperBatch.state == PaperState.PRINTING)):
        paper.ship(org, batch.id, CARRIER, TRACKING)
    first = records[0]
    if first.state == CertificateState.ISSUED:
        verification.verify_by_code(first.verify_code, ip="demo")
    db.session.flush()
    done["try_number"], done["try_id_number"] = first.number, first.id_number
    return done
