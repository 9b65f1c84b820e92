"""Benchmark of the lapse (视为自动放弃): N unpaid registrations past their deadline.

    python bench/lapse.py [--rows N]   (default 10000)

Builds a fresh SQLite database in a temporary directory (migrations, the demo), inserts N
待缴费 registrations of school 5150000001 on the demo plan (half school students holding a
quota place, half social candidates), then times `lapse_overdue` just after the payment
deadline, including its commit: every registration moved through the workflow and audited,
the places given back per quota line.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    rows = parser.parse_args().rows
    tmp = tempfile.mkdtemp(prefix="examadmin-bench-lapse-")
    os.environ.update(EXAMADMIN_INSTANCE=tmp, HUEY_SQLITE_PATH=f"{tmp}/huey.db")
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from examadmin import create_app
    from examadmin.candidates.models import Candidate, CandidateKind, IdType
    from examadmin.candidates.states import CandidateState
    from examadmin.catalog.models import School
    from examadmin.core import idcard
    from examadmin.demo import load_demo
    from examadmin.exams.models import ExamPlan
    from examadmin.extensions import db
    from examadmin.pilots.models import Application, ApplicationLine
    from examadmin.registrations.lapse import lapse_overdue
    from examadmin.registrations.models import Registration
    from examadmin.registrations.states import RegistrationState
    from examadmin.sites.models import ExamSite

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "STORAGE_DIR": f"{tmp}/storage"})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        load_demo()
        school = db.session.scalar(select(School).where(School.code == "5150000001"))
        plan = db.session.scalar(select(ExamPlan).order_by(ExamPlan.id))
        site = db.session.scalar(select(ExamSite).where(ExamSite.school_id == school.id))
        line = db.session.scalar(select(ApplicationLine).join(Application).where(Application.school_id == school.id))
        students = rows // 2
        line.approved, line.used = max(line.approved or 0, students), students
        candidates = []
        for i in range(rows):
            # distinct valid numbers: birth dates over 25 years, then the sequence
            first17 = f"500106{1980 + i % 25}{1 + i % 12:02d}{1 + (i // 300) % 28:02d}{i % 300 + (i // 8400) * 300:03d}"
            candidates.append({"school_id": school.id, "name": f"考生{i}", "id_type": IdType.RESIDENT,
                               "id_number": first17 + idcard.check_char(first17), "gender": "男",
                               "kind": CandidateKind.STUDENT if i < students else CandidateKind.SOCIAL,
                               "state": CandidateState.ACCURATE})
        db.session.execute(insert(Candidate), candidates)
        ids = db.session.execute(select(Candidate.id, Candidate.id_number, Candidate.kind)
                                 .where(Candidate.name.like("考生%")).order_by(Candidate.id)).all()
        db.session.execute(insert(Registration), [
            {"plan_id": plan.id, "candidate_id": cid, "school_id": school.id, "site_id": site.id,
             "certificate_level_id": site.certificate_level_id, "id_type": IdType.RESIDENT, "id_number": number,
             "kind": kind, "is_retake": False, "quota_line_id": line.id if kind == CandidateKind.STUDENT else None,
             "fee": 300, "state": RegistrationState.UNPAID, "cancel_reason": ""} for cid, number, kind in ids])
        db.session.commit()
        at = plan.payment_deadline + timedelta(minutes=1)
        started = time.perf_counter()
        if os.environ.get("PROFILE"):
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
        result = lapse_overdue(plan_id=plan.id, at=at)
        db.session.commit()
        if os.environ.get("PROFILE"):
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        seconds = time.perf_counter() - started
        db.session.refresh(line)
        print(f"lapse: {result.lapsed} registrations, {result.places_returned} places returned in {seconds:.2f} s "
              f"({result.lapsed / seconds:,.0f}/s); line used now {line.used}")


if __name__ == "__main__":
    main()
