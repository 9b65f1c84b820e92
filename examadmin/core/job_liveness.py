"""Telling a running job from one whose process died (killed, out of memory, a crash).

A job cannot record its own end when its process dies. The job's row keeps the host and pid
of the process running it (set by jobs.execute), and while the job runs that process
publishes a heartbeat in Huey's key-value store, which every web process and worker can
read. A 运行中 job is taken for dead when, on its own host, its pid is gone, or when its
heartbeat is stale; it is then marked 失败 with DIED_MESSAGE when it is looked at
(`reap_if_dead`, `reap_shown`) and when a worker starts (`reap_dead_jobs`).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from sqlalchemy import select

from ..extensions import db, huey
from . import clock
from .jobs import JOB, Job, JobState
from .locks import lock_row

log = logging.getLogger(__name__)

#: the running process writes its heartbeat this often (seconds)
HEARTBEAT_INTERVAL = 10.0
#: a running job whose last sign of life is older than this (seconds) is taken for dead
HEARTBEAT_STALE = 120.0
#: on the job's own host, with its pid alive, a heartbeat this many times staler means the
#: pid now belongs to another process
PID_REUSE_FACTOR = 15
DIED_MESSAGE = "处理进程意外退出，请重试"


def _heartbeat_key(job_id: int) -> str:
    return f"examadmin:job-heartbeat:{job_id}"


def this_host() -> str:
    return socket.gethostname()[:100]


class Heartbeat:
    """A thread that publishes 'this job's process is alive' until the job ends."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-heartbeat", daemon=True)

    def _beat(self) -> None:
        try:
            huey.put(_heartbeat_key(self.job_id), time.time())
        except Exception:  # a missed beat is tolerated; many in a row make the job look dead
            log.warning("could not write the heartbeat of job %s", self.job_id, exc_info=True)

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_INTERVAL):
            self._beat()

    def __enter__(self):
        self._beat()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            huey.get(_heartbeat_key(self.job_id))  # removes the key
        except Exception:
            log.warning("could not clear the heartbeat of job %s", self.job_id, exc_info=True)


def _last_heartbeat(job: Job) -> float | None:
    try:
        return huey.get(_heartbeat_key(job.id), peek=True)
    except Exception:
        log.warning("could not read the heartbeat of job %s", job.id, exc_info=True)
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    except OSError:
        return False
    if os.path.exists(f"/proc/{pid}/stat"):
        # A killed child not yet reaped by its parent is a zombie: dead for our purposes.
        try:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False
    return True


def process_gone(job: Job) -> bool:
    """Whether a 运行中 job's process is known dead or has stopped showing signs of life.

    On the job's own host the pid decides (a long call that holds the interpreter may delay
    heartbeats, and must not be taken for death); only a far staler heartbeat there means
    the pid was reused. Elsewhere the heartbeat decides.
    """
    if job.state != JobState.RUNNING:
        return False
    same_host = bool(job.worker_pid) and job.worker_host == this_host()
    if same_host and not _pid_alive(job.worker_pid):
        return True
    limit = HEARTBEAT_STALE * (PID_REUSE_FACTOR if same_host else 1)
    beat = _last_heartbeat(job)
    if beat is not None:
        return time.time() - beat > limit
    # No heartbeat was ever read (a store flushed, a job from an older version): the start
    # time is its last sign of life.
    started = job.started_at or job.created_at
    return started is not None and clock.now() - started > timedelta(seconds=limit)


def _fail_dead(job: Job) -> None:
    log.error("job %s (%s) marked failed: its process %s on %s is gone",
              job.id, job.kind, job.worker_pid, job.worker_host)
    job.error = DIED_MESSAGE
    job.error_detail = (f"处理进程（主机 {job.worker_host or '未知'}，进程号 {job.worker_pid or '未知'}）"
                        "已不存在或长时间无心跳，任务未能正常结束。")
    job.finished_at = clock.now()
    JOB.move(job, "fail", None)


def reap_dead_jobs() -> int:
    """Mark 失败 every 运行中 job whose process died; the caller commits. Returns how many."""
    count = 0
    for job in db.session.scalars(select(Job).where(Job.state == JobState.RUNNING).with_for_update()):
        if process_gone(job):
            _fail_dead(job)
            count += 1
    return count


def reap_if_dead(job: Job) -> bool:
    """A viewer finds a dead job: record its failure at once (the caller's request commits
    nothing else before this). Returns whether the job was marked 失败."""
    if job.state != JobState.RUNNING or not process_gone(job):
        return False
    lock_row(job)
    if not process_gone(job):
        return False
    _fail_dead(job)
    db.session.commit()
    return True


def reap_shown(jobs_shown) -> None:
    """Mark 失败 the dead jobs among those a page is about to show."""
    for job in jobs_shown:
        if job.state == JobState.RUNNING:
            reap_if_dead(job)
