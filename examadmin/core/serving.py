"""`examadmin serve`: gunicorn for the web, and the job worker as a supervised process.

`examadmin serve` is a small supervisor with two children:
- the web server: gunicorn's master (`python -m examadmin.core.serving`, driven through
  `WebServer`, a gunicorn BaseApplication), which forks the web worker processes and
  replaces any that dies;
- the job worker: `examadmin worker` (the Huey consumer and its periodic tasks such as
  registrations.lapse_overdue), started again with a growing pause when it dies.
A crash in one request, one job or one worker never takes the site down. SIGTERM or Ctrl+C
stops both children cleanly; if the web server itself exits, serve stops the worker and
exits with the web server's status, so that systemd (or the operator) sees the failure.

The app is loaded once in gunicorn's master and the workers are forked from it
(preload_app): a dead worker is replaced in milliseconds, not the second create_app takes,
and a broken installation fails once at start instead of in every worker. The master
opens no database connection; each worker disposes the engines it inherited after the fork
anyway (`_post_fork`), so that no two processes ever share a pooled connection (SQLite
and psycopg connections must not cross a fork).
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from subprocess import Popen
from typing import Callable

log = logging.getLogger("examadmin.serve")

#: web worker processes at most by default: past this a 2-core demo or school server only
#: adds memory and, on SQLite, writers queueing for the one write lock
MAX_DEFAULT_WEB_WORKERS = 8
#: the job worker is started again after 1, 2, 4 ... seconds, at most this long
MAX_RESTART_PAUSE = 60.0
#: a job worker that ran this long before dying starts again after the shortest pause
HEALTHY_RUN = 60.0


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_web_workers() -> int:
    """WEB_WORKERS, else gunicorn's advice 2 x cores + 1, capped."""
    configured = os.environ.get("WEB_WORKERS", "").strip()
    if configured:
        return int(configured)
    return min(2 * cpu_count() + 1, MAX_DEFAULT_WEB_WORKERS)


# ---- the web server: gunicorn driven from Python ----------------------------------------

def freeze_after_startup() -> None:
    """Move every object the loaded app holds (modules, templates, mappers: hundreds of thousands)
    into the collector's permanent generation, as the Python documentation advises before forking.

    Otherwise every full collection walks them all again: at national scale the request that
    happened to trigger one took twice as long (the 准考证 page: 66 ms, and 131 ms once in ten,
    its p99). The forked workers also keep sharing those pages instead of copying them."""
    gc.collect()
    gc.freeze()


def _post_fork(server, worker) -> None:
    """A new web worker: drop every pooled connection inherited from the master."""
    from ..extensions import db

    app = server.app.wsgi()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)  # close=False: the parent's connections stay the parent's


def _when_ready(server) -> None:
    host, port = server.app.public_address
    print(f"考试管理系统已启动：http://{host}:{port}/  （网页进程 {server.cfg.workers} 个；Ctrl+C 退出）",
          flush=True)


class WebServer:
    """gunicorn's master for the app; built lazily so that importing this module is cheap."""

    def __new__(cls, options: dict, public_address: tuple[str, int]):
        from gunicorn.app.base import BaseApplication

        class _WebServer(BaseApplication):
            def __init__(self):
                self.options = options
                self.public_address = public_address
                self.application = None
                super().__init__()

            def load_config(self):
                known = self.cfg.settings
                for key, value in self.options.items():
                    if key in known and value is not None:  # older gunicorns lack some settings
                        self.cfg.set(key, value)

            def load(self):
                if self.application is None:
                    from .. import create_app

                    self.application = create_app()
                    freeze_after_startup()
                return self.application

        return _WebServer()


def gunicorn_options(*, host: str, port: int, workers: int, threads: int, timeout: int,
                     graceful_timeout: int) -> dict:
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        # a request that takes longer than this (seconds) is killed with its worker; heavy work
        # runs as jobs, and nginx buffers slow uploads before they reach a worker
        "timeout": timeout,
        "graceful_timeout": graceful_timeout,
        "keepalive": 5,
        "preload_app": True,
        "post_fork": _post_fork,
        "when_ready": _when_ready,
        "proc_name": "examadmin-web",
        # one line per request comes from the app itself (logger examadmin.request)
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        # gunicorn >= 25 opens a control socket at one fixed path per user: two installations
        # (or two test runs) on one machine would fight over it, and nothing here uses it
        "control_socket_disable": True,
    }


def web_main(argv: list[str] | None = None) -> None:
    """The web server child of `examadmin serve`: gunicorn's master, in the foreground."""
    parser = argparse.ArgumentParser(prog="examadmin-web")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=default_web_workers())
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=60)
    parser.add_argument("--graceful-timeout", type=int, default=30)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = gunicorn_options(host=args.host, port=args.port, workers=args.workers, threads=args.threads,
                               timeout=args.timeout, graceful_timeout=args.graceful_timeout)
    WebServer(options, (args.host, args.port)).run()


# ---- the supervisor ----------------------------------------------------------------------

@dataclass
class Child:
    """One supervised process: how to start it, and its restarts."""
    name: str
    argv: list[str]
    process: Popen | None = None
    started_at: float = 0.0
    pause: float = 1.0
    restart_at: float | None = None
    restarts: int = 0
    history: list[int] = field(default_factory=list)  # pids, oldest first

    def start(self, spawn: Callable[[list[str]], Popen]) -> None:
        self.process = spawn(self.argv)
        self.started_at = time.monotonic()
        self.restart_at = None
        self.history.append(self.process.pid)


def _die_with_parent() -> None:
    """In the child before exec: end (SIGTERM) when serve dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: serve's own stop is the only stop
        pass


def _spawn(argv: list[str]) -> Popen:
    # A process group of its own: Ctrl+C in a terminal reaches serve alone, which then asks each
    # child to stop once, in the way that child stops gracefully (a second SIGINT would make
    # Huey abandon its running jobs).
    return Popen(argv, process_group=0, preexec_fn=_die_with_parent)


class Supervisor:
    """Runs the web server and the job worker; restarts the worker with back-off."""

    def __init__(self, web: Child, worker: Child | None, *, stop_timeout: float = 30.0,
                 spawn: Callable[[list[str]], Popen] = _spawn, say: Callable[[str], None] | None = None):
        self.web, self.worker = web, worker
        self.stop_timeout = stop_timeout
        self.spawn = spawn
        self.say = say or (lambda text: print(text, flush=True))
        self.stopping = False

    def _on_signal(self, signum, _frame) -> None:
        self.stopping = True

    def run(self) -> int:
        """Start the children and watch them until a stop signal or the web server's exit."""
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        self.web.start(self.spawn)
        if self.worker is not None:
            self.worker.start(self.spawn)
            self.say(f"后台任务进程已启动（进程号 {self.worker.process.pid}）")
        try:
            while not self.stopping:
                code = self.web.process.poll()
                if code is not None:
                    self.say(f"网页服务已退出（退出码 {code}），正在停止后台任务进程")
                    return code or 1
                self._watch_worker()
                time.sleep(0.2)
            return 0
        finally:
            self._stop_all()

    def _watch_worker(self) -> None:
        worker = self.worker
        if worker is None:
            return
        now = time.monotonic()
        if worker.restart_at is not None:
            if now >= worker.restart_at:
                worker.start(self.spawn)
                worker.restarts += 1
                self.say(f"后台任务进程已重新启动（进程号 {worker.process.pid}，第 {worker.restarts} 次）")
            return
        code = worker.process.poll()
        if code is None:
            return
        if now - worker.started_at >= HEALTHY_RUN:
            worker.pause = 1.0
        worker.restart_at = now + worker.pause
        self.say(f"后台任务进程（进程号 {worker.process.pid}）意外退出（退出码 {code}），"
                 f"{worker.pause:g} 秒后重新启动；它未完成的任务将标记为失败")
        worker.pause = min(worker.pause * 2, MAX_RESTART_PAUSE)

    def _stop_all(self) -> None:
        # The worker finishes its running jobs (Huey: SIGINT is the graceful stop), gunicorn its
        # running requests (SIGTERM); whatever is still running after stop_timeout is killed.
        running = []
        if self.worker is not None and self.worker.process and self.worker.restart_at is None:
            running.append((self.worker.process, signal.SIGINT))
        if self.web.process:
            running.append((self.web.process, signal.SIGTERM))
        for process, signum in running:
            if process.poll() is None:
                try:
                    process.send_signal(signum)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + self.stop_timeout
        for process, _ in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 - TimeoutExpired: it would not stop
                process.kill()
                process.wait()


def web_argv(*, host: str, port: int, workers: int, threads: int, timeout: int, graceful_timeout: int) -> list[str]:
    return [sys.executable, "-m", "examadmin.core.serving", "--host", host, "--port", str(port),
            "--workers", str(workers), "--threads", str(threads), "--timeout", str(timeout),
            "--graceful-timeout", str(graceful_timeout)]


def worker_argv(job_workers: int) -> list[str]:
    return [sys.executable, "-m", "examadmin", "worker", "--workers", str(job_workers)]


if __name__ == "__main__":
    web_main()
