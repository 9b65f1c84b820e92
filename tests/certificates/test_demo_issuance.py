"""The demo issues the past plan's certificates through every stage with the real services:
records, the org's signature, school1's QR sign-off, the seal, the issue; then one revoked."""
from __future__ import annotations

from sqlalchemy import select

from examadmin.certificates import services, verification
from examadmin.certificates.pdf import _qr_matrix
from examadmin.certificates.models import CertificateRecord, CertificateSignoff
from examadmin.certificates.states import CertificateState
from examadmin.core.auth import User
from examadmin.core.storage import get_storage
from examadmin.extensions import db
from tests.certificates.factories import qr_in_pdf


def test_the_demo_carries_certificates_through_both_sign_off_stages(app, cli, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "")
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
    # the QR codes point where the demo is served, not to the unreachable http://localhost
    storage = get_storage()
    for record in records:
        url = f"http://127.0.0.1:5000/certificates/v/{record.verify_code}"  # where `examadmin serve` listens
        assert services.verify_url(record, "http://127.0.0.1:5000") == url
        assert qr_in_pdf(storage.read(record.file_key), len(_qr_matrix(url))) == _qr_matrix(url)
    assert cli.invoke(args=["demo"]).exit_code == 0  # idempotent
    assert db.session.scalar(select(db.func.count(CertificateRecord.id))) == len(records)


def test_the_demo_script_points_the_qr_codes_to_its_port(app, monkeypatch):
    """scripts/demo.sh serves on $PORT and hands the demo that address as PUBLIC_BASE_URL."""
    from pathlib import Path

    from examadmin.certificates.demo import demo_base_url

    script = (Path(__file__).resolve().parents[2] / "scripts" / "demo.sh").read_text()
    assert 'PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:${PORT:-5000}}" "$VENV/bin/examadmin" demo' in script
    assert '--port "${PORT:-5000}"' in script
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "http://127.0.0.1:8123")
    assert demo_base_url() == "http://127.0.0.1:8123"
