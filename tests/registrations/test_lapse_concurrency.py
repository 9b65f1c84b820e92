"""Two lapse runs at once (the scheduled job and a request): each registration lapses once,
each place comes back once. Real threads and commits; SQLite by default, PostgreSQL in CI."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from examadmin.core.audit import AuditLog
from examadmin.extensions import db
from examadmin.pilots.models import ApplicationLine
from examadmin.registrations import lapse
from examadmin.registrations.models import Registration
from examadmin.registrations.states import RegistrationState
from tests.registrations.factories_payment import AFTER_DEADLINE
from tests.registrations.test_payments_concurrency import _cleanup, _setup

pytestmark = pytest.mark.no_db_fixture
RUNS = 4


def test_concurrent_lapse_runs_give_each_place_back_once(app):
    ids = _setup(app, registrations=6)
    try:
        barrier = threading.Barrier(RUNS)
        results: list[dict] = []

        def run():
            with app.app_context():
                try:
                    barrier.wait(timeout=10)
                    results.append(lapse.lapse_overdue(plan_id=ids["plan"], at=AFTER_DEADLINE).as_dict())
                    db.session.commit()
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=run) for _ in range(RUNS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sum(r["lapsed"] for r in results) == 6, results
        assert sum(r["places_returned"] for r in results) == 6, results
        with app.app_context():
            states = set(db.session.scalars(select(Registration.state).where(Registration.plan_id == ids["plan"])))
            assert states == {RegistrationState.LAPSED}
            assert db.session.get(ApplicationLine, ids["line"]).used == 0
            entries = db.session.scalar(select(func.count()).select_from(AuditLog).where(
                AuditLog.action == "registration.lapse", AuditLog.entity_id.in_(ids["registrations"])))
            assert entries == 6
            db.session.remove()
    finally:
        _cleanup(app, ids)
