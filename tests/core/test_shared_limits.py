"""The sign-in slow-down counts across the web processes of one installation: gunicorn runs
several, and an attacker's attempts spread over them must still add up.

Each attempt below comes from a separate Python process, as from separate web workers: with
a store that counts per process (memory://) none of them would be refused."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

from examadmin.config import ROOT
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.no_db_fixture

ATTEMPTS = textwrap.dedent("""
    import json, sys
    from examadmin import create_app

    database, storage, username, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "SQLALCHEMY_DATABASE_URI": database,
                      "RATELIMIT_STORAGE_URI": storage, "LOGIN_RATE_LIMIT": "3 per minute",
                      "SERVER_NAME": "examadmin.test"})
    client = app.test_client()
    codes = [client.post("/login", data={"username": username, "password": "wrong"}).status_code
             for _ in range(count)]
    print(json.dumps(codes))
""")


def attempts(storage: str, username: str, count: int) -> list[int]:
    done = subprocess.run([sys.executable, "-c", ATTEMPTS, TEST_DATABASE_URL, storage, username, str(count)],
                          cwd=str(ROOT), capture_output=True, timeout=120, env={**os.environ})
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def _two_processes_share(storage: str) -> None:
    username = f"nobody-{uuid.uuid4().hex[:8]}"
    assert attempts(storage, username, 2) == [200, 200]  # wrong password: the form again
    # the third failure is the limit's last; the fourth is refused, in another process
    assert attempts(storage, username, 2) == [200, 429]


def test_failed_sign_ins_add_up_across_processes_without_redis(tmp_path):
    _two_processes_share(f"examadmin-sqlite://{tmp_path}/ratelimit.db")


@pytest.mark.redis
def test_failed_sign_ins_add_up_across_processes_on_redis(redis_url):
    _two_processes_share(redis_url)


def test_the_sqlite_store_counts_in_fixed_windows(tmp_path):
    from examadmin.core.ratelimit import SqliteLimitStorage

    store = SqliteLimitStorage(f"examadmin-sqlite://{tmp_path}/r.db")
    assert store.check() and store.get("k") == 0
    assert [store.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert store.get("k") == 3 and store.get_expiry("k") > 0
    assert store.incr("gone", -1) == 1 and store.get("gone") == 0  # a window already ended
    assert store.incr("gone", 60) == 1  # starts a new window from 1
    store.clear("k")
    assert store.get("k") == 0
    assert store.reset() == 1
