"""Twelve requests add one ID number at once: one row, and every other answer the Chinese
duplicate message, never a database error.

Real commits from real threads, each with its own connection. On PostgreSQL the threads
all pass the duplicate check before any of them writes, so the unique constraint is what
refuses the eleven; on SQLite, BEGIN IMMEDIATE already serialises the writers and the
check refuses them (tests/threads.py).
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from examadmin.candidates import services
from examadmin.candidates.models import Candidate
from examadmin.extensions import db
from tests.candidates.helpers import id_number
from tests.candidates.test_candidates import raw
from tests.conftest import make_user
from tests.threads import race

pytestmark = pytest.mark.no_db_fixture
RACERS = 12


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

    answers = race(app, add, RACERS)
    assert answers.count("ok") == 1, answers
    refused = [a for a in answers if a != "ok"]
    assert all(a.startswith(f"本校已有证件号码为 {number[:3]}") and "（王五）" in a for a in refused), refused
    with app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(Candidate).where(
            Candidate.school_id == school_id, Candidate.id_number == number))
        db.session.remove()
    assert rows == 1
