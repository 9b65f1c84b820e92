"""Races on payment orders, with real commits from real threads (each its own connection)
against the suite's database: SQLite by default, PostgreSQL in CI (`.ci/run`).

- Two coordinators putting the same registrations into orders at once: one order gets them.
- Two org users confirming one order at once: it is confirmed once, each registration paid once.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select

from examadmin.candidates.models import Candidate
from examadmin.core.audit import AuditLog
from examadmin.core.auth import User
from examadmin.core.errors import DomainError
from examadmin.exams.models import ExamPlan, ExamSession, PlanFee, Subject
from examadmin.extensions import db
from examadmin.pilots.models import Application, ApplicationLine, ApplicationPlan, plan_level
from examadmin.registrations import payments
from examadmin.registrations.models import PaymentOrder, Registration
from examadmin.registrations.states import PaymentState, RegistrationState
from examadmin.sites.models import ExamSite
from tests.registrations.factories_payment import make_world, register
from tests.sites.factories import make_user

pytestmark = pytest.mark.no_db_fixture
RACERS = 4
PDF = b"%PDF-1.4\n%%EOF\n"


#: tables whose rows the setup makes through the factories (with their audit entries); the
#: cleanup removes every row above the ids they had before, children first. Nothing else
#: commits while these tests run (the rest of the suite rolls back), and SQLite would give a
#: deleted row's id to the next row, which must not inherit a leftover audit entry.
def _tables():
    from examadmin.catalog.models import City, School

    return [AuditLog, Registration, PaymentOrder, Candidate, ApplicationLine, Application, ApplicationPlan,
            ExamSession, PlanFee, ExamPlan, Subject, ExamSite, User, School, City]


def _setup(app, registrations: int = 3):
    with app.app_context():
        marks = {model: db.session.scalar(select(func.coalesce(func.max(model.id), 0))) for model in _tables()}
        world = make_world(places=10)
        regs = [register(world, name=f"并发{i}") for i in range(registrations)]
        coordinators = [world.school_user] + [make_user("school", school=world.school_user.school)
                                              for _ in range(RACERS - 1)]
        orgs = [make_user("org") for _ in range(RACERS)]
        ids = {"plan": world.plan.id, "line": world.line.id, "marks": marks,
               "registrations": [r.id for r in regs],
               "coordinators": [u.id for u in coordinators], "orgs": [u.id for u in orgs]}
        db.session.commit()
        db.session.remove()
    return ids


def _cleanup(app, ids):
    with app.app_context():
        marks = ids["marks"]
        for model in _tables():
            if model is ApplicationPlan:
                db.session.execute(delete(plan_level).where(plan_level.c.plan_id > marks[model]))
            db.session.execute(delete(model).where(model.id > marks[model]))
        db.session.commit()
        db.session.remove()


def _race(app, work, user_ids) -> list[str]:
    barrier = threading.Barrier(len(user_ids))
    results: list[str] = []

    def run(user_id):
        with app.app_context():
            try:
                actor = db.session.get(User, user_id)
                db.session.commit()  # end the read, so that the race starts at the barrier
                barrier.wait(timeout=10)
                work(actor)
                db.session.commit()
                results.append("ok")
            except DomainError as exc:
                db.session.rollback()
                results.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(uid,)) for uid in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_coordinators_cannot_put_the_same_registrations_into_two_orders(app):
    ids = _setup(app)
    try:
        results = _race(app, lambda actor: payments.create_school_order(actor, ids["plan"], ids["registrations"]),
                        ids["coordinators"])
        assert results.count("ok") == 1, results
        assert all("缴费订单" in r for r in results if r != "ok"), results
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(PaymentOrder)
                                     .where(PaymentOrder.plan_id == ids["plan"])) == 1
            order_ids = set(db.session.scalars(select(Registration.payment_order_id)
                                               .where(Registration.id.in_(ids["registrations"]))))
            assert len(order_ids) == 1 and None not in order_ids
            db.session.remove()
    finally:
        _cleanup(app, ids)


def test_two_org_users_confirming_at_once_confirm_once(app):
    ids = _setup(app)
    try:
        with app.app_context():
            school_user = db.session.get(User, ids["coordinators"][0])
            order = payments.create_school_order(school_user, ids["plan"], ids["registrations"])
            payments.submit_voucher(school_user, order.id, "凭证.pdf", PDF)
            order_id = order.id
            db.session.commit()
            db.session.remove()
        results = _race(app, lambda actor: payments.confirm_order(actor, order_id), ids["orgs"])
        assert results.count("ok") == 1, results
        assert all("不能重复确认" in r for r in results if r != "ok"), results
        with app.app_context():
            assert db.session.get(PaymentOrder, order_id).state == PaymentState.CONFIRMED
            states = db.session.scalars(select(Registration.state).where(Registration.id.in_(ids["registrations"])))
            assert set(states) == {RegistrationState.PAID}
            pays = db.session.scalar(select(func.count()).select_from(AuditLog).where(
                AuditLog.action == "registration.pay", AuditLog.entity_id.in_(ids["registrations"])))
            assert pays == len(ids["registrations"])
            db.session.remove()
    finally:
        _cleanup(app, ids)
