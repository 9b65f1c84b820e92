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


def test_two_issue_jobs_of_different_plans_at_once_never_share_a_number(app):
    """Numbers are per certificate and year: two plans of one certificate issued at the same
    moment take them under the counter's row lock, so no number is given twice or skipped.
    PostgreSQL only (TEST_DATABASE_URL): SQLite lets one writer in at a time, there is no race."""
    from examadmin.certificates.models import NumberCounter
    from examadmin.certificates.pdf import demo_seal_png
    from examadmin.core import clock
    from examadmin.core.auth import User
    from tests.threads import race

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the race needs PostgreSQL's concurrent writers (TEST_DATABASE_URL)")
        first, second = make_setup(passed=3, failed=0), make_setup(passed=4, failed=0)
        assert first.plan.certificate_id == second.plan.certificate_id
        for s in (first, second):
            services.make_records(s.plan.id, s.org)
            services.org_sign(s.org, s.plan.id)
            _, token = services.start_signoff(s.school_user, s.plan.id, s.site.id)
            services.confirm_signoff(s.signer, token)
        services.upload_seal(first.org, first.plan.certificate_id, demo_seal_png("评价组织"))
        certificate_id, year = first.plan.certificate_id, clock.now().year
        services.take_numbers(certificate_id, year, 0)  # the year's counter exists: the race is on its row
        taken_before = db.session.scalar(select(NumberCounter.last).where(
            NumberCounter.certificate_id == certificate_id, NumberCounter.year == year)) or 0
        plans, org_id = [first.plan.id, second.plan.id], first.org.id
        both = list(plans)
        db.session.commit()
        db.session.remove()

    lock = threading.Lock()

    def issue_one_plan():
        with lock:
            plan_id = plans.pop()
        org = db.session.get(User, org_id)
        services.issue(org, plan_id, as_job=False)
        services.generate(org, plan_id, base_url="https://zs.example.cn")

    assert race(app, issue_one_plan, 2) == ["ok", "ok"]
    with app.app_context():
        issued = db.session.scalars(select(CertificateRecord.number).where(
            CertificateRecord.plan_id.in_(both))).all()
        assert len(issued) == 7 and len(set(issued)) == 7
        sequences = sorted(int(number[8:16]) for number in issued)
        assert sequences == list(range(taken_before + 1, taken_before + 8))  # none shared, none skipped
        assert db.session.scalar(select(NumberCounter.last).where(
            NumberCounter.certificate_id == certificate_id, NumberCounter.year == year)) == taken_before + 7
