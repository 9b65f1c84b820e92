"""Every list page of every role, timed at national scale (see bench/seed_scale.py).

    python bench/list_pages.py postgresql://postgres@127.0.0.1:55433/ex_scale [--repeat 20]
        [--role school] [--only /candidates] [--explain]

Signs in as each seeded account (org, sysadmin, province, city, school, proctor, candidate)
with the Flask test client against the given database (no HTTP server: this measures the
app and the database, not the network), finds the list pages from the URL map (every GET
page without path arguments that is not a form, a download or a sign-in page) plus the
pages of a plan, site, room and session, and their common variants: a filter, a search,
page 2 and the last page. Each page is requested once to warm up and then --repeat times;
prints p50 and p99 in ms, the SQL statements per request and the status. A page a role may
not open (403/404) or that sends it elsewhere (302) is listed once and not timed.
With --explain the slowest statement of each page over 50 ms is printed with EXPLAIN ANALYZE.
Ends with the pages whose p99 misses the 200 ms target, and the machine's load (uptime).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 200
ROLES = ["org", "admin", "province", "city", "school", "proctor", "candidate"]
#: parts of a rule that say it is not a list page
NOT_A_LIST = ("/new", "/import", "/password", "login", "/activate", "/photo", "template", ".json", ".xlsx",
              ".pdf", "/verify", "/lookup", "/seals")
LAST_PAGE = re.compile(r"第 \d+ / (\d+) 页")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--role", action="append", choices=ROLES, help="only these roles (repeatable)")
    parser.add_argument("--only", default="", help="only paths starting with this")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="examadmin-bench-pages-")
    os.environ.update(EXAMADMIN_INSTANCE=tmp, HUEY_SQLITE_PATH=f"{tmp}/huey.db")
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import event, select, text

    from examadmin import create_app
    from examadmin.core.auth import User
    from examadmin.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "STORAGE_DIR": f"{tmp}/storage",
                      "RATELIMIT_ENABLED": False})
    from examadmin.core.serving import freeze_after_startup
    freeze_after_startup()  # as the served app (examadmin serve, wsgi.py) does after loading
    statements: list[tuple[str, object, float]] = []

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info["t"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters, time.perf_counter() - conn.info.pop("t", time.perf_counter())))

        users = {u.username: u.get_id() for u in db.session.scalars(select(User).where(User.username.in_(ROLES[:-1])))}
        cand = db.session.scalar(select(User).where(User.role == "candidate").order_by(User.id))
        users["candidate"] = cand.get_id()
        # the objects the per-record list pages are about: the big school's first site and room
        school_id = db.session.scalar(select(User.school_id).where(User.username == "school"))
        site_id = db.session.scalar(text("SELECT id FROM exam_site WHERE school_id = :s ORDER BY id LIMIT 1"),
                                    {"s": school_id})
        room_id, session_id = db.session.execute(text(
            "SELECT r.id, s.id FROM exam_room r JOIN exam_session s ON s.plan_id = r.plan_id "
            "AND s.subject_id = r.subject_id WHERE r.site_id = :s ORDER BY r.id LIMIT 1"), {"s": site_id}).one()
        db.session.remove()

    list_rules = sorted(r.rule for r in app.url_map.iter_rules()
                        if "GET" in r.methods and not r.arguments and not r.rule.startswith("/static")
                        and not any(part in r.rule for part in NOT_A_LIST) and r.endpoint != "healthz")
    extra = [
        "/candidates/?state=信息准确", "/candidates/?page=2", "/candidates/?kind=社会考生",
        "/registrations/?plan_id=1", "/registrations/?plan_id=2", "/registrations/?plan_id=1&page=2",
        "/registrations/?state=待缴费",
        "/registrations/payments?plan_id=1", "/scheduling/?plan_id=1", f"/scheduling/plans/1/sites/{site_id}",
        f"/scheduling/plans/1/sites/{site_id}/proctors", f"/scheduling/rooms/{room_id}",
        "/exams/rooms?plan_id=1", "/exams/rooms?page=2", "/exams/plans/1",
        "/scores/?plan_id=1", "/scores/plans/1/scores", "/scores/plans/1/scores?page=2",
        "/scores/plans/1/objections", "/scores/stats/1", "/scores/plans/1/entry",
        "/certificates/?plan_id=1", "/certificates/?page=2",
        "/audit/?page=2", "/sites/?page=2", "/pilots/applications?page=2", "/pilots/quota?page=2",
        "/catalog/schools?page=2", "/portal/accounts?page=2",
        f"/tickets/checkin/{room_id}/{session_id}",
    ]
    paths = [p for p in list_rules + extra if p.startswith(args.only)]
    roles = args.role or ROLES
    rows, misses = [], []
    client = app.test_client()
    for role in roles:
        with client.session_transaction() as session:
            session.clear()
            session["_user_id"] = users[role]
            session["_fresh"] = True
            session["seen"] = int(time.time())
        todo = list(paths)
        done = set()
        while todo:
            path = todo.pop(0)
            if path in done:
                continue
            done.add(path)
            response = client.get(path)
            if response.status_code != 200:
                rows.append((path, role, None, None, None, response.status_code))
                continue
            body = response.get_data(as_text=True)
            last = LAST_PAGE.search(body)
            if last and int(last.group(1)) > 2:
                base = re.sub(r"[?&]page=\d+", "", path)
                todo.insert(0, f"{base}{'&' if '?' in base else '?'}page={last.group(1)}")
            times, counts = [], []
            slowest = None
            for _ in range(args.repeat):
                statements.clear()
                started = time.perf_counter()
                client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                counts.append(len(statements))
                top = max(statements, key=lambda s: s[2], default=None)
                if top and (slowest is None or top[2] > slowest[2]):
                    slowest = top
            times.sort()
            p50 = statistics.median(times)
            p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]
            rows.append((path, role, p50, p99, max(counts), 200))
            if p99 >= TARGET_MS:
                misses.append((path, role, p99))
            print(f"{role:<10} {path:<58} p50 {p50:7.1f}  p99 {p99:7.1f}  queries {max(counts):3d}", flush=True)
            if args.explain and slowest and slowest[2] * 1000 > 50:
                explain(app, db, slowest)

    print()
    print(f"| page | role | p50 ms | p99 ms | queries |")
    print("|---|---|---|---|---|")
    for path, role, p50, p99, queries, status in rows:
        if status == 200:
            print(f"| {path} | {role} | {p50:.1f} | {p99:.1f} | {queries} |")
    skipped = [f"{role} {path} ({status})" for path, role, _, _, _, status in rows if status != 200]
    print(f"\n未计时（该角色不可访问或被转向）：{len(skipped)} 个")
    print(f"共计时 {sum(1 for r in rows if r[5] == 200)} 个页面，每页 {args.repeat} 次；"
          f"p99 ≥ {TARGET_MS} ms 的：{len(misses)} 个")
    for path, role, p99 in misses:
        print(f"  {role} {path} p99 {p99:.0f} ms")
    print("uptime:", os.popen("uptime").read().strip())


def explain(app, db, statement) -> None:
    sql, params, secs = statement
    with app.app_context():
        conn = db.engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute("EXPLAIN ANALYZE " + sql, params)
            plan = "\n      ".join(r[0] for r in cur.fetchall())
        finally:
            conn.close()
    print(f"    slowest statement {secs * 1000:.0f} ms:\n      {sql[:400]}\n      {plan}")


if __name__ == "__main__":
    main()
