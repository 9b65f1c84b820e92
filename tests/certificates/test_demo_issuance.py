"""The demo issues the past plan's certificates through every stage with the real services:
records, the org's signature, school1's QR sign-off, the seal, the issue; then one revoked."""
from __future__ import annotations

from sqlalchemy import select

from examadmin.certificates import verification
from examadmin.certificates.models import CertificateRecord, CertificateSignoff
from examadmin.certificates.states import CertificateState
from examadmin.core.auth import User
from examadmin.extensions import db


def test_the_demo_carries_certificates_through_both_sign_off_stages(cli):
    assert cli.invoke(args=["demo"]).exit_code == 0
    records = db.session.scalars(select(CertificateRecord).order_by(CertificateRecord.id)).all()
    states = [r.state for r in records]
    assert states.count(CertificateState.REVOKED) == 1 and states.count(CertificateState.ISSUED) >= 2
    signer = db.session.scalar(select(User).where(User.username == "school1"))
    signoff = db.session.scalar(select(CertificateSignoff))
    assert signoff.confirmed_by_id == signer.id and all(r.signoff_id == signoff.id for r in records)
    issued = next(r for r in records if r.state == CertificateState.ISSUED)
    answer = verification.verify_by_number(issued.number, issued.id_number)
    assert answer.status == verification.VALID and answer.signature_ok
    assert cli.invoke(args=["demo"]).exit_code == 0  # idempotent
    assert db.session.scalar(select(db.func.count(CertificateRecord.id))) == len(records)
