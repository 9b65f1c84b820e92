"""Four proctors' phones scanning the same ticket at once: one arrival is recorded, the others are
told the time of it. Real commits from real threads (SQLite by default, PostgreSQL in CI)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select

from examadmin.core import clock
from examadmin.core.audit import AuditLog
from examadmin.core.auth import User
from examadmin.exams.models import ExamPlan, ExamRoom, ExamSession, PlanFee
from examadmin.extensions import db
from examadmin.registrations.models import Registration
from examadmin.scheduling.models import AdmissionTicket, Proctor, ProctorAssignment, Seat
from examadmin.sites.models import ExamSite
from examadmin.tickets import checkin
from tests.scheduling.ticket_factories import DURING_SESSION, make_proctor_user, make_scheduled

pytestmark = pytest.mark.no_db_fixture
RACERS = 4


def test_one_ticket_scanned_at_once_on_four_phones_checks_in_once(app, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: DURING_SESSION)
    with app.app_context():
        # audit rows of the rows made here go too (SQLite reuses the ids of deleted rows)
        audit_before = db.session.scalar(select(func.max(AuditLog.id))) or 0
        s = make_scheduled(1)
        proctors = [make_proctor_user(s).id for _ in range(RACERS)]
        ids = {"seat": s.seats[0].id, "ticket": s.tickets[0].ticket_number, "room": s.room.id,
               "session": s.session.id, "plan": s.plan.id, "site": s.site.id,
               "registration": s.registrations[0].id, "candidate": s.registrations[0].candidate_id}
        db.session.commit()
        db.session.remove()

    barrier = threading.Barrier(RACERS)
    results: list[str] = []

    def scan(user_id: int):
        with app.app_context():
            try:
                barrier.wait(timeout=10)  # before any query: on SQLite a transaction takes the write lock
                actor = db.session.get(User, user_id)
                result = checkin.check_in(actor, ids["room"], ids["session"], ticket_number=ids["ticket"])
                db.session.commit()
                results.append(result.status)
            except Exception as exc:  # noqa: BLE001 - the assertion below names it
                db.session.rollback()
                results.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scan, args=(uid,)) for uid in proctors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert sorted(results) == ["already"] * (RACERS - 1) + ["checked_in"], results
        with app.app_context():
            seat = db.session.get(Seat, ids["seat"])
            assert seat.checked_in_at == DURING_SESSION and seat.checked_in_by_id in proctors
    finally:
        with app.app_context():
            from examadmin.candidates.models import Candidate

            db.session.execute(delete(ProctorAssignment).where(ProctorAssignment.room_id == ids["room"]))
            db.session.execute(delete(Proctor).where(Proctor.user_id.in_(proctors)))
            db.session.execute(delete(Seat).where(Seat.id == ids["seat"]))
            db.session.execute(delete(AdmissionTicket).where(AdmissionTicket.registration_id == ids["registration"]))
            db.session.execute(delete(Registration).where(Registration.id == ids["registration"]))
            db.session.execute(delete(Candidate).where(Candidate.id == ids["candidate"]))
            db.session.execute(delete(ExamRoom).where(ExamRoom.id == ids["room"]))
            db.session.execute(delete(ExamSession).where(ExamSession.plan_id == ids["plan"]))
            db.session.execute(delete(PlanFee).where(PlanFee.plan_id == ids["plan"]))
            db.session.execute(delete(ExamPlan).where(ExamPlan.id == ids["plan"]))
            db.session.execute(delete(ExamSite).where(ExamSite.id == ids["site"]))
            db.session.execute(delete(AuditLog).where(AuditLog.id > audit_before))
            db.session.execute(delete(User).where(User.id.in_(proctors)))
            db.session.commit()
            db.session.remove()
