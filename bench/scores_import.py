"""Benchmark of the score import: check every row, write the scores, their audit records and the results.

    python bench/scores_import.py [--registrations N]   (default 20000)

Builds a fresh SQLite database in a temporary directory (migrations, reference data, the
demo), schedules N paid registrations of the demo school into the demo's open plan (as
bench/schedule_and_tickets.py does), writes a sheet of one row per seat with xlsxwriter, then
times `scores.importer.import_rows` with its commit, and the opening of the display period
(which recomputes every result of the plan). The plan's sessions are moved into the past after
scheduling: scores are refused for an exam that has not ended.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEATS = 999


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registrations", type=int, default=20_000)
    count = max(1, parser.parse_args().registrations)

    tmp = Path(tempfile.mkdtemp(prefix="examadmin-bench-"))
    os.environ["EXAMADMIN_INSTANCE"] = str(tmp)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))

    from flask_migrate import upgrade
    from sqlalchemy import func, insert, select

    from examadmin import create_app
    from examadmin.candidates.models import Candidate, CandidateKind, IdType
    from examadmin.candidates.states import CandidateState
    from examadmin.catalog.services import seed_reference_data
    from examadmin.core import clock, idcard
    from examadmin.core.auth import SYSTEM, User
    from examadmin.core.excel import write_table
    from examadmin.demo import load_demo
    from examadmin.exams.models import ExamPlan, Subject
    from examadmin.exams.services import rooms
    from examadmin.extensions import db
    from examadmin.registrations.models import Registration
    from examadmin.registrations.states import RegistrationState
    from examadmin.scheduling.models import AdmissionTicket, Seat
    from examadmin.scheduling.services import seats
    from examadmin.scores import importer, services
    from examadmin.scores.models import Result, Score
    from examadmin.sites.models import ExamSite

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
                      "STORAGE_DIR": str(tmp / "storage"), "HUEY_SQLITE_PATH": str(tmp / "huey.db"),
                      "MAX_IMPORT_ROWS": max(count * 3, 10_000)})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_reference_data(SYSTEM, ROOT / "sample_data")
        load_demo()
        db.session.commit()
        school_user = db.session.scalar(select(User).where(User.username == "school1"))
        org = db.session.scalar(select(User).where(User.username == "org"))
        plan = db.session.scalar(select(ExamPlan).where(ExamPlan.name.like("%第4次全国统一考试%")))
        site = db.session.scalar(select(ExamSite).where(ExamSite.school_id == school_user.school_id))
        subject = db.session.scalar(select(Subject).where(Subject.certificate_level_id == site.certificate_level_id))
        sessions = sum(1 for s in plan.sessions if s.subject_id == subject.id)
        for n in range(-(-count // (SEATS * sessions))):
            rooms.save_room(school_user, {"plan_id": plan.id, "site_id": site.id, "subject_id": subject.id,
                                          "name": f"压测机房 {n + 1:03d}", "seats": SEATS})
        now, fee = clock.now(), plan.fee_for(site.certificate_level.level)
        people = []
        for i in range(count):
            born = date(1996, 1, 1) + timedelta(days=i % 3650)
            first17 = f"500106{born:%Y%m%d}{100 + i // 3650:03d}"
            people.append({"school_id": site.school_id, "kind": CandidateKind.STUDENT, "name": f"考生{i}",
                           "id_type": IdType.RESIDENT, "id_number": first17 + idcard.check_char(first17),
                           "gender": "男", "class_name": f"心理{i // 40:05d}班", "state": CandidateState.ACCURATE,
                           "hidden": False, "ethnicity": "", "phone": "", "student_number": "",
                           "created_at": now, "updated_at": now})
        for start in range(0, count, 20_000):
            db.session.execute(insert(Candidate), people[start:start + 20_000])
        ids = db.session.execute(select(Candidate.id, Candidate.id_number).where(
            Candidate.name.like("考生%"), Candidate.school_id == site.school_id)).all()
        rows = [{"plan_id": plan.id, "candidate_id": cid, "school_id": site.school_id, "site_id": site.id,
                 "certificate_level_id": site.certificate_level_id, "id_type": IdType.RESIDENT, "id_number": number,
                 "kind": CandidateKind.STUDENT, "is_retake": False, "fee": fee, "state": RegistrationState.PAID,
                 "cancel_reason": "", "created_at": now, "paid_at": now} for cid, number in ids]
        for start in range(0, len(rows), 20_000):
            db.session.execute(insert(Registration), rows[start:start + 20_000])
        seats.schedule(school_user, plan.id, site.id, seed=1)
        # Scores are entered only for an exam that is over: move the plan's sessions 30 days back.
        first = min(s.date for s in plan.sessions)
        shift = first - (clock.now().date() - timedelta(days=30))
        for session in plan.sessions:
            session.date -= shift
        db.session.commit()
        sheet_rows = [(ticket, name, f"{40 + i % 60}.{i % 10}", "", "") for i, (ticket, name) in enumerate(
            db.session.execute(select(AdmissionTicket.ticket_number, Subject.name)
                               .join(Seat, Seat.registration_id == AdmissionTicket.registration_id)
                               .join(Subject, Subject.id == Seat.subject_id)
                               .where(AdmissionTicket.plan_id == plan.id)).all())]
        path = tmp / "scores.xlsx"
        write_table(path, "科目成绩", ["准考证号", "科目", "成绩", "缺考", "违纪"], sheet_rows)
        print(f"set up {count:,} scheduled registrations, a sheet of {len(sheet_rows):,} rows")

        started = time.perf_counter()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
        report = importer.import_rows(org, plan.id, path, file_name="scores.xlsx")
        db.session.commit()
        imported = time.perf_counter() - started
        if os.environ.get("BENCH_PROFILE"):
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        assert report.imported and report.changed == len(sheet_rows), report.as_dict()["errors"][:3]
        started = time.perf_counter()
        services.open_display(org, plan.id, 5)
        db.session.commit()
        displayed = time.perf_counter() - started
        scores = db.session.scalar(select(func.count(Score.id)).where(Score.plan_id == plan.id))
        results = db.session.scalar(select(func.count(Result.id)).where(Result.plan_id == plan.id))
        # one result per scheduled registration: the N made here and the demo's own paid ones
        assert scores == len(sheet_rows) and results == len({ticket for ticket, *_ in sheet_rows}), (scores, results)
        db.session.remove()
    print(f"import: {len(sheet_rows):,} rows checked, written, audited and results computed in {imported:.2f} s "
          f"= {len(sheet_rows) / imported:,.0f} rows/s")
    print(f"open display (every result of the plan recomputed): {displayed:.2f} s")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
