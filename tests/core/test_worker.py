"""One job end to end through a real Huey consumer process, not immediate mode."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from huey.storage import SqliteStorage

from examadmin import create_app
from examadmin.core import jobs
from examadmin.core.auth import find_user
from examadmin.core.jobs import Job, JobState
from examadmin.extensions import db, huey, write_intent
from tests.conftest import dispose

pytestmark = [pytest.mark.no_db_fixture, pytest.mark.worker]


def _examadmin() -> list[str]:
    found = shutil.which("examadmin", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "examadmin"]


def test_a_real_worker_process_runs_the_audit_export(tmp_path):
    env = {**os.environ, "EXAMADMIN_INSTANCE": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/w.db",
           "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"), "STORAGE_DIR": str(tmp_path / "storage")}
    env.pop("HUEY_IMMEDIATE", None)
    for command in (["db", "upgrade"], ["demo"]):
        subprocess.run(_examadmin() + command, env=env, check=True, capture_output=True, timeout=120)
    worker = subprocess.Popen(_examadmin() + ["worker", "--workers", "1"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "STORAGE_DIR": env["STORAGE_DIR"]})
    huey.immediate = False
    huey.storage = SqliteStorage("examadmin", filename=env["HUEY_SQLITE_PATH"])
    try:
        with app.app_context():
            job = jobs.submit(find_user("org"), "audit_export", {})
            db.session.commit()
            jobs.dispatch(job)  # into the queue file the worker reads
            # From here the test only reads: a plain BEGIN, so that its polling never holds the
            # SQLite write lock (BEGIN IMMEDIATE) the worker needs to record the job's progress.
            write_intent.set(False)
            deadline = time.monotonic() + 60
            job_id = job.id
            while time.monotonic() < deadline:
                db.session.rollback()  # a new snapshot each time (SQLite WAL keeps the old one)
                job = db.session.get(Job, job_id)
                if job.finished:
                    break
                time.sleep(0.2)
            assert job.state == JobState.DONE, job.error
            assert job.result["rows"] > 0
            assert (Path(env["STORAGE_DIR"]) / job.result_key).is_file()
            db.session.remove()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        worker.stdout.close()
        huey.immediate = True  # back to immediate mode (in-memory storage) for the other tests
        write_intent.set(True)
        dispose(app)
