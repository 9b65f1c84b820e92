"""Background jobs: a Job record with progress, run by a Huey worker.

A service calls `submit(...)` inside the caller's transaction; after the caller commits it
calls `dispatch(job)`, so that the worker never looks for a job that is not yet stored.
The job receives only the job id and loads what it needs. Work that can fail halfway
runs in one transaction and is rolled back whole; the job then shows its error and keeps
its input so that it can be run again.

Live progress is kept in Huey's key-value store (the queue's SQLite file, or Redis), not in
the job's row: a second writer to the application database while the job's transaction
is open would, on SQLite, invalidate that transaction's snapshot. The row gets the final
figures when the job ends.

A job whose process dies (killed, out of memory) cannot record its own end. The row keeps
the host and pid of the process running it, and that process publishes a heartbeat in the
same store while the job runs; a 运行中 job whose process is gone, or whose heartbeat is
stale, is marked 失败 when it is looked at and when a worker starts (job_liveness.py).

Users never see an exception's text: an unexpected error fails the job with a Chinese
message and a reference (the job number); the traceback goes to the log and to the job's
`error_detail`, which only the sysadmin sees.
"""
from __future__ import annotations

import logging
import os
import time
import traceback
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Callable

from flask import current_app, has_app_context
from sqlalchemy import JSON, ForeignKey, String, Text, inspect, select, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db, huey
from . import clock, permissions
from .columns import enum_type
from .errors import DomainError
from .personal import MaskedJSON, MaskedLongText, MaskedText, mask_text
from .roles import Role
from .storage import get_storage
from .workflow import Workflow

log = logging.getLogger(__name__)


class JobState(StrEnum):
    QUEUED = "排队中"
    RUNNING = "运行中"
    DONE = "已完成"
    FAILED = "失败"


S = JobState
JOB = Workflow(
    "job",
    S,
    moves=[
        # (from,               action,   to,        who may)
        (S.QUEUED,             "start",  S.RUNNING, "system"),
        (S.RUNNING,            "finish", S.DONE,    "system"),
        ((S.QUEUED, S.RUNNING), "fail",  S.FAILED,  "system"),
    ],
    action_labels={"start": "开始", "finish": "完成", "fail": "失败"},
)


class Job(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    #: title and file names are masked too: a sheet may be named by a candidate's ID number
    title: Mapped[str] = mapped_column(MaskedText(100))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    state: Mapped[JobState] = mapped_column(enum_type(JobState), default=JobState.QUEUED)
    #: what the job was asked to do, kept so that a failed job can be run again
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    input_key: Mapped[str | None] = mapped_column(String(200))
    input_name: Mapped[str | None] = mapped_column(MaskedText(200))
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    #: the progress or outcome line; masked like the result (a refusal may quote a file named by
    #: an ID number)
    message: Mapped[str] = mapped_column(MaskedText(300), default="")
    #: what the user is told when the job failed: always Chinese, never an exception's text
    error: Mapped[str | None] = mapped_column(MaskedLongText)
    #: the traceback of an unexpected failure, shown to the sysadmin only
    error_detail: Mapped[str | None] = mapped_column(MaskedLongText)
    #: how a finished job turned out when 已完成 alone would mislead, e.g. 未导入 for an
    #: import refused for its errors; `outcome_level` colours it (success, warning, danger)
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_level: Mapped[str | None] = mapped_column(String(10))
    #: the process running the job, so that a job whose process died can be told apart
    worker_host: Mapped[str | None] = mapped_column(String(100))
    worker_pid: Mapped[int | None]
    #: the job's answer for its page, e.g. counts of an import; ID and phone numbers in it are
    #: masked when stored (PIPL: a job's result is not a candidate's detail page)
    result: Mapped[dict | None] = mapped_column(MaskedJSON)
    result_key: Mapped[str | None] = mapped_column(String(200))
    result_name: Mapped[str | None] = mapped_column(MaskedText(200))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    owner = relationship("User")

    @property
    def percent(self) -> int:
        if self.state == JobState.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)

    @property
    def state_label(self) -> str:
        """The state users read: the outcome of a finished job where it says more."""
        if self.state == JobState.DONE and self.outcome:
            return self.outcome
        return self.state.value

    @property
    def state_level(self) -> str:
        if self.state == JobState.DONE:
            return self.outcome_level or "success"
        return {JobState.FAILED: "danger", JobState.RUNNING: "primary"}.get(self.state, "secondary")

    @classmethod
    def scope_clause(cls, actor):
        # A job belongs to whoever started it; the sysadmin sees every job's state and error
        # (to help), but its files only through owned_job.
        if actor.role == Role.SYSADMIN:
            return true()
        return cls.owner_id == actor.id

    def owned_by(self, actor: Any) -> bool:
        return self.owner_id == getattr(actor, "id", None)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "title": self.title, "state": self.state.value,
            "state_label": self.state_label, "state_level": self.state_level, "file": self.input_name,
            "done": self.done, "total": self.total, "percent": self.percent,
            "message": self.message, "error": self.error, "result": self.result,
            "has_file": bool(self.result_key), "finished": self.finished,
        }


class InputRefused(DomainError):
    """The user's file cannot be read by this job at all (not Excel, no header row, too wide or
    too long): the user's mistake, not the system's. The job ends 已完成 with the outcome 未导入
    and the reason, not 失败, which is the sysadmin's to-do and reads as "try again"."""


@dataclass
class JobKind:
    name: str
    title: str
    run: Callable[["JobContext"], None]


HANDLERS: dict[str, JobKind] = {}


def handler(name: str, title: str):
    """Register the function that does the work of one kind of job."""
    def register(fn: Callable[["JobContext"], None]):
        HANDLERS[name] = JobKind(name, title, fn)
        return fn
    return register


class JobContext:
    """What a running job may use: its record, its owner as the acting user, progress."""

    #: progress is written at most this often (seconds) so that it does not slow the work
    PROGRESS_INTERVAL = 0.3

    def __init__(self, job: Job, actor: Any):
        self.job = job
        self.actor = actor
        self.params = job.params or {}
        self.storage = get_storage()
        self.done, self.total, self.message = 0, 0, ""
        self._last_write = 0.0

    def progress(self, done: int, total: int | None = None, message: str | None = None,
                 *, force: bool = False) -> None:
        """Report progress; readers see it at once, whatever the job's own transaction does."""
        self.done = done
        if total is not None:
            self.total = total
        if message is not None:
            self.message = message[:300]
        moment = time.monotonic()
        if not force and moment - self._last_write < self.PROGRESS_INTERVAL:
            return
        self._last_write = moment
        write_progress(self.job.id, self.done, self.total, self.message)

    def input_path(self):
        return self.storage.path(self.job.input_key) if self.job.input_key else None

    def set_result_file(self, key: str, name: str) -> None:
        self.job.result_key, self.job.result_name = key, name

    def set_outcome(self, summary: str, label: str | None = None, level: str = "success") -> None:
        """The one line the job's page and list show, e.g. 导入 0 行，6 处错误, and a state
        label for an outcome that 已完成 would hide (未导入, 部分导入, 需人工确认)."""
        self.message = summary[:300]
        self.job.outcome = label
        self.job.outcome_level = level


def _progress_key(job_id: int) -> str:
    return f"examadmin:job-progress:{job_id}"


def write_progress(job_id: int, done: int, total: int, message: str) -> None:
    """Publish a running job's progress where every web process can read it."""
    try:
        huey.put(_progress_key(job_id), {"done": done, "total": total, "message": mask_text(message)})
    except Exception:  # progress is a courtesy; a busy store must not fail the job
        log.warning("could not write progress of job %s", job_id, exc_info=True)


def live_progress(job: Job) -> None:
    """Overlay the published progress on a running job (in memory, for display only)."""
    if job.state != JobState.RUNNING:
        return
    try:
        data = huey.get(_progress_key(job.id), peek=True)
    except Exception:
        log.warning("could not read progress of job %s", job.id, exc_info=True)
        return
    if data:
        job.done, job.total, job.message = data["done"], data["total"], data["message"]


def _clear_progress(job_id: int) -> None:
    try:
        huey.get(_progress_key(job_id))  # a get without peek removes the key
    except Exception:
        log.warning("could not clear progress of job %s", job_id, exc_info=True)


def submit_upload(actor: Any, kind: str, params: dict, upload, *, suffix: str | None = None,
                  default_name: str = "upload") -> Job:
    """Keep an uploaded file (a sheet, a photo zip) as the job's input and record the job; the
    caller commits, then calls dispatch(job). The stored name keeps the file's own suffix."""
    from pathlib import Path

    storage = get_storage()
    if suffix is None:
        suffix = Path(upload.filename or "").suffix.lower()[:6]
    key = storage.save(storage.new_key("uploads", suffix), upload.stream)
    return submit(actor, kind, params, input_key=key, input_name=Path(upload.filename or default_name).name)


def submit(actor: Any, kind: str, params: dict | None = None, *, input_key: str | None = None,
           input_name: str | None = None, title: str | None = None) -> Job:
    """Record a job to run; the caller commits, then calls dispatch(job)."""
    permissions.require(actor, "jobs.view")
    spec = HANDLERS[kind]
    job = Job(kind=kind, title=title or spec.title, owner_id=getattr(actor, "id", None),
              params=params or {}, input_key=input_key, input_name=input_name)
    db.session.add(job)
    db.session.flush()
    return job


def dispatch(job: Job | int) -> None:
    """Hand a committed job to the worker (in tests and immediate mode it runs now)."""
    # The identity, not job.id: reading an expired attribute would open a transaction.
    job_id = job if isinstance(job, int) else inspect(job).identity[0]
    if huey.immediate:
        # The job runs on this thread with a session of its own; on SQLite a transaction
        # left open here would hold the write lock it needs.
        db.session.commit()
    run_job_task(job_id)


def import_outcome(text: str, error_count: int, imported: bool) -> tuple[str, str | None, str]:
    """An import's outcome line with its errors, its state label and colour: 未导入 (refused for
    its errors), 部分导入 (only the correct rows) or plain 已完成."""
    if error_count:
        text += f"，{error_count} 处错误"
    if not imported:
        return text, "未导入", "danger"
    if error_count:
        return text, "部分导入", "warning"
    return text, None, "success"


def rerun_valid_rows(actor: Any, job_id: int, kind: str) -> Job:
    """只导入正确的行 of an import refused for its errors, from the file its job already keeps (the
    rows are checked again: whatever changed since decides). The caller checks the permission."""
    old = owned_job(actor, job_id)
    result = old.result or {}
    if old.kind != kind or old.state != JobState.DONE or result.get("imported", True):
        raise DomainError("只有因错误未导入的文件可以选择「只导入正确的行」")
    if result.get("rows", 0) - result.get("bad_rows", 0) <= 0:
        raise DomainError("文件中没有正确的行可以导入，请修改后重新上传")
    if not old.input_key or not get_storage().exists(old.input_key):
        raise DomainError("原文件已不在系统中，请重新上传")
    return submit(actor, kind, {**old.params, "valid_only": True}, input_key=old.input_key,
                  input_name=old.input_name, title=old.title)


def retry(actor: Any, job_id: int) -> Job:
    """Run a failed job again with the same input, as a new job."""
    old = owned_job(actor, job_id)
    if old.state != JobState.FAILED:
        raise DomainError("只有失败的任务可以重新运行")
    return submit(actor, old.kind, dict(old.params), input_key=old.input_key,
                  input_name=old.input_name, title=old.title)


def list_jobs(actor: Any):
    permissions.require(actor, "jobs.view")
    return permissions.scoped(actor, select(Job)).order_by(Job.id.desc())


def get_job(actor: Any, job_id: int) -> Job:
    """A job in the actor's scope, with its live progress when it is running."""
    permissions.require(actor, "jobs.view")
    from .job_liveness import reap_if_dead  # it imports this module

    job = permissions.get_for(actor, Job, job_id)
    reap_if_dead(job)
    live_progress(job)
    return job


def owned_job(actor: Any, job_id: int) -> Job:
    """A job the actor started. Its files (the uploaded input and the result, which can hold
    whole ID and phone numbers: an annotated import sheet, tickets with photos) and running it
    again are its owner's alone; even the sysadmin, who sees every job's state, does not get
    them (PIPL: whole numbers only where the candidate's own school works)."""
    job = get_job(actor, job_id)
    if not job.owned_by(actor):
        raise permissions.NotInScope()
    return job


def execute(job_id: int) -> None:
    """Run one job to its end: 已完成 with its result, or 失败 with its error, never half."""
    job = db.session.get(Job, job_id)
    if job is None or job.state != JobState.QUEUED:
        return
    JOB.move(job, "start", None)
    job.started_at = clock.now()
    from .job_liveness import Heartbeat, this_host  # it imports this module

    job.worker_host, job.worker_pid = this_host(), os.getpid()
    db.session.commit()
    with Heartbeat(job_id):
        _run(job_id, job)


def internal_error_message(job_id: int) -> str:
    return (f"处理时发生系统内部错误，本次任务未修改任何数据。请重试；如仍失败，"
            f"请联系系统管理员并告知错误编号 J{job_id}。")


def _run(job_id: int, job: Job) -> None:
    from .auth import User

    ctx = None
    try:
        spec = HANDLERS[job.kind]
        actor = db.session.get(User, job.owner_id) if job.owner_id else None
        if actor is None or not actor.active:
            raise DomainError("任务的发起用户不存在或已停用")
        ctx = JobContext(job, actor)
        spec.run(ctx)
        JOB.move(job, "finish", None)
        job.total = ctx.total
        job.done = max(ctx.done, ctx.total)
        job.message = ctx.message
        job.finished_at = clock.now()
        db.session.commit()
    except InputRefused as exc:
        db.session.rollback()
        _end_refused(job_id, exc.message, ctx)
    except Exception as exc:
        db.session.rollback()
        detail = None
        if isinstance(exc, DomainError):
            message = exc.message
        else:
            # The reference in the message is the job number; the log line carries it too.
            log.exception("job %s (%s) failed: reference J%s", job_id, job.kind, job_id)
            message = internal_error_message(job_id)
            detail = traceback.format_exc()
        job = db.session.get(Job, job_id)
        job.error, job.error_detail = message, detail
        if ctx is not None:
            job.done, job.total, job.message = ctx.done, ctx.total, ctx.message
        job.finished_at = clock.now()
        JOB.move(job, "fail", None)
        db.session.commit()
    finally:
        _clear_progress(job_id)


def _end_refused(job_id: int, reason: str, ctx: JobContext | None) -> None:
    """已完成 · 未导入 with the reason: nothing was written (the rollback came first)."""
    job = db.session.get(Job, job_id)
    job.result = {"refused": reason}  # job.error stays empty: that is for jobs that failed
    job.done = job.total = 0
    job.message = f"未导入：{reason}"[:300]
    job.outcome, job.outcome_level = "未导入", "danger"
    job.finished_at = clock.now()
    JOB.move(job, "finish", None)
    db.session.commit()


_worker_app = None


def _app():
    """The Flask app a job runs in: the caller's in immediate mode, else one per worker."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from .. import create_app

        _worker_app = create_app()
    return _worker_app


@huey.task()
def run_job_task(job_id: int) -> None:
    # A fresh app context gives the job its own database session.
    with _app().app_context():
        execute(job_id)

