"""Two requests racing for the last place: one gets it, the other a clear refusal.

Real commits from real threads, each with its own connection, against the suite's
database: SQLite by default, the PostgreSQL server in CI.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select

from examadmin.catalog.models import City, School
from examadmin.core.audit import AuditLog
from examadmin.core.auth import User
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.pilots import quota, services
from examadmin.pilots.models import Application, ApplicationLine, ApplicationPlan, plan_level
from tests.conftest import make_user
from tests.pilots.conftest import apply, major, make_plan

pytestmark = pytest.mark.no_db_fixture
RACERS = 4


def test_the_last_place_goes_to_exactly_one_request(app):
    with app.app_context():
        # What this test commits is removed at its end: later tests (the demo's) need a clean database.
        before = {m: db.session.scalar(select(func.max(m.id))) or 0 for m in (User, School, City, AuditLog)}
        school_user, province_user = make_user("school"), make_user("province", province_code="50")
        plan = make_plan(year=2031)
        application = apply(school_user, plan, submit=True)
        services.approve_application(province_user, application.id, {application.lines[0].id: 1})
        key = (application.school_id, application.year, application.certificate_level_id, major().id)
        ids = (plan.id, application.id, application.lines[0].id)
        db.session.commit()
        db.session.remove()

    barrier = threading.Barrier(RACERS)
    results: list[str] = []

    def race():
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                quota.take_place(*key)
                db.session.commit()
                results.append("taken")
            except DomainError as exc:
                db.session.rollback()
                results.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=race) for _ in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert results.count("taken") == 1, results
        assert all("指标已用完" in r for r in results if r != "taken"), results
        with app.app_context():
            assert db.session.get(ApplicationLine, ids[2]).used == 1
    finally:
        with app.app_context():
            db.session.execute(delete(ApplicationLine).where(ApplicationLine.id == ids[2]))
            db.session.execute(delete(Application).where(Application.id == ids[1]))
            db.session.execute(delete(plan_level).where(plan_level.c.plan_id == ids[0]))
            db.session.execute(delete(ApplicationPlan).where(ApplicationPlan.id == ids[0]))
            for model in (AuditLog, User, School, City):
                db.session.execute(delete(model).where(model.id > before[model]))
            db.session.commit()
            db.session.remove()
