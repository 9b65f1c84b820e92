"""`examadmin serve`: gunicorn with several web processes and a supervised job worker, the
reloading development server, and the supervisor's restarts."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from examadmin.core import serving
from tests.core.test_worker import _examadmin

pytestmark = [pytest.mark.no_db_fixture, pytest.mark.worker]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """The pids of a process's children (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return sorted(found)


def alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def get(url: str, timeout: float = 5) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def wait_for(predicate, timeout: float = 30, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class Output:
    """A child's output, read on a thread so that its pipe never fills."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in iter(stream.readline, b""):
            self.lines.append(line.decode(errors="replace"))
        stream.close()

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _instance(tmp_path) -> dict:
    env = {**os.environ, "EXAMADMIN_INSTANCE": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
           "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"), "STORAGE_DIR": str(tmp_path / "storage")}
    env.pop("HUEY_IMMEDIATE", None)
    env.pop("WEB_WORKERS", None)
    subprocess.run(_examadmin() + ["db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    return env


def test_serve_runs_gunicorn_and_a_supervised_worker_that_both_recover(tmp_path):
    env = _instance(tmp_path)
    port = _free_port()
    server = subprocess.Popen(_examadmin() + ["serve", "--port", str(port), "--workers", "2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = Output(server)
    everyone: set[int] = {server.pid}
    try:
        assert wait_for(lambda: "考试管理系统已启动" in output.text), output.text
        status, body = get(f"http://127.0.0.1:{port}/login")
        assert status == 200 and "登录" in body and "1+X" in body
        # serve -> gunicorn's master with two web processes, and the job worker beside it
        web_master, job_worker = children(server.pid)
        if "examadmin.core.serving" not in Path(f"/proc/{web_master}/cmdline").read_text():
            web_master, job_worker = job_worker, web_master
        web_workers = wait_for(lambda: len(children(web_master)) == 2 and children(web_master))
        assert len(web_workers) == 2
        everyone |= {web_master, job_worker, *web_workers}
        assert f"后台任务进程已启动（进程号 {job_worker}）" in output.text

        # A web worker killed: gunicorn's master starts another, the site keeps answering.
        os.kill(web_workers[0], signal.SIGKILL)
        replaced = wait_for(lambda: (lambda now: len(now) == 2 and web_workers[0] not in now and now)(
            children(web_master)))
        assert replaced, children(web_master)
        everyone |= set(replaced)
        for _ in range(6):
            assert get(f"http://127.0.0.1:{port}/login")[0] == 200

        # The job worker killed: the supervisor starts another one.
        os.kill(job_worker, signal.SIGKILL)
        assert wait_for(lambda: "后台任务进程已重新启动" in output.text, timeout=15), output.text
        restarted = [pid for pid in children(server.pid) if pid not in (web_master, job_worker)]
        assert len(restarted) == 1 and "\0worker\0" in Path(f"/proc/{restarted[0]}/cmdline").read_text()
        everyone |= set(restarted)
        assert re.search(rf"进程号 {job_worker}）意外退出", output.text)
    finally:
        server.send_signal(signal.SIGTERM)  # what systemd sends
        code = server.wait(timeout=60)
    assert code == 0
    # Nothing is left running, and normal use prints no red development-server warning.
    assert wait_for(lambda: not any(alive(pid) for pid in everyone), timeout=10)
    assert "development server" not in output.text and "\x1b[31m" not in output.text


def test_serve_dev_runs_the_reloading_development_server(tmp_path):
    env = _instance(tmp_path)
    port = _free_port()
    server = subprocess.Popen(_examadmin() + ["serve", "--dev", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    output = Output(server)
    try:
        def answers():
            try:
                return get(f"http://127.0.0.1:{port}/login", timeout=2)[0] == 200
            except OSError:
                return False

        assert wait_for(answers), output.text
        # Werkzeug's reloader watches the code in this process and serves from a child it restarts
        served_by = children(server.pid)
        assert len(served_by) == 1
        assert b"WERKZEUG_RUN_MAIN=true" in Path(f"/proc/{served_by[0]}/environ").read_bytes()
        assert "开发模式已启动" in output.text
        assert "gunicorn" not in output.text.lower()
    finally:
        os.killpg(server.pid, signal.SIGINT)  # Ctrl+C reaches the reloader and its child
        server.wait(timeout=30)


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_the_supervisor_restarts_a_dying_worker_with_a_growing_pause():
    said: list[str] = []
    web = serving.Child("web", _python("import time; time.sleep(60)"))
    worker = serving.Child("worker", _python("import sys; sys.exit(3)"))
    supervisor = serving.Supervisor(web, worker, stop_timeout=5, say=said.append)
    timer = threading.Timer(4.5, lambda: setattr(supervisor, "stopping", True))
    timer.start()
    try:
        assert supervisor.run() == 0
    finally:
        timer.cancel()
    died = [line for line in said if "意外退出（退出码 3）" in line]
    # started at 0, died, again after 1 s, died, again after 2 s more, died: pauses 1, 2, 4
    assert len(died) >= 2, said
    assert "1 秒后重新启动" in died[0] and "2 秒后重新启动" in died[1]
    assert worker.restarts >= 2 and len(set(worker.history)) == worker.restarts + 1
    assert web.process.returncode is not None and worker.process.returncode is not None  # all stopped


def test_when_the_web_server_exits_the_supervisor_stops_the_worker_and_reports_it():
    said: list[str] = []
    web = serving.Child("web", _python("import sys, time; time.sleep(0.5); sys.exit(2)"))
    worker = serving.Child("worker", _python("import time; time.sleep(60)"))
    started = time.monotonic()
    assert serving.Supervisor(web, worker, stop_timeout=5, say=said.append).run() == 2
    assert time.monotonic() - started < 10
    assert worker.process.returncode is not None
    assert any("网页服务已退出（退出码 2）" in line for line in said)


def test_web_workers_default_from_the_cpu_count_or_web_workers(monkeypatch):
    monkeypatch.delenv("WEB_WORKERS", raising=False)
    monkeypatch.setattr(serving, "cpu_count", lambda: 2)
    assert serving.default_web_workers() == 5
    monkeypatch.setattr(serving, "cpu_count", lambda: 32)
    assert serving.default_web_workers() == serving.MAX_DEFAULT_WEB_WORKERS
    monkeypatch.setenv("WEB_WORKERS", "3")
    assert serving.default_web_workers() == 3


def test_serve_refuses_a_bad_web_workers_setting_in_chinese(tmp_path):
    env = {**os.environ, "EXAMADMIN_INSTANCE": str(tmp_path), "WEB_WORKERS": "很多"}
    done = subprocess.run(_examadmin() + ["serve"], env=env, capture_output=True, timeout=60)
    assert done.returncode != 0
    assert "WEB_WORKERS 须为正整数" in done.stderr.decode()


def test_a_forked_web_worker_does_not_reuse_the_masters_connections(tmp_path):
    """gunicorn's post_fork hook replaces the pools the worker inherited."""
    from examadmin import create_app
    from examadmin.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/f.db"})

    class FakeServer:
        class app:  # noqa: N801 - gunicorn's attribute
            @staticmethod
            def wsgi():
                return fake_app

    fake_app = app
    with app.app_context():
        with db.engine.connect():
            pass
        before = db.engine.pool
        assert before.checkedin() == 1
        serving._post_fork(FakeServer, None)
        assert db.engine.pool is not before and db.engine.pool.checkedin() == 0
        db.engine.dispose()


def test_the_loaded_app_leaves_the_collectors_work():
    """After loading, the app's objects sit in the permanent generation (full collections skip them)."""
    import gc
    before = gc.get_freeze_count()
    try:
        serving.freeze_after_startup()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
