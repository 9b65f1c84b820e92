"""A shared rate-limit store that cannot be reached does not break sign-in or the public
lookup: the limits count in the process's memory until it is back (Flask-Limiter's in-memory
fallback), still limiting. Run in a fresh process: the limiter is one object per process and
takes its store from the first app it is bound to."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from examadmin.config import ROOT

pytest.importorskip("redis")

CHILD = textwrap.dedent("""
    import json, sys
    from flask_migrate import upgrade
    from examadmin import create_app
    from examadmin.config import ROOT
    settings = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{sys.argv[1]}/f.db", "STORAGE_DIR": sys.argv[1] + "/s",
                # nothing listens on port 1: every call to the store fails at once
                "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",
                "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
                "WTF_CSRF_ENABLED": False, "LOGIN_RATE_LIMIT": "3 per minute"}
    settings.update(json.loads(sys.argv[2]))
    app = create_app(settings)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    client = app.test_client()
    sign_ins = [client.post("/login", data={"username": "nobody", "password": "wrong"}).status_code
                for _ in range(5)]
    lookups = [client.post("/scores/lookup", data={"id_number": "110101199003070011",
                                                   "ticket_number": "202600002000010100100107"}).status_code
               for _ in range(3)]
    print(json.dumps({"sign_ins": sign_ins, "lookups": lookups}))
""")


def _answers(tmp_path, overrides: dict) -> dict:
    child = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), json.dumps(overrides)], cwd=str(ROOT),
                           capture_output=True, text=True, timeout=180)
    return json.loads(child.stdout.strip().splitlines()[-1])


@pytest.mark.no_db_fixture
def test_with_the_redis_of_the_rate_limits_down_sign_in_and_lookup_still_answer_and_still_limit(tmp_path):
    answers = _answers(tmp_path, {})
    assert answers["sign_ins"][:3] == [200, 200, 200] and 429 in answers["sign_ins"][3:]  # limited, in memory
    assert answers["lookups"] == [200, 200, 200]  # 未找到, answered


@pytest.mark.no_db_fixture
def test_without_the_fallback_the_lookup_would_fail(tmp_path):
    """What the setting prevents (so that the test above cannot pass by accident)."""
    answers = _answers(tmp_path, {"RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": False})
    assert 500 in answers["lookups"]
