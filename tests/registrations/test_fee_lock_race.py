"""The org changes a level's fee while a school registers the first candidate for it: the plan's
row lock orders them, so a registration never keeps a fee the plan no longer has.

Real commits from real threads (SQLite by default, PostgreSQL with TEST_DATABASE_URL). The
registration holds its transaction open a moment after its check; without the shared lock the
fee change would see no registration yet, commit 350 and leave the registration at 300.
"""
from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import select

from examadmin.catalog.models import Level
from examadmin.core.auth import User
from examadmin.core.errors import DomainError
from examadmin.exams.models import ExamPlan
from examadmin.exams.services import plans
from examadmin.extensions import db
from examadmin.registrations import services
from examadmin.registrations.models import Registration
from tests.registrations.test_concurrency import _cleanup, _setup
from tests.sites.factories import make_user

pytestmark = pytest.mark.no_db_fixture


def _plan_data(plan: ExamPlan, junior_fee: str) -> dict:
    def at(value):
        return value.strftime("%Y-%m-%d %H:%M")
    return {"name": plan.name, "certificate_id": plan.certificate_id,
            "registration_start": at(plan.registration_start), "registration_end": at(plan.registration_end),
            "payment_deadline": at(plan.payment_deadline), "ticket_start": at(plan.ticket_start),
            "ticket_end": at(plan.ticket_end), "fee_junior": junior_fee, "fee_middle": "400", "fee_senior": "500"}


def test_a_fee_change_waits_for_a_registration_in_flight_and_is_then_refused(app):
    ids = _setup(app, places=3, people=1)
    with app.app_context():
        org = make_user("org")
        db.session.commit()
        org_id = org.id
        db.session.remove()
    registered = threading.Event()
    answers: dict[str, object] = {}

    def register() -> None:
        with app.app_context():
            try:
                user = db.session.get(User, ids["users"][0])
                services.register_candidates(user, ids["plan"], ids["site"], ids["candidates"][:1])
                registered.set()
                time.sleep(1.0)  # the fee change starts meanwhile, and must wait for this commit
                db.session.commit()
                answers["register"] = "ok"
            except Exception as exc:  # noqa: BLE001 - shown by the assertion
                db.session.rollback()
                answers["register"] = repr(exc)
                registered.set()
            finally:
                db.session.remove()

    def change_fee() -> None:
        registered.wait(timeout=30)
        with app.app_context():
            try:
                plan = db.session.get(ExamPlan, ids["plan"])
                plans.save_plan(db.session.get(User, org_id), _plan_data(plan, "350"), ids["plan"])
                db.session.commit()
                answers["fee"] = "ok"
            except DomainError as exc:
                db.session.rollback()
                answers["fee"] = exc.message
            except Exception as exc:  # noqa: BLE001
                db.session.rollback()
                answers["fee"] = repr(exc)
            finally:
                db.session.remove()

    try:
        threads = [threading.Thread(target=register), threading.Thread(target=change_fee)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert answers["register"] == "ok", answers
        assert "初级已有 1 条报考" in str(answers["fee"]), answers
        with app.app_context():
            fee = db.session.scalar(select(Registration.fee).where(Registration.plan_id == ids["plan"]))
            plan = db.session.get(ExamPlan, ids["plan"])
            assert fee == plan.fee_for(Level.JUNIOR) == Decimal("300.00")
            db.session.remove()
    finally:
        _cleanup(app, ids)
