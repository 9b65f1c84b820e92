"""Parallel requests on hours (security review, issue 14): the 24-hours-a-day limit holds when
three entries arrive at once (record, import), and a verify and a return of one record at once
decide once.

Real commits from real threads (tests/threads.py). On PostgreSQL every thread makes its checks
before any of them writes, so without the per-person lock all three 20-hour entries pass the
day's total; on SQLite BEGIN IMMEDIATE serialises the writers.
"""
from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from examadmin.extensions import db
from examadmin.hours import importer
from examadmin.hours import services as hours
from examadmin.hours.models import HoursRecord
from examadmin.hours.states import HoursState
from tests.hours.factories import PDF, days_ago, holder, write_hours_sheet
from tests.sites.factories import make_user
from tests.threads import race

pytestmark = pytest.mark.no_db_fixture


def _user(uid):
    from examadmin.core.auth import User
    return db.session.get(User, uid)


def _day_total(app, candidate_id) -> Decimal:
    with app.app_context():
        return Decimal(db.session.scalar(select(func.coalesce(func.sum(HoursRecord.hours), 0))
                                         .where(HoursRecord.candidate_id == candidate_id)))


def test_three_parallel_20_hour_entries_of_one_day_accept_one(app):
    with app.app_context():
        candidate, user = holder()
        db.session.commit()
        uid, cid = user.id, candidate.id
        db.session.remove()
    day = days_ago(3)
    answers = race(app, lambda: hours.record_hours(_user(uid), "督导", day, "某培训机构", "20", "a.pdf", PDF), 3)
    assert answers.count("ok") == 1, answers
    assert all("超过每天 24 小时" in a for a in answers if a != "ok"), answers
    assert _day_total(app, cid) == 20


def test_a_parallel_entry_and_import_of_one_day_stay_within_24_hours(app, tmp_path):
    with app.app_context():
        school_user = make_user("school")
        candidate, user = holder(school_user)
        db.session.commit()
        uid, sid, cid = user.id, school_user.id, candidate.id
        number, name = candidate.id_number, candidate.name
        db.session.remove()
    day = days_ago(3)
    sheet = write_hours_sheet(tmp_path / "h.xlsx", [[number, name, "实践", day.isoformat(), "某实践基地", 20]])
    turn = itertools.count()

    def act():
        if next(turn) % 2 == 0:
            hours.record_hours(_user(uid), "督导", day, "某培训机构", "20", "a.pdf", PDF)
        else:
            report = importer.import_rows(_user(sid), sheet)
            if not report.created:
                raise hours.DomainError(report.errors[0].message)

    answers = race(app, act, 2)
    assert answers.count("ok") == 1, answers
    assert _day_total(app, cid) == 20


def test_verify_and_return_of_one_record_at_once_decide_once(app):
    with app.app_context():
        school_user = make_user("school")
        candidate, user = holder(school_user)
        record = hours.record_hours(user, "督导", days_ago(3), "某培训机构", "5", "a.pdf", PDF)
        db.session.commit()
        rid, sid = record.id, school_user.id
        db.session.remove()
    turn = itertools.count()

    def act():
        if next(turn) % 2 == 0:
            hours.verify_records(_user(sid), [rid])
        else:
            hours.return_record(_user(sid), rid, "证明不清楚")

    answers = race(app, act, 2)
    assert answers.count("ok") == 1, answers
    with app.app_context():
        state = db.session.get(HoursRecord, rid).state
    assert state in (HoursState.VERIFIED, HoursState.RETURNED)
