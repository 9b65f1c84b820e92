"""Fault drills against a running `examadmin serve`: what breaks, and how the site recovers.

    python bench/drills.py [web] [job] [postgres]     (default: all three)

- web: a web worker is killed (SIGKILL) while it is in the middle of a request; the site
  keeps answering and gunicorn's master starts a replacement.
- job: the job worker is killed while it exports 200,000 audit rows; serve's supervisor
  starts a new worker, which marks the job 失败 with its message; nothing names a half
  written file; run again, the job completes.
- postgres: PostgreSQL stops and starts again under the running site. It uses a throwaway
  cluster of its own (initdb in /tmp/serve-pg, port 55440, run as user postgres), never a
  shared server. During the outage pages answer a Chinese 503 and /healthz names the
  database; a write attempted then changes nothing; after the restart requests succeed
  without restarting the app (pool_pre_ping).

The web and job drills run on a fresh embedded SQLite installation in a temporary folder.
Each drill prints what it did and its outcome; the exit status is 1 if any drill failed.
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_DIR = Path("/tmp/serve-pg")
PG_PORT = 55440


def say(text: str) -> None:
    print(text, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def examadmin(*args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "examadmin", *args], env=env, cwd=ROOT, check=check,
                          capture_output=True, timeout=600)


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return sorted(found)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def wait_for(predicate, timeout: float = 60, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def status_of(url: str, data: bytes | None = None, opener=None, timeout: float = 10) -> tuple[int, str]:
    opener = opener or urllib.request.build_opener()
    try:
        with opener.open(url, data=data, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


class Serve:
    """`examadmin serve` in the background, and where its processes are."""

    def __init__(self, env: dict, workers: int = 2):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(Path(env["EXAMADMIN_INSTANCE"]) / "serve.log", "wb")
        self.process = subprocess.Popen([PYTHON, "-m", "examadmin", "serve", "--port", str(self.port),
                                         "--workers", str(workers)], env=env, cwd=ROOT,
                                        stdout=self.log, stderr=subprocess.STDOUT)

        def up():
            try:
                return status_of(self.base + "/healthz", timeout=2)[0] == 200
            except OSError:
                return False

        if not wait_for(up, timeout=90):
            self.stop()
            raise SystemExit(f"serve did not start; see {self.log.name}")

    def web_master(self) -> int:
        return next(pid for pid in children(self.process.pid) if "examadmin.core.serving" in cmdline(pid))

    def job_worker(self) -> int | None:
        return next((pid for pid in children(self.process.pid) if " worker " in cmdline(pid) + " "), None)

    def web_workers(self) -> list[int]:
        return children(self.web_master())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def sqlite_instance(name: str) -> dict:
    folder = tempfile.mkdtemp(prefix=f"examadmin-drill-{name}-")
    env = {**os.environ, "EXAMADMIN_INSTANCE": folder, "HUEY_SQLITE_PATH": f"{folder}/huey.db",
           "STORAGE_DIR": f"{folder}/storage"}
    for name_ in ("DATABASE_URL", "REDIS_URL", "HUEY_IMMEDIATE", "WEB_WORKERS"):
        env.pop(name_, None)
    examadmin("db", "upgrade", env=env)
    examadmin("demo", env=env)
    return env


# ---- drill 1: a web worker killed mid-request -------------------------------------------

def _server_pid_of_connection(client_port: int, candidates: list[int]) -> int | None:
    """Which of `candidates` holds the server end of the connection from `client_port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == client_port and fields[3] == "01":  # ESTABLISHED
                inodes.add(fields[9])
    for pid in candidates:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return pid
    return None


def drill_web() -> bool:
    say("\n== 演练一：网页进程在处理请求时被杀死")
    env = sqlite_instance("web")
    serve = Serve(env, workers=2)
    try:
        before = serve.web_workers()
        say(f"网页服务已启动（主进程 {serve.web_master()}，网页进程 {before}）")
        # A request that is in progress: the headers and half of the body sent, the rest late.
        slow = socket.create_connection(("127.0.0.1", serve.port))
        slow.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 40\r\n\r\nusername=")
        busy = wait_for(lambda: _server_pid_of_connection(slow.getsockname()[1], serve.web_workers()), timeout=10)
        if busy is None:
            say("未能找到正在处理该请求的网页进程")
            return False
        # Load from other clients while it happens.
        results: list[int | str] = []
        stop = threading.Event()

        def load():
            while not stop.is_set():
                try:
                    results.append(status_of(serve.base + "/login", timeout=10)[0])
                except OSError as exc:
                    results.append(type(exc).__name__)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        killed_at = time.monotonic()
        os.kill(busy, signal.SIGKILL)
        say(f"已用 SIGKILL 杀死正在处理请求的网页进程 {busy}")
        try:
            slow.sendall(b"x" * 31)
            answer = slow.recv(100)
            slow_outcome = f"收到 {answer[:30]!r}" if answer else "连接被关闭（无应答）"
        except OSError as exc:
            slow_outcome = f"连接中断（{type(exc).__name__}）"
        slow.close()
        replaced = wait_for(lambda: (lambda now: len(now) == 2 and busy not in now and now)(serve.web_workers()),
                            timeout=30, interval=0.05)
        took = time.monotonic() - killed_at
        time.sleep(2)
        stop.set()
        for thread in threads:
            thread.join()
        after_kill = results[len(results) // 2:]
        ok = sum(1 for r in results if r == 200)
        say(f"被中断的请求：{slow_outcome}")
        say(f"其他客户端同时发出 {len(results)} 个请求：{ok} 个 200，其余 {len(results) - ok} 个 "
            f"（{sorted(set(str(r) for r in results if r != 200)) or '无'}）")
        say(f"主进程在 {took:.2f} 秒内补足网页进程：{replaced}")
        passed = bool(replaced) and all(r == 200 for r in after_kill) and status_of(serve.base + "/login")[0] == 200
        say("结果：" + ("通过，网站持续应答" if passed else "未通过"))
        return passed
    finally:
        serve.stop()
        shutil.rmtree(env["EXAMADMIN_INSTANCE"], ignore_errors=True)


# ---- drill 2: the job worker killed mid-job ---------------------------------------------

JOB_CLIENT = r"""
import json, sys, time
from datetime import datetime, timedelta
from sqlalchemy import insert
from examadmin import create_app
from examadmin.core import jobs
from examadmin.core.audit import AuditLog
from examadmin.core.auth import find_user
from examadmin.core.jobs import Job
from examadmin.extensions import db, huey, write_intent

app = create_app()
command = sys.argv[1]
with app.app_context():
    if command == "seed":
        start = datetime(2026, 1, 1)
        rows = int(sys.argv[2])
        for first in range(0, rows, 20000):
            db.session.execute(insert(AuditLog), [
                {"at": start + timedelta(seconds=n), "actor_name": "评价组织", "actor_role": "org",
                 "action": "update", "entity_type": "school", "entity_id": n, "entity_label": f"学校{n}",
                 "ip": "127.0.0.1"} for n in range(first, min(rows, first + 20000))])
        db.session.commit()
    elif command in ("submit", "retry"):
        org = find_user("org")
        job = jobs.submit(org, "audit_export", {}) if command == "submit" else jobs.retry(org, int(sys.argv[2]))
        db.session.commit()
        jobs.dispatch(job)
        print(job.id)
    elif command == "state":
        write_intent.set(False)
        job = jobs.get_job(find_user("org"), int(sys.argv[2]))
        print(json.dumps({"state": job.state.value, "done": job.done, "total": job.total, "error": job.error,
                          "result_key": job.result_key, "pid": job.worker_pid}, ensure_ascii=False))
"""


def _job(env: dict, *args: str) -> str:
    done = subprocess.run([PYTHON, "-c", JOB_CLIENT, *args], env=env, cwd=ROOT, capture_output=True,
                          timeout=600, check=True)
    return done.stdout.decode().strip().splitlines()[-1] if done.stdout.strip() else ""


def drill_job() -> bool:
    import json

    say("\n== 演练二：后台任务进程在任务运行中被杀死")
    env = sqlite_instance("job")
    rows = 200_000
    _job(env, "seed", str(rows))
    say(f"已写入 {rows} 条审计记录，供「导出审计日志」任务导出")
    serve = Serve(env, workers=1)
    try:
        worker = serve.job_worker()
        job_id = _job(env, "submit")
        say(f"已提交任务 {job_id}，后台任务进程 {worker}")

        def running():
            state = json.loads(_job(env, "state", job_id))
            return state if state["state"] == "运行中" and state["done"] > 0 else None

        state = wait_for(running, timeout=120, interval=0.3)
        if not state:
            say("任务未进入运行状态：" + _job(env, "state", job_id))
            return False
        os.kill(worker, signal.SIGKILL)
        say(f"任务进度 {state['done']}/{state['total']} 时，用 SIGKILL 杀死后台任务进程 {worker}")
        restarted = wait_for(lambda: (lambda pid: pid not in (None, worker) and pid)(serve.job_worker()), timeout=30)
        say(f"监督进程已重新启动后台任务进程：{restarted}")
        final = wait_for(lambda: (lambda s: s if s["state"] == "失败" else None)(json.loads(_job(env, "state", job_id))),
                         timeout=60, interval=0.5)
        if not final:
            say("任务未被标记为失败：" + _job(env, "state", job_id))
            return False
        say(f"任务 {job_id}：{final['state']}，提示「{final['error']}」，结果文件：{final['result_key'] or '无'}")
        exports = Path(env["STORAGE_DIR"]) / "exports"
        leftovers = list(exports.glob("*")) if exports.exists() else []
        say(f"存储目录中未被任何记录引用的半成品文件：{len(leftovers)} 个（不会提供给用户）")
        again = _job(env, "retry", job_id)
        done = wait_for(lambda: (lambda s: s if s["state"] in ("已完成", "失败") else None)(
            json.loads(_job(env, "state", again))), timeout=300, interval=1)
        say(f"重新运行为任务 {again}：{done['state'] if done else '超时'}，导出 {done['done'] if done else 0} 行")
        passed = bool(restarted) and final["error"] == "处理进程意外退出，请重试" and not final["result_key"] \
            and bool(done) and done["state"] == "已完成"
        say("结果：" + ("通过" if passed else "未通过"))
        return passed
    finally:
        serve.stop()
        shutil.rmtree(env["EXAMADMIN_INSTANCE"], ignore_errors=True)


# ---- drill 3: PostgreSQL restarted under the running site --------------------------------

def _pg(*command: str) -> None:
    subprocess.run(["su", "postgres", "-c", " ".join(command)], check=True, capture_output=True, timeout=120)


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not found:
        raise SystemExit("PostgreSQL is not installed (/usr/lib/postgresql/*/bin)")
    return found[-1]


def _sign_in(base: str, username: str, password: str):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    _, page = status_of(base + "/login", opener=opener)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = urllib.parse.urlencode({"username": username, "password": password,
                                   "csrf_token": token.group(1) if token else ""}).encode()
    return opener, data, status_of(base + "/login", data=data, opener=opener)


def drill_postgres() -> bool:
    import json

    say("\n== 演练三：运行中重启 PostgreSQL（独立的临时集群，端口 %d）" % PG_PORT)
    pg_bin = _pg_bin()
    data_dir = PG_DIR / "data"
    if not (data_dir / "PG_VERSION").exists():
        PG_DIR.mkdir(parents=True, exist_ok=True)
        shutil.chown(PG_DIR, "postgres")
        _pg(f"{pg_bin}/initdb", "-D", str(data_dir), "-A", "trust", "-U", "postgres", "-E", "UTF8")
    start = (f"{pg_bin}/pg_ctl", "-D", str(data_dir), "-l", str(PG_DIR / "log"), "-w", "-o",
             f"'-p {PG_PORT} -k /tmp -c listen_addresses=127.0.0.1'", "start")
    stop = (f"{pg_bin}/pg_ctl", "-D", str(data_dir), "-m", "fast", "-w", "stop")
    try:
        _pg(*start)
    except subprocess.CalledProcessError:
        pass  # already running from an earlier drill
    url = f"postgresql://postgres@127.0.0.1:{PG_PORT}/examadmin_drill"
    subprocess.run([f"{pg_bin}/dropdb", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "--if-exists",
                    "examadmin_drill"], check=True, capture_output=True)
    subprocess.run([f"{pg_bin}/createdb", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres",
                    "examadmin_drill"], check=True, capture_output=True)
    folder = tempfile.mkdtemp(prefix="examadmin-drill-pg-")
    env = {**os.environ, "EXAMADMIN_INSTANCE": folder, "DATABASE_URL": url, "HUEY_SQLITE_PATH": f"{folder}/huey.db",
           "STORAGE_DIR": f"{folder}/storage"}
    for name in ("REDIS_URL", "HUEY_IMMEDIATE", "WEB_WORKERS"):
        env.pop(name, None)
    examadmin("db", "upgrade", env=env)
    examadmin("demo", env=env)
    serve = Serve(env, workers=2)

    def audit_rows() -> int:
        out = subprocess.run([f"{pg_bin}/psql", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-tA",
                              "-d", "examadmin_drill", "-c", "SELECT count(*) FROM audit_log"],
                             check=True, capture_output=True, timeout=30)
        return int(out.stdout.strip())

    def signed_in(body: str) -> bool:
        return 'data-testid="logout"' in body

    try:
        opener, _, (code, body) = _sign_in(serve.base, "school1", "demo1234")
        page, body = status_of(serve.base + "/candidates/", opener=opener)
        if not signed_in(body):
            say("school1 未能登录")
            return False
        say(f"school1 已登录，考生列表：{page}；后台任务进程 {serve.job_worker()}")
        worker_before = serve.job_worker()
        rows_before = audit_rows()
        _pg(*stop)
        say("PostgreSQL 已停止")
        during, body = status_of(serve.base + "/candidates/", opener=opener)
        health, health_body = status_of(serve.base + "/healthz")
        other_opener, data, (write_code, write_body) = _sign_in(serve.base, "school2", "demo1234")
        say(f"停机期间：考生列表 {during}（{'中文 503 页面' if '数据库暂时无法访问' in body else body[:80]}），"
            f"/healthz {health} {json.dumps(json.loads(health_body), ensure_ascii=False)}，"
            f"school2 登录（写操作） {write_code}")
        clean = during == 503 and "数据库暂时无法访问" in body and "Traceback" not in body and health == 503 \
            and '"database"' in health_body
        _pg(*start)
        say("PostgreSQL 已重新启动")
        rows_after_outage = audit_rows()
        after, after_body = status_of(serve.base + "/candidates/", opener=opener)
        health_after, _ = status_of(serve.base + "/healthz")
        _, _, (again, again_body) = _sign_in(serve.base, "school2", "demo1234")
        say(f"重启后：school1 的考生列表 {after}（{'仍在登录状态' if signed_in(after_body) else '未登录'}），"
            f"/healthz {health_after}，school2 登录 {'成功' if signed_in(again_body) else '失败'}")
        say(f"审计记录：停机前 {rows_before} 条，重启后 {rows_after_outage} 条"
            f"（{'停机期间的写操作没有留下任何内容' if rows_after_outage == rows_before else '有变化'}）")
        worker_after = serve.job_worker()
        say(f"后台任务进程：{worker_before} → {worker_after}")
        passed = clean and after == 200 and signed_in(after_body) and health_after == 200 \
            and signed_in(again_body) and write_code == 503 and rows_after_outage == rows_before \
            and worker_after is not None
        say("结果：" + ("通过，无需重启应用即恢复" if passed else "未通过"))
        return passed
    finally:
        serve.stop()
        try:
            _pg(*stop)
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(folder, ignore_errors=True)


DRILLS = {"web": drill_web, "job": drill_job, "postgres": drill_postgres}


def main() -> None:
    chosen = sys.argv[1:] or list(DRILLS)
    unknown = [name for name in chosen if name not in DRILLS]
    if unknown:
        raise SystemExit(f"未知的演练：{', '.join(unknown)}（可选：{', '.join(DRILLS)}）")
    outcomes = {name: DRILLS[name]() for name in chosen}
    say("\n== 汇总：" + "，".join(f"{name} {'通过' if ok else '未通过'}" for name, ok in outcomes.items()))
    sys.exit(0 if all(outcomes.values()) else 1)


if __name__ == "__main__":
    main()
