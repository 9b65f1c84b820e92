"""A job whose process died (killed, out of memory) ends 失败 with a Chinese message."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta

import pytest
from flask_migrate import upgrade

from examadmin import create_app
from examadmin.config import ROOT
from examadmin.core import auth, clock, job_liveness as liveness, jobs
from examadmin.core.auth import SYSTEM
from examadmin.core.jobs import Job, JobState
from examadmin.extensions import db, huey, write_intent
from tests.conftest import dispose, login_as, make_user


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _running_job(owner, **fields) -> Job:
    job = jobs.submit(owner, "audit_export", {})
    job.state = JobState.RUNNING  # as the worker leaves it when it starts (jobs.execute)
    job.started_at = clock.now()
    for name, value in fields.items():
        setattr(job, name, value)
    db.session.flush()
    return job


def test_viewing_a_running_job_whose_process_is_gone_marks_it_failed(client):
    org = make_user("org")
    job = _running_job(org, worker_host=liveness.this_host(), worker_pid=_dead_pid())
    login_as(client, org)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "处理进程意外退出，请重试" in page and "用相同输入重新运行" in page
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.state == JobState.FAILED and job.error == liveness.DIED_MESSAGE and job.finished_at


def test_a_job_whose_process_lives_stays_running(client):
    org = make_user("org")
    job = _running_job(org, worker_host=liveness.this_host(), worker_pid=os.getpid())
    login_as(client, org)
    assert client.get(f"/jobs/{job.id}.json").get_json()["state"] == "运行中"


def test_on_its_own_host_a_live_pid_outweighs_a_late_heartbeat_but_not_a_very_late_one():
    org = make_user("org")
    late = _running_job(org, worker_host=liveness.this_host(), worker_pid=os.getpid())
    reused = _running_job(org, worker_host=liveness.this_host(), worker_pid=os.getpid())
    huey.put(liveness._heartbeat_key(late.id), time.time() - liveness.HEARTBEAT_STALE - 5)
    huey.put(liveness._heartbeat_key(reused.id), time.time() - liveness.HEARTBEAT_STALE * liveness.PID_REUSE_FACTOR - 5)
    try:
        assert not liveness.process_gone(late) and liveness.process_gone(reused)
    finally:
        huey.get(liveness._heartbeat_key(late.id))
        huey.get(liveness._heartbeat_key(reused.id))


def test_a_job_on_another_host_is_judged_by_its_heartbeat(client):
    org = make_user("org")
    fresh = _running_job(org, worker_host="another-host", worker_pid=1)
    stale = _running_job(org, worker_host="another-host", worker_pid=1)
    silent = _running_job(org, worker_host="another-host", worker_pid=1,
                          started_at=clock.now() - timedelta(seconds=liveness.HEARTBEAT_STALE + 60))
    huey.put(liveness._heartbeat_key(fresh.id), time.time())
    huey.put(liveness._heartbeat_key(stale.id), time.time() - liveness.HEARTBEAT_STALE - 5)
    try:
        login_as(client, org)
        client.get("/jobs/")  # the list marks the dead ones it shows
        db.session.expire_all()
        assert db.session.get(Job, fresh.id).state == JobState.RUNNING
        assert db.session.get(Job, stale.id).state == JobState.FAILED
        assert db.session.get(Job, silent.id).state == JobState.FAILED
    finally:
        huey.get(liveness._heartbeat_key(fresh.id))
        huey.get(liveness._heartbeat_key(stale.id))


def test_a_starting_worker_marks_the_dead_jobs_failed():
    org = make_user("org")
    dead = _running_job(org, worker_host=liveness.this_host(), worker_pid=_dead_pid())
    alive = _running_job(org, worker_host=liveness.this_host(), worker_pid=os.getpid())
    assert liveness.reap_dead_jobs() == 1
    assert dead.state == JobState.FAILED and alive.state == JobState.RUNNING


def test_a_running_job_publishes_its_process_and_a_heartbeat(monkeypatch):
    org = make_user("org")
    seen = {}

    @jobs.handler("test_look_at_self", "测试：查看自身")
    def _look(ctx):
        seen["host"], seen["pid"] = ctx.job.worker_host, ctx.job.worker_pid
        seen["beat"] = huey.get(liveness._heartbeat_key(ctx.job.id), peek=True)

    job = jobs.submit(org, "test_look_at_self", {})
    db.session.commit()
    jobs.dispatch(job)
    assert seen["host"] == liveness.this_host() and seen["pid"] == os.getpid()
    assert seen["beat"] and time.time() - seen["beat"] < 30
    assert huey.get(liveness._heartbeat_key(job.id), peek=True) is None  # cleared at the end


CHILD = textwrap.dedent("""
    import sys, time
    from examadmin import create_app
    from examadmin.core import jobs

    @jobs.handler("test_hang", "测试：长时间运行")
    def hang(ctx):
        ctx.progress(1, 10, "处理中", force=True)
        time.sleep(120)

    app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "STORAGE_DIR": sys.argv[2]})
    with app.app_context():
        jobs.execute(int(sys.argv[3]))
""")


@pytest.mark.no_db_fixture
@pytest.mark.worker
def test_a_job_whose_worker_process_is_killed_ends_failed(tmp_path):
    url = f"sqlite:///{tmp_path}/dead.db"
    env = {**os.environ, "EXAMADMIN_INSTANCE": str(tmp_path), "HUEY_SQLITE_PATH": str(tmp_path / "huey.db")}
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "STORAGE_DIR": str(tmp_path / "storage"),
                      "HUEY_IMMEDIATE": True})
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            owner = auth.create_user(SYSTEM, username="dead-org", name="评价组织", role="org",
                                     password="test1234", must_change_password=False)
            job = jobs.submit(owner, "audit_export", {})
            job.kind = "test_hang"  # the child process knows this kind; this one need not
            db.session.commit()
            job_id, owner_id = job.id, owner.id
            child = subprocess.Popen([sys.executable, "-c", CHILD, url, str(tmp_path / "storage"), str(job_id)],
                                     env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            # This process only reads while the child works: on SQLite a writing transaction
            # (BEGIN IMMEDIATE) held across each poll would starve the child of the write lock.
            reading = write_intent.set(False)
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    db.session.rollback()
                    if db.session.get(Job, job_id).state == JobState.RUNNING:
                        break
                    assert child.poll() is None, child.stdout.read().decode()
                    time.sleep(0.2)
                running = db.session.get(Job, job_id)
                assert running.state == JobState.RUNNING and running.worker_pid == child.pid
                owner = db.session.get(auth.User, owner_id)
                assert jobs.get_job(owner, job_id).state == JobState.RUNNING  # alive: left alone
            finally:
                child.send_signal(signal.SIGKILL)  # what the OOM killer does
                child.wait(timeout=30)
                child.stdout.close()
                write_intent.reset(reading)
            db.session.rollback()
            job = jobs.get_job(db.session.get(auth.User, owner_id), job_id)
            assert job.state == JobState.FAILED and job.error == "处理进程意外退出，请重试"
            db.session.remove()
    finally:
        dispose(app)
