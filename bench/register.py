"""Benchmark of bulk registration (报考) with quota checks: N verified candidates, end to end.

    python bench/register.py [--rows N]   (default 10000)

Builds everything in a temporary directory: a fresh SQLite database (migrations, reference
data, the demo), N verified school students of school 5150000001 (心理健康教育, inserted
set-based: their import is benchmarked in bench/import_candidates.py), the school's 初级
quota line raised to N places, and a 报考 sheet of the N as the template asks for it.
Then it times, each including its commit:
  - importer.import_rows: read the sheet, resolve and check every row (window, verified,
    site, level, one per person, the quota line and its places), take the places per line
    in one UPDATE, insert the registrations and their audit records;
  - the same N registered again through the services alone (check_entries + write_checked,
    after cancelling the first run's registrations set-based), without the sheet.
Target on the 2-core machine (issue 9): 10,000 registrations with quota checks < 3 s.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = (10_000, 3.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=TARGET[0])
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="examadmin-bench-"))
    os.environ["EXAMADMIN_INSTANCE"] = str(tmp)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))

    import xlsxwriter
    from flask_migrate import upgrade
    from sqlalchemy import delete, func, insert, select, update

    from examadmin import create_app
    from examadmin.candidates.models import Candidate
    from examadmin.candidates.states import CandidateState
    from examadmin.catalog.models import Level, Major
    from examadmin.core import clock
    from examadmin.core.audit import AuditLog
    from examadmin.core.auth import User
    from examadmin.demo import load_demo
    from examadmin.exams.models import ExamPlan
    from examadmin.extensions import db
    from examadmin.pilots.models import Application, ApplicationLine
    from examadmin.registrations import services
    from examadmin.registrations.importer import import_rows
    from examadmin.registrations.models import Registration
    from examadmin.sites.models import ExamSite
    from import_candidates import id_numbers

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
                      "STORAGE_DIR": str(tmp / "storage"), "HUEY_SQLITE_PATH": str(tmp / "huey.db"),
                      "MAX_IMPORT_ROWS": max(50000, args.rows)})
    numbers = id_numbers(args.rows)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        load_demo()
        db.session.commit()
        user = db.session.scalar(select(User).where(User.username == "school1"))
        school = user.school
        major = db.session.scalar(select(Major).where(Major.school_type == school.type, Major.name == "心理健康教育"))
        now = clock.now()
        names = [f"考生{i:05d}" for i in range(args.rows)]
        db.session.execute(insert(Candidate), [{
            "school_id": school.id, "kind": "本校考生", "name": name, "id_type": "居民身份证", "id_number": number,
            "gender": "男" if int(number[16]) % 2 else "女", "ethnicity": "汉族", "major_id": major.id,
            "class_name": "心理2201", "student_number": f"B{i:06d}", "state": CandidateState.ACCURATE,
            "verified_at": now, "created_at": now, "updated_at": now, "hidden": False,
        } for i, (name, number) in enumerate(zip(names, numbers))])
        line = db.session.scalar(select(ApplicationLine).join(Application).where(
            Application.school_id == school.id, ApplicationLine.major_id == major.id,
            Application.certificate_level.has(level=Level.JUNIOR)))
        db.session.execute(update(ApplicationLine).where(ApplicationLine.id == line.id)
                           .values(approved=ApplicationLine.used + args.rows, requested=ApplicationLine.used + args.rows,
                                   students=ApplicationLine.used + args.rows))
        plan = services.open_plans(user)[0]
        site = db.session.scalar(select(ExamSite).where(ExamSite.school_id == school.id,
                                                        ExamSite.certificate_level.has(level=Level.JUNIOR)))
        db.session.commit()
        sheet = tmp / "报考.xlsx"
        workbook = xlsxwriter.Workbook(str(sheet), {"constant_memory": True})
        ws = workbook.add_worksheet("报考信息")
        ws.write_row(0, 0, ["证件号码", "姓名", "等级", "考核站点", "是否补考"])
        for r, (name, number) in enumerate(zip(names, numbers), start=1):
            ws.write_string(r, 0, number)
            ws.write_row(r, 1, [name, "初级", site.name, "否"])
        workbook.close()
        before = db.session.scalar(select(func.count()).select_from(Registration))
        user_id, school_id, plan_id, site_id, line_id = user.id, school.id, plan.id, site.id, line.id
        db.session.remove()

        started = time.perf_counter()
        user = db.session.get(User, user_id)
        report = import_rows(user, school_id, plan_id, sheet, file_name=sheet.name)
        db.session.commit()
        import_s = time.perf_counter() - started
        assert report.imported and report.created == args.rows, report.as_dict()["errors"][:3]
        assert db.session.scalar(select(func.count()).select_from(Registration)) == before + args.rows
        used = db.session.scalar(select(ApplicationLine.used).where(ApplicationLine.id == line_id))
        assert used == db.session.scalar(select(func.count()).select_from(Registration).where(
            Registration.quota_line_id == line_id))

        # Again through the services alone: free the places and the people first (set-based).
        db.session.execute(delete(AuditLog).where(AuditLog.entity_type == "registration"))
        db.session.execute(delete(Registration).where(Registration.candidate_id.in_(
            select(Candidate.id).where(Candidate.name.in_(names)))))
        db.session.execute(update(ApplicationLine).where(ApplicationLine.id == line_id)
                           .values(used=ApplicationLine.used - args.rows))
        db.session.commit()
        db.session.remove()

        started = time.perf_counter()
        user = db.session.get(User, user_id)
        people = db.session.scalars(select(Candidate).where(Candidate.school_id == school_id,
                                                            Candidate.name.in_(names))).all()
        site = db.session.get(ExamSite, site_id)
        checked = services.check_entries(user, user.school, db.session.get(ExamPlan, plan_id),
                                         [services.Entry(c, site) for c in people])
        ids = services.write_checked(user, user.school, checked)
        db.session.commit()
        service_s = time.perf_counter() - started
        assert len(ids) == args.rows and not checked.problems, checked.problems[:3]
        db.session.remove()

    ok = import_s * TARGET[0] / max(args.rows, 1) < TARGET[1]
    print(f"import (sheet, checks, quota, insert, audit): {args.rows} in {import_s:.2f} s = "
          f"{args.rows / import_s:,.0f} registrations/s   (target {TARGET[0]:,} in < {TARGET[1]:.0f} s: "
          f"{'met' if ok else 'MISSED'})")
    print(f"services alone (checks, quota, insert, audit): {args.rows} in {service_s:.2f} s = "
          f"{args.rows / service_s:,.0f} registrations/s")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
