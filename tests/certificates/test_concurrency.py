"""Two confirmations of one sign-off token at the same moment, from real threads with real
commits (SQLite by default, PostgreSQL with TEST_DATABASE_URL): exactly one wins.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select

from examadmin.certificates import services
from examadmin.certificates.models import CertificateRecord, CertificateSignoff
from examadmin.certificates.states import CertificateState as S
from examadmin.core.audit import AuditLog
from examadmin.extensions import db
from tests.certificates.factories import make_setup
from tests.conftest import make_user
from examadmin.catalog.models import School

pytestmark = pytest.mark.no_db_fixture


def _max_ids() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.max(t.c.id))) or 0
            for t in db.metadata.sorted_tables if "id" in t.c}


def _remove_since(before: dict[str, int]) -> None:
    for table in reversed(db.metadata.sorted_tables):
        if table.name in before:
            db.session.execute(delete(table).where(table.c.id > before[table.name]))
    db.session.commit()


def test_two_parallel_confirmations_of_one_token_exactly_one_wins(app):
    with app.app_context():
        before = _max_ids()
        try:
            s = make_setup(passed=4, failed=0)
            services.make_records(s.plan.id, s.org)
            services.org_sign(s.org, s.plan.id)
            signoff, token = services.start_signoff(s.school_user, s.plan.id, s.site.id)
            second_signer = make_user("school", school=db.session.get(School, s.site.school_id), signer=True)
            signers = [s.signer.id, second_signer.id]
            plan_id, signoff_id = s.plan.id, signoff.id
            db.session.commit()
            db.session.remove()

            barrier = threading.Barrier(2)
            results: list = [None, None]

            def run(index: int, user_id: int) -> None:
                with app.app_context():
                    from examadmin.core.auth import User

                    try:
                        barrier.wait(timeout=10)  # before touching the database: SQLite writers queue
                        actor = db.session.get(User, user_id)
                        results[index] = len(services.confirm_signoff(actor, token, ip=f"10.0.0.{index}").done)
                        db.session.commit()
                    except services.SignoffRefused as exc:
                        db.session.rollback()
                        results[index] = exc.reason
                    except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                        db.session.rollback()
                        results[index] = exc
                    finally:
                        db.session.remove()

            threads = [threading.Thread(target=run, args=(i, u)) for i, u in enumerate(signers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert sorted(map(str, results)) == ["4", "replayed"], results
            signoff = db.session.get(CertificateSignoff, signoff_id)
            winner = signers[results.index(4)]
            assert signoff.confirmed_by_id == winner
            states = db.session.scalars(select(CertificateRecord.state).where(CertificateRecord.plan_id == plan_id)).all()
            assert states == [S.READY] * 4
            moves = db.session.scalar(select(func.count()).select_from(AuditLog)
                                      .where(AuditLog.action == "certificate.site_sign", AuditLog.id > before["audit_log"]))
            assert moves == 4  # each record moved once, by the winner only
        finally:
            db.session.rollback()
            _remove_since(before)
