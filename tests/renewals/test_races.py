"""Reviewers deciding one re-registration at the same moment (security review, issue 14): one
decision wins, the others get the usual 当前状态为… refusal.

Real commits from real threads (tests/threads.py). On PostgreSQL every thread reads the
application before any of them writes, so without the row lock (FOR UPDATE, then the state
re-checked) two decisions both succeed; on SQLite BEGIN IMMEDIATE serialises the writers.
"""
from __future__ import annotations

import itertools
from datetime import date, datetime

import pytest

from examadmin.core import clock
from examadmin.extensions import db
from examadmin.renewals import services
from examadmin.renewals.models import RenewalApplication
from examadmin.renewals.states import RenewalState as S
from tests.renewals.factories import add_hours, make_holder
from tests.threads import race

pytestmark = pytest.mark.no_db_fixture
ISSUED = date(2026, 1, 15)
IN_WINDOW = datetime(2028, 11, 20, 10, 0)


def _submitted(app, monkeypatch, to_province=True):
    monkeypatch.setattr(clock, "now", lambda: IN_WINDOW)
    with app.app_context():
        h = make_holder(ISSUED)
        add_hours(h.record, "90", date(2027, 3, 1))
        a = services.create_application(h.user, h.record.id)
        services.attach(h.user, a.id, "signed_form", b"%PDF-1.4 x")
        services.submit_application(h.user, a.id)
        if to_province:
            services.pass_to_province(h.city_user, a.id)
        ids = a.id, h.city_user.id, h.province_user.id
        db.session.commit()
        db.session.remove()
    return ids


def _user(uid):
    from examadmin.core.auth import User
    return db.session.get(User, uid)


def _application(app, aid):
    with app.app_context():
        a = db.session.get(RenewalApplication, aid)
        return a.state, a.return_reason, a.registration_number


def test_province_approve_and_return_at_once_decide_once(app, monkeypatch):
    aid, _, pid = _submitted(app, monkeypatch)
    turn = itertools.count()

    def act():
        if next(turn) % 2 == 0:
            services.approve_application(_user(pid), aid)
        else:
            services.return_application(_user(pid), aid, "照片不清楚")

    answers = race(app, act, 2)
    assert answers.count("ok") == 1, answers
    refusal = next(a for a in answers if a != "ok")
    assert "当前状态为" in refusal, answers
    state, reason, number = _application(app, aid)
    if state == S.APPROVED:
        assert number and not reason
    else:
        assert state == S.RETURNED and reason == "照片不清楚" and number is None


def test_three_province_approvals_at_once_approve_once(app, monkeypatch):
    aid, _, pid = _submitted(app, monkeypatch)
    answers = race(app, lambda: services.approve_application(_user(pid), aid), 3)
    assert answers.count("ok") == 1, answers
    assert all("当前状态为" in a for a in answers if a != "ok"), answers
    assert _application(app, aid)[0] == S.APPROVED


def test_two_city_passes_at_once_pass_once(app, monkeypatch):
    aid, cid, _ = _submitted(app, monkeypatch, to_province=False)
    answers = race(app, lambda: services.pass_to_province(_user(cid), aid), 2)
    assert answers.count("ok") == 1, answers
    assert _application(app, aid)[0] == S.PROVINCE_REVIEW
