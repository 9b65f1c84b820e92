"""Production configuration on a real Redis server (TEST_REDIS_URL; CI starts one): the job
queue and the jobs' live progress in Redis, the health check of the queue."""
from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime, timedelta

import pytest
from huey.storage import RedisStorage
from sqlalchemy import insert

from examadmin import create_app
from examadmin.core import jobs
from examadmin.core.audit import AuditLog
from examadmin.core.auth import find_user
from examadmin.extensions import db, huey, write_intent
from tests.conftest import dispose
from tests.core.test_worker import _examadmin

pytestmark = [pytest.mark.no_db_fixture, pytest.mark.redis]

#: audit rows to export: enough for the job to run a few seconds and report progress
ROWS = 20_000


@pytest.fixture
def redis_queue(redis_url):
    """This process's Huey on the Redis server, as with REDIS_URL (tests run immediate jobs)."""
    saved = huey.storage
    huey.immediate = False
    huey.storage = RedisStorage("examadmin", url=redis_url)
    try:
        yield huey.storage
    finally:
        huey.storage.conn.close()
        huey.immediate = True  # back to immediate mode and its in-memory storage for the other tests
        huey.storage = saved


@pytest.mark.worker
def test_a_job_queued_in_redis_runs_in_a_real_worker_and_shows_its_progress(tmp_path, redis_url, redis_queue):
    env = {**os.environ, "EXAMADMIN_INSTANCE": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/r.db",
           "REDIS_URL": redis_url, "STORAGE_DIR": str(tmp_path / "storage")}
    env.pop("HUEY_IMMEDIATE", None)
    for command in (["db", "upgrade"], ["demo"]):
        subprocess.run(_examadmin() + command, env=env, check=True, capture_output=True, timeout=180)
    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "STORAGE_DIR": env["STORAGE_DIR"],
                      "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": redis_url,
                      "SERVER_NAME": "examadmin.test"})
    worker = None
    try:
        with app.app_context():
            start = datetime(2026, 1, 1)
            db.session.execute(insert(AuditLog), [
                {"at": start + timedelta(seconds=n), "actor_name": "评价组织", "actor_role": "org",
                 "action": "update", "entity_type": "school", "entity_id": n, "entity_label": f"学校{n}",
                 "ip": "127.0.0.1"} for n in range(ROWS)])
            org = find_user("org")
            job = jobs.submit(org, "audit_export", {})
            db.session.commit()
            job_id, session_id = job.id, org.get_id()
            jobs.dispatch(job)  # into Redis: nothing runs in this process
            assert redis_queue.queue_size() == 1
            db.session.remove()
        worker = subprocess.Popen(_examadmin() + ["worker", "--workers", "1"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"], session["_fresh"], session["seen"] = session_id, True, int(time.time())
        reading = write_intent.set(False)  # polling must not hold SQLite's write lock
        try:
            seen_running, deadline = [], time.monotonic() + 120
            while time.monotonic() < deadline:
                state = client.get(f"/jobs/{job_id}.json").get_json()
                if state["state"] == "运行中" and state["done"] > 0:
                    seen_running.append(state)
                if state["finished"]:
                    break
                time.sleep(0.05)
        finally:
            write_intent.reset(reading)
        assert state["state"] == "已完成", state
        assert state["result"]["rows"] >= ROWS
        # the progress the worker published in Redis, shown by this process while the job ran
        assert seen_running, "no progress was seen while the job ran"
        assert seen_running[0]["total"] >= ROWS and 0 < seen_running[0]["done"] < ROWS
        assert redis_queue.queue_size() == 0
        assert redis_queue.conn.keys("*job-progress*") == []  # cleared at the end
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
            worker.stdout.close()
        dispose(app)


def test_healthz_asks_the_redis_queue(client, redis_queue):
    assert client.get("/healthz").get_json()["checks"]["queue"] == "ok"
    huey.storage = RedisStorage("examadmin", url="redis://127.0.0.1:1/0")  # nothing listens there
    try:
        response = client.get("/healthz")
    finally:
        huey.storage.conn.close()
        huey.storage = redis_queue
    assert response.status_code == 503 and response.get_json()["failed"] == ["queue"]


def test_job_progress_written_here_is_read_through_redis(redis_queue, redis_url):
    jobs.write_progress(987654, 5, 10, "处理中")
    other = RedisStorage("examadmin", url=redis_url)  # another process's connection
    try:
        from huey.serializer import Serializer

        raw = other.peek_data(jobs._progress_key(987654))
        assert Serializer().deserialize(raw) == {"done": 5, "total": 10, "message": "处理中"}
    finally:
        jobs._clear_progress(987654)
        other.conn.close()
    assert redis_queue.peek_data(jobs._progress_key(987654)) is huey_empty()


def huey_empty():
    from huey.constants import EmptyData

    return EmptyData
