"""Twelve requests add one ID number at once: one row, and every other answer the Chinese
duplicate message, never a database error.

Real commits from real threads, each with its own connection. On PostgreSQL the threads
all pass the duplicate check before any of them writes (they meet at a barrier in
before_flush), so the unique constraint is what refuses the eleven; on SQLite, BEGIN
IMMEDIATE already serialises the writers and the check refuses them.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func, select

from examadmin.candidates import services
from examadmin.candidates.models import Candidate
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from tests.candidates.helpers import id_number
from tests.candidates.test_candidates import raw
from tests.conftest import make_user

pytestmark = pytest.mark.no_db_fixture
RACERS = 12


def race(app, action, racers: int = RACERS) -> list[str]:
    """Run `action()` in `racers` threads at once, each committing; their answers in a list.

    On PostgreSQL every thread waits before its first flush until all have done their
    checks, so that the checks cannot see each other's rows."""
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    at_flush = threading.Barrier(racers)
    local = threading.local()

    def wait_for_the_others(session, context, instances):
        if postgres and not getattr(local, "waited", False):
            local.waited = True
            at_flush.wait(timeout=30)

    answers: list[str] = []

    def one():
        with app.app_context():
            try:
                action()
                db.session.commit()
                answers.append("ok")
            except DomainError as exc:
                db.session.rollback()
                answers.append(exc.message)
            except Exception as exc:  # noqa: BLE001 - a 500: reported by the assertion
                db.session.rollback()
                answers.append(f"500: {type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    with app.app_context():
        event.listen(db.session, "before_flush", wait_for_the_others)
    try:
        threads = [threading.Thread(target=one) for _ in range(racers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
    finally:
        with app.app_context():
            event.remove(db.session, "before_flush", wait_for_the_others)
    assert len(answers) == racers, answers
    return answers


def test_twelve_parallel_adds_of_one_id_number_make_one_candidate(app):
    with app.app_context():
        school_user = make_user("school")
        number = id_number()
        db.session.commit()
        user_id, school_id = school_user.id, school_user.school_id
        db.session.remove()

    def add():
        from examadmin.core.auth import User

        services.add_candidate(db.session.get(User, user_id), raw("王五", number=number))

    answers = race(app, add)
    assert answers.count("ok") == 1, answers
    refused = [a for a in answers if a != "ok"]
    assert all(a.startswith(f"本校已有证件号码为 {number[:3]}") and "（王五）" in a for a in refused), refused
    with app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(Candidate).where(
            Candidate.school_id == school_id, Candidate.id_number == number))
        db.session.remove()
    assert rows == 1
