"""Scheduling at the same moment, from real threads with real commits (SQLite by default,
PostgreSQL with TEST_DATABASE_URL): ticket numbers stay unique, nobody is placed twice.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select

from examadmin.extensions import db
from examadmin.scheduling.models import AdmissionTicket, Seat
from examadmin.scheduling.services import seats
from tests.exams.factories import make_room
from tests.scheduling.factories import make_setup, register_many
from tests.sites.factories import make_site, make_user

pytestmark = pytest.mark.no_db_fixture
PER_SITE = 60


def _max_ids() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.max(t.c.id))) or 0
            for t in db.metadata.sorted_tables if "id" in t.c}


def _remove_since(before: dict[str, int]) -> None:
    """Delete every row the test committed, children first, so the test leaves nothing behind."""
    for table in reversed(db.metadata.sorted_tables):
        if table.name in before:
            db.session.execute(delete(table).where(table.c.id > before[table.name]))
    db.session.commit()


def _race(app, jobs: list) -> list:
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, actor_id, plan_id, site_id):
        with app.app_context():
            from examadmin.core.auth import User

            try:
                barrier.wait(timeout=10)  # before touching the database: SQLite writers queue
                actor = db.session.get(User, actor_id)
                results[index] = seats.schedule(actor, plan_id, site_id).placed
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                db.session.rollback()
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, *job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_two_sites_scheduled_at_the_same_moment_never_share_a_ticket_number(app):
    with app.app_context():
        before = _max_ids()
        try:
            s = make_setup(rooms=(40, 40), days=2)
            other_school = make_user("school")
            second = make_site(other_school)
            make_room(other_school, s.plan, second, s.subject, "机房1", 40)
            make_room(other_school, s.plan, second, s.subject, "机房2", 40)
            register_many(s.plan, s.site, PER_SITE, classes=("甲", "乙"))
            register_many(s.plan, second, PER_SITE, classes=("丙", "丁"))
            jobs = [(s.school_user.id, s.plan.id, s.site.id), (other_school.id, s.plan.id, second.id)]
            plan_id = s.plan.id
            db.session.commit()
            db.session.remove()

            results = _race(app, jobs)
            assert results == [PER_SITE, PER_SITE], results
            numbers = db.session.scalars(select(AdmissionTicket.ticket_number)
                                         .where(AdmissionTicket.plan_id == plan_id)).all()
            assert len(numbers) == 2 * PER_SITE == len(set(numbers))
        finally:
            db.session.rollback()
            _remove_since(before)
            db.session.remove()


def test_one_site_scheduled_twice_at_the_same_moment_places_everyone_once(app):
    with app.app_context():
        before = _max_ids()
        try:
            s = make_setup(rooms=(50, 50))
            register_many(s.plan, s.site, PER_SITE)
            org = make_user("org")
            jobs = [(s.school_user.id, s.plan.id, s.site.id), (org.id, s.plan.id, s.site.id)]
            plan_id = s.plan.id
            db.session.commit()
            db.session.remove()

            results = _race(app, jobs)
            assert sorted(r if isinstance(r, int) else -1 for r in results) == [0, PER_SITE], results
            assert db.session.scalar(select(func.count(Seat.id)).where(Seat.plan_id == plan_id)) == PER_SITE
            assert db.session.scalar(select(func.count(AdmissionTicket.id))
                                     .where(AdmissionTicket.plan_id == plan_id)) == PER_SITE
        finally:
            db.session.rollback()
            _remove_since(before)
            db.session.remove()
