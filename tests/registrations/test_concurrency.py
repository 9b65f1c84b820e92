"""Coordinators of one school registering the last places of a line at the same moment
(issue 9 item 8): never more than the line's places, and the rows beyond are refused by name.

Real commits from real threads, each with its own connection, against the suite's database:
SQLite by default, the PostgreSQL server in CI.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select

from examadmin.candidates.models import Candidate
from examadmin.catalog.models import City, Level, School
from examadmin.core.audit import AuditLog
from examadmin.core.auth import User
from examadmin.core.errors import DomainError
from examadmin.exams.models import ExamPlan, ExamSession, PlanFee, Subject
from examadmin.extensions import db
from examadmin.pilots.models import Application, ApplicationLine, ApplicationPlan, plan_level
from examadmin.registrations import services
from examadmin.registrations.importer import import_rows
from examadmin.registrations.models import Registration
from examadmin.sites.models import ExamSite
from tests.registrations.factories import ready_school, verified
from tests.registrations.helpers import row, write_sheet
from tests.sites.factories import make_user

pytestmark = pytest.mark.no_db_fixture
J = Level.JUNIOR


def _setup(app, places: int, people: int):
    with app.app_context():
        first = {model: db.session.scalar(select(func.coalesce(func.max(model.id), 0)))
                 for model in (AuditLog, User, School, City)}
        school = ready_school({"心理健康教育": places})
        coordinators = [school.user] + [make_user("school", school=school.user.school) for _ in range(3)]
        candidates = [verified(school.user, name=f"并发{i}") for i in range(people)]
        ids = {"school": school.school_id, "plan": school.plan.id, "site": school.sites[J].id,
               "line": school.lines["心理健康教育"].id, "users": [u.id for u in coordinators],
               "candidates": [c.id for c in candidates], "site_name": school.sites[J].name,
               "pilot_plan": school.lines["心理健康教育"].application.plan_id,
               "application": school.lines["心理健康教育"].application_id,
               "sites": [s.id for s in school.sites.values()], "first": first}
        db.session.commit()
        db.session.remove()
    return ids


def _cleanup(app, ids) -> None:
    with app.app_context():
        subjects = select(ExamSession.subject_id).where(ExamSession.plan_id == ids["plan"])
        subject_ids = list(db.session.scalars(subjects))
        db.session.execute(delete(Registration).where(Registration.school_id == ids["school"]))
        db.session.execute(delete(Candidate).where(Candidate.school_id == ids["school"]))
        db.session.execute(delete(ExamSession).where(ExamSession.plan_id == ids["plan"]))
        db.session.execute(delete(PlanFee).where(PlanFee.plan_id == ids["plan"]))
        db.session.execute(delete(ExamPlan).where(ExamPlan.id == ids["plan"]))
        db.session.execute(delete(Subject).where(Subject.id.in_(subject_ids)))
        db.session.execute(delete(ExamSite).where(ExamSite.id.in_(ids["sites"])))
        db.session.execute(delete(ApplicationLine).where(ApplicationLine.application_id == ids["application"]))
        db.session.execute(delete(Application).where(Application.id == ids["application"]))
        db.session.execute(delete(plan_level).where(plan_level.c.plan_id == ids["pilot_plan"]))
        db.session.execute(delete(ApplicationPlan).where(ApplicationPlan.id == ids["pilot_plan"]))
        # Their audit records too: a later test's record may get a deleted record's id again.
        # The users, schools and cities the factories made, so that the next test (the demo
        # refuses a database with other accounts) finds the database as it was.
        for model in (AuditLog, User, School, City):
            db.session.execute(delete(model).where(model.id > ids["first"][model]))
        db.session.commit()
        db.session.remove()


def _race(app, count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results[index] = work(index)
                db.session.commit()
            except DomainError as exc:
                db.session.rollback()
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def _state(app, ids) -> tuple[int, int]:
    with app.app_context():
        used = db.session.scalar(select(ApplicationLine.used).where(ApplicationLine.id == ids["line"]))
        live = db.session.scalar(select(func.count()).select_from(Registration).where(
            Registration.quota_line_id == ids["line"]))
        db.session.remove()
        return used, live


def test_four_coordinators_registering_the_last_places_never_overshoot(app):
    ids = _setup(app, places=3, people=8)
    try:
        def work(index):
            user = db.session.get(User, ids["users"][index])
            mine = ids["candidates"][2 * index: 2 * index + 2]
            return services.register_candidates(user, ids["plan"], ids["site"], mine)

        results = _race(app, 4, work)
        taken = [r for r in results if isinstance(r, list)]
        refused = [r for r in results if isinstance(r, DomainError)]
        assert len(taken) == 1 and len(refused) == 3, results  # two places each: only one fits in three
        assert all("指标已用完" in r.message and "并发" in r.message for r in refused)
        assert _state(app, ids) == (2, 2)
    finally:
        _cleanup(app, ids)


def test_racing_imports_take_exactly_the_places_left_and_refuse_the_rest_by_name(app, tmp_path):
    ids = _setup(app, places=5, people=8)
    with app.app_context():
        people = [db.session.get(Candidate, cid) for cid in ids["candidates"]]
        site = db.session.get(ExamSite, ids["site"])
        files = [write_sheet(tmp_path / f"race{i}.xlsx", [row(p, site) for p in people[2 * i: 2 * i + 2]])
                 for i in range(4)]
        db.session.remove()
    try:
        def work(index):
            user = db.session.get(User, ids["users"][index])
            return import_rows(user, ids["school"], ids["plan"], files[index], valid_only=True)

        reports = _race(app, 4, work)
        assert all(not isinstance(r, Exception) for r in reports), reports
        assert sum(r.created for r in reports) == 5
        problems = [p for r in reports for p in r.errors]
        assert len(problems) == 3 and all("指标已用完" in p.message and "并发" in p.message for p in problems)
        assert _state(app, ids) == (5, 5)
    finally:
        _cleanup(app, ids)
