"""The deadline rush, measured: a mixed load against the real server on PostgreSQL + Redis.

    .venv/bin/pip install -e ".[postgres,redis,bench]"
    .venv/bin/python bench/rush.py [--users 200] [--duration 60] [--workers 4]

1. Prepares its own data set (bench/rush_seed.py) in a PostgreSQL database it empties first
   (--database-url, default postgresql://postgres@127.0.0.1:55433/ex_rush_bench): the demo plus
   100 schools with coordinators, 50,000 verified candidates, a plan open for registration with
   quota lines that run out during the rush, a plan with tickets issued and portal accounts
   activated, final results and signed certificates for the public lookups.
2. Starts the server on that database and Redis (--redis-url; the bench empties that Redis
   database first, FLUSHDB, so that it must be one of its own): by default
   `examadmin serve --workers N` (gunicorn and the job worker it supervises); --server-cmd and
   --worker-cmd replace them (e.g. --server-cmd "gunicorn -w {workers} -b 127.0.0.1:{port} wsgi:app"
   --worker-cmd "examadmin worker"), {workers} and {port} filled in. TRUST_PROXY=1: every simulated person sends
   its own X-Forwarded-For, as nginx would, so the per-address limits of sign-in and the public
   lookups stay on and count per person (bench/rush_locust.py).
3. Runs locust headless for --duration seconds with --users users (coordinators, candidates and
   public visitors 3:4:3; RUSH_WEIGHT_COORDINATOR, RUSH_WEIGHT_CANDIDATE, RUSH_WEIGHT_VISITOR change
   the mix; bench/rush_locust.py says what each does: a coordinator signs in once per working
   session of 40-80 requests, every candidate visit is a sign-in followed by the home page and one
   or two ticket downloads), then prints per endpoint and overall: requests/s, p50/p95/p99 and
   failures (5xx, timeouts, wrong answers), the share of sign-ins (the costliest request: scrypt),
   the outcome of the registration attempts, the load
   average (`uptime`), and checks that no quota line has more places taken than granted, no seat
   holds two people and every ticket number is unique.
4. --profile N: after the run, N requests of each endpoint inside this process (Flask's test
   client on the same database, cProfile), printing where the time of the slowest one goes and
   how much of a sign-in is password hashing.

Targets on the 2-core machine (issue 13): >= 300 requests/s of the mix, p99 < 500 ms, zero
errors, zero overshoot. The exit status is 0 when all are met.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET_RPS, TARGET_P99_MS = 300, 500


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def recreate_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"unexpected database name {name!r}")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def prepare(args, instance: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from flask_migrate import upgrade

    from examadmin import create_app
    from rush_seed import seed

    recreate_database(args.database_url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(args.database_url),
                      "STORAGE_DIR": str(instance / "storage")})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        return seed(app, schools=args.schools, per_school=args.per_school, places=args.places,
                    tickets=args.tickets, passed=args.passed)


def _sqlalchemy_url(url: str) -> str:
    from examadmin.config import normalise_database_url

    return normalise_database_url(url)


def server_env(args, instance: Path) -> dict:
    env = dict(os.environ)
    env.update({"EXAMADMIN_INSTANCE": str(instance), "DATABASE_URL": args.database_url,
                "REDIS_URL": args.redis_url, "TRUST_PROXY": "1", "PATH": f"{BIN}:{env.get('PATH', '')}"})
    env.pop("HUEY_IMMEDIATE", None)
    return env


def start(command: str, env: dict, log: Path) -> subprocess.Popen:
    out = open(log, "ab")
    return subprocess.Popen(shlex.split(command), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server ended with status {process.returncode}; see its log")
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the server did not answer within a minute")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> dict[int, tuple[int, str, float]]:
    """Every process's (parent, command, CPU seconds used so far), from /proc."""
    seen = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        # fields[1] is the parent; [11] utime, [12] stime, in clock ticks
        seen[int(entry.name)] = (int(fields[1]), command, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return seen


def _root_of(pid: int, snapshot: dict, roots: set[int]) -> int | None:
    """The started process (server, worker, locust) this process descends from, if any."""
    seen = set()
    while pid in snapshot and pid not in roots and pid not in seen:
        seen.add(pid)
        pid = snapshot[pid][0]
    return pid if pid in roots else None


def cpu_used(before: dict, after: dict, roots: dict[str, int], database: str) -> dict[str, float]:
    """CPU seconds used between two readings by each started process with its descendants, and
    by the database's backends. `examadmin serve` runs the job worker as its own child: a
    descendant of the server whose command is `python -m examadmin worker` counts as the job worker."""
    used = {name: 0.0 for name in [*roots, "postgresql"]}
    names = {pid: name for name, pid in roots.items()}
    for pid, (_parent, command, seconds) in after.items():
        spent = seconds - before.get(pid, (0, command, 0.0))[2]
        root = _root_of(pid, after, set(names))
        if root is not None:
            name = names[root]
            if name == "web server" and " examadmin worker" in command:
                name = "job worker"
            used[name] += spent
        if command.startswith("postgres: ") and f" {database} " in command:
            used["postgresql"] += spent
    return used


def read_stats(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def print_stats(rows: list[dict], duration: float) -> dict:
    header = f"{'endpoint':<52} {'requests':>8} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>7} {'fail':>5}"
    print(header)
    print("-" * len(header))
    total = {}
    for row in rows:
        name = row["Name"] if row["Type"] != "" else "overall"
        if row["Name"] == "Aggregated":
            total = row
            continue
        print(f"{row['Type'] + ' ' + name:<52.52} {int(row['Request Count']):>8} "
              f"{float(row['Requests/s']):>7.1f} {row['50%']:>6} {row['95%']:>6} {row['99%']:>6} "
              f"{float(row['Max Response Time']):>7.0f} {int(row['Failure Count']):>5}")
    if total:
        print("-" * len(header))
        print(f"{'overall (ms)':<52} {int(total['Request Count']):>8} {float(total['Requests/s']):>7.1f} "
              f"{total['50%']:>6} {total['95%']:>6} {total['99%']:>6} {float(total['Max Response Time']):>7.0f} "
              f"{int(total['Failure Count']):>5}")
    return total


def print_failures(prefix: Path) -> None:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        print(f"  failure x{row['Occurrences']}: {row['Method']} {row['Name']}: {row['Error'][:160]}")


def check_overshoot(args) -> bool:
    """No quota line gives more places than granted, no seat holds two, ticket numbers unique."""
    import psycopg

    checks = [
        ("quota lines with more places used than granted",
         "SELECT count(*) FROM application_line WHERE approved IS NOT NULL AND used > approved"),
        ("quota lines whose live registrations exceed the places granted",
         "SELECT count(*) FROM (SELECT l.id FROM application_line l JOIN registration r ON r.quota_line_id = l.id "
         "WHERE r.state IN ('待缴费', '已缴费', '已排考') GROUP BY l.id, l.approved HAVING count(*) > l.approved) x"),
        ("quota lines whose used count differs from their live registrations",
         "SELECT count(*) FROM application_line l WHERE l.used <> (SELECT count(*) FROM registration r "
         "WHERE r.quota_line_id = l.id AND r.state IN ('待缴费', '已缴费', '已排考'))"),
        ("seats (room, session, seat number) holding two people",
         "SELECT count(*) FROM (SELECT 1 FROM seat GROUP BY room_id, session_id, seat_number "
         "HAVING count(*) > 1) x"),
        ("registrations placed twice in one session",
         "SELECT count(*) FROM (SELECT 1 FROM seat GROUP BY registration_id, session_id HAVING count(*) > 1) x"),
        ("rooms holding more people than seats",
         "SELECT count(*) FROM (SELECT s.room_id, s.session_id FROM seat s JOIN exam_room r ON r.id = s.room_id "
         "GROUP BY s.room_id, s.session_id, r.seats HAVING count(*) > r.seats) x"),
        ("ticket numbers given twice",
         "SELECT count(*) - count(DISTINCT ticket_number) FROM admission_ticket"),
        ("people registered twice for one plan and level",
         "SELECT count(*) FROM (SELECT 1 FROM registration WHERE state IN ('待缴费', '已缴费', '已排考') "
         "GROUP BY plan_id, candidate_id, certificate_level_id HAVING count(*) > 1) x"),
    ]
    ok = True
    print("\nOvershoot check (after the run, on the database):")
    with psycopg.connect(args.database_url) as conn:
        for label, sql in checks:
            value = conn.execute(sql).fetchone()[0]
            ok = ok and value == 0
            print(f"  {'OK  ' if value == 0 else 'FAIL'} {label}: {value}")
        full, lines, taken = conn.execute(
            "SELECT count(*) FILTER (WHERE l.used = l.approved), count(*), coalesce(sum(l.used), 0) "
            "FROM application_line l "
            "WHERE l.id = ANY(%s)", ([s["line_id"] for s in args.manifest["schools"]],)
        ).fetchone()
        registered = conn.execute(
            "SELECT count(*) FROM registration WHERE plan_id = %s", (args.manifest["open_plan_id"],)).fetchone()[0]
    print(f"  the rush's quota lines: {full} of {lines} used up; {registered:,} registrations in the open plan")
    return ok


def profile(args, instance: Path, count: int) -> None:
    """Each endpoint `count` times in this process (test client, same database), the slowest profiled."""
    import cProfile
    import pstats
    import random
    import re

    from werkzeug.security import check_password_hash

    from examadmin import create_app
    from examadmin.core.auth import User
    from examadmin.extensions import db

    os.environ["EXAMADMIN_INSTANCE"] = str(instance)
    app = create_app({"SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(args.database_url),
                      "STORAGE_DIR": str(instance / "storage"), "RATELIMIT_ENABLED": False})
    manifest = args.manifest
    school = manifest["schools"][0]
    csrf_re = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

    def coordinator():
        client = app.test_client()
        page = client.get("/login").text
        client.post("/login", data={"csrf_token": csrf_re.search(page).group(1), "username": school["username"],
                                    "password": manifest["password"]})
        return client

    def candidate():
        client = app.test_client()
        number, _ = manifest["holders"][0]
        page = client.get("/portal/login").text
        client.post("/portal/login", data={"csrf_token": csrf_re.search(page).group(1), "id_number": number,
                                           "password": manifest["password"]})
        return client

    staff, holder = coordinator(), candidate()
    registration_id = manifest["holders"][0][1]
    lookup = manifest["lookups"][0]
    certificate = manifest["certificates"][0]

    def posted(client, url, data):
        token = csrf_re.search(client.get(url).text).group(1)
        return client.post(url, data={"csrf_token": token, **data})

    pool = iter(reversed(school["pool"]))  # locust takes from the front; the quota is used up by now

    def register_one():
        candidate_id = next(pool)[0]
        token = csrf_re.search(staff.get("/").text).group(1)
        return staff.post("/registrations/new", data={"csrf_token": token, "ids": candidate_id,
                                                      "plan_id": manifest["open_plan_id"],
                                                      "site_id": school["site_id"], "submit": "确认报考"})

    endpoints = {
        "GET / (dashboard)": lambda: staff.get("/"),
        "GET /candidates/": lambda: staff.get("/candidates/?page=3"),
        "GET /candidates/?state=信息准确": lambda: staff.get("/candidates/?state=信息准确"),
        "GET /registrations/": lambda: staff.get(f"/registrations/?plan_id={manifest['open_plan_id']}"),
        "GET /portal/": lambda: holder.get("/portal/"),
        "GET /tickets/mine/<id>.pdf": lambda: holder.get(f"/tickets/mine/{registration_id}.pdf"),
        "POST /scores/lookup (with its GET)": lambda: posted(app.test_client(), "/scores/lookup",
                                                             {"id_number": lookup[0], "ticket_number": lookup[1]}),
        "POST /certificates/verify (with its GET)": lambda: posted(app.test_client(), "/certificates/verify",
                                                                   {"number": certificate[0],
                                                                    "id_number": certificate[1]}),
        "POST /registrations/new (with GET /)": register_one,
        "POST /login (with its GET)": lambda: posted(app.test_client(), "/login",
                                                     {"username": school["username"],
                                                      "password": manifest["password"]}),
        "POST /portal/login (with its GET)": lambda: posted(app.test_client(), "/portal/login",
                                                            {"id_number": manifest["holders"][0][0],
                                                             "password": manifest["password"]}),
    }
    # CPU time of this process (not wall time): on a shared machine the wall time also measures
    # the neighbours; the database's own CPU is not in it (see the run's PostgreSQL figure).
    print(f"\nIn-process CPU per request (test client, no HTTP, {count} requests each, median ms):")
    times = {}
    for name, call in endpoints.items():
        samples = []
        for _ in range(count):
            started = time.process_time()
            response = call()
            samples.append(time.process_time() - started)
            assert response.status_code in (200, 302), (name, response.status_code)
        samples.sort()
        times[name] = samples[len(samples) // 2] * 1000
        print(f"  {name:<44} {times[name]:7.1f} ms")
    with app.app_context():
        stored = db.session.scalar(db.select(User.password_hash).where(User.username == school["username"]))
    started = time.process_time()
    for _ in range(5):
        check_password_hash(stored, manifest["password"])
    hashing = (time.process_time() - started) / 5 * 1000
    print(f"  password hashing alone (scrypt, as stored): {hashing:.1f} ms = "
          f"{hashing / times['POST /login (with its GET)'] * 100:.0f}% of a sign-in with its form")
    slowest = max((n for n in times if "login" not in n), key=times.get)
    print(f"\nProfile of the slowest endpoint after sign-in: {slowest}")
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(count):
        endpoints[slowest]()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    random.seed(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "RUSH_DATABASE_URL", "postgresql://postgres@127.0.0.1:55433/ex_rush_bench"))
    parser.add_argument("--redis-url", default=os.environ.get("RUSH_REDIS_URL", "redis://127.0.0.1:6379/6"))
    parser.add_argument("--users", type=int, default=200, help="simulated people at once")
    parser.add_argument("--spawn-rate", type=float, default=20, help="new simulated people per second")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--workers", type=int, default=4, help="web worker processes")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--server-cmd", default="examadmin serve --workers {workers} --host 127.0.0.1 --port {port}",
                        help="the server as production runs it: gunicorn and the supervised job worker")
    parser.add_argument("--worker-cmd", default="", help='a separate worker command when --server-cmd runs none')
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--per-school", type=int, default=500)
    parser.add_argument("--places", type=int, default=5, help="quota places left per school for the rush")
    parser.add_argument("--tickets", type=int, default=100, help="ticket holders per school")
    parser.add_argument("--passed", type=int, default=100, help="people with a result and certificate per school")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="then N requests per endpoint profiled")
    parser.add_argument("--locustfile", default=str(ROOT / "bench" / "rush_locust.py"),
                        help="another mix (e.g. an earlier version of bench/rush_locust.py, to compare)")
    parser.add_argument("--keep", action="store_true", help="keep the server's log and locust's CSV files")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="examadmin-rush-"))
    instance = work / "instance"
    instance.mkdir(mode=0o700)
    os.environ["EXAMADMIN_INSTANCE"] = str(instance)
    os.environ["REDIS_URL"] = args.redis_url
    (instance / "secret_key").write_text(secrets.token_hex(32))
    print(f"uptime before: {uptime()}")
    print(f"Preparing the data set in {args.database_url} ...")
    started = time.perf_counter()
    args.manifest = prepare(args, instance)
    print(f"data set ready in {time.perf_counter() - started:.1f} s")
    manifest_path = work / "manifest.json"
    manifest_path.write_text(json.dumps(args.manifest, ensure_ascii=False))

    flush_redis(args.redis_url)
    env = server_env(args, instance)
    fill = {"workers": args.workers, "port": args.port}
    server = worker = None
    ok = False
    try:
        server = start(args.server_cmd.format(**fill), env, work / "server.log")
        if args.worker_cmd:
            worker = start(args.worker_cmd.format(**fill), env, work / "worker.log")
        base = f"http://127.0.0.1:{args.port}"
        wait_until_up(base, server)
        print(f"server: {args.server_cmd.format(**fill)}" + (f"; worker: {args.worker_cmd}" if worker else ""))
        print(f"load: {args.users} simulated people (spawn {args.spawn_rate}/s) for {args.duration} s")
        print(f"uptime at start: {uptime()}")
        prefix = work / "locust"
        outcomes = work / "outcomes.json"
        run_env = {**os.environ, "RUSH_MANIFEST": str(manifest_path), "RUSH_OUTCOMES": str(outcomes)}
        cpu_before = cpu_after = cpu_seconds()
        locust = subprocess.Popen([str(BIN / "locust"), "-f", args.locustfile, "--headless",
                        "--host", base, "-u", str(args.users), "-r", str(args.spawn_rate),
                        "-t", f"{args.duration}s", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
                        "--stop-timeout", "10"], env=run_env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=open(work / "locust.log", "ab"),
                                  start_new_session=True)
        # read while locust still runs: its CPU time goes with the process when it ends
        while locust.poll() is None:
            cpu_after = cpu_seconds()
            time.sleep(0.5)
        roots = {"web server": server.pid, "job worker": worker.pid if worker else -1, "locust (client)": locust.pid}
        used = cpu_used(cpu_before, cpu_after, roots, args.database_url.rpartition("/")[2])
        print(f"uptime at end: {uptime()}\n")
        stats = read_stats(prefix)
        total = print_stats(stats, args.duration)
        sign_ins = sum(int(r["Request Count"]) for r in stats if r["Type"] == "POST" and "login" in r["Name"])
        print(f"sign-ins (POST /login, /portal/login): {sign_ins} of {int(total.get('Request Count', 0))} "
              f"requests ({sign_ins / max(int(total.get('Request Count', 0)), 1) * 100:.1f}%)")
        print_failures(prefix)
        requests = int(total.get("Request Count", 0)) or 1
        print("CPU used during the run (from /proc; on a shared machine this, not the wall time, is what the "
              "mix costs): " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in used.items()))
        print(f"  per request: web server {used['web server'] / requests * 1000:.1f} ms, PostgreSQL "
              f"{used['postgresql'] / requests * 1000:.1f} ms, job worker {used['job worker'] / requests * 1000:.1f} ms "
              f"-> {(used['web server'] + used['postgresql'] + used['job worker']) / requests * 1000:.1f} ms of CPU "
              f"per request of the mix: {requests / max(used['web server'] + used['postgresql'] + used['job worker'], 0.001):.0f}"
              " requests per CPU-second")
        if outcomes.exists():
            print("registration attempts: " + ", ".join(f"{k} {v}" for k, v in
                                                         sorted(json.loads(outcomes.read_text()).items())))
        time.sleep(3)  # the last imports finish in the worker
        no_overshoot = check_overshoot(args)
        rps = float(total.get("Requests/s", 0))
        p99 = float(total.get("99%", 0) or 0)
        failures = int(total.get("Failure Count", 0))
        ok = rps >= TARGET_RPS and p99 < TARGET_P99_MS and failures == 0 and no_overshoot
        print(f"\nTargets: >= {TARGET_RPS} req/s: {rps:.0f} {'met' if rps >= TARGET_RPS else 'MISSED'}; "
              f"p99 < {TARGET_P99_MS} ms: {p99:.0f} {'met' if p99 < TARGET_P99_MS else 'MISSED'}; "
              f"zero errors: {failures} {'met' if failures == 0 else 'MISSED'}; "
              f"zero overshoot: {'met' if no_overshoot else 'MISSED'}")
    finally:
        stop(server)
        stop(worker)
    if args.profile:
        profile(args, instance, args.profile)
    print(f"files of this run (server and worker logs, locust CSV): {work}" if args.keep else "")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
