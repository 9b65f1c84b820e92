"""/healthz, the log line of every request, the slow-request warning, and the clean 503 when
the database is away."""
from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from examadmin import create_app
from examadmin.core import requestlog
from examadmin.core.web import DATABASE_UNAVAILABLE
from examadmin.extensions import db, huey
from tests import conftest
from tests.conftest import TEST_DATABASE_URL, dispose, login_as, make_user

ID_NUMBER = "110101200001011237"


def _request_lines(caplog):
    return [r for r in caplog.records if r.name == "examadmin.request"]


@pytest.fixture
def unreachable_app(tmp_path):
    """An app whose database cannot be opened (a folder that does not exist)."""
    app = create_app(conftest.test_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/folder/x.db"))
    yield app
    dispose(app)


def test_healthz_answers_ok_without_sign_in_or_cookie(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "queue": "ok"}}
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_names_the_database_when_it_is_unreachable(unreachable_app):
    response = unreachable_app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and body["failed"] == ["database"]
    assert body["checks"] == {"database": "数据库无法访问", "queue": "ok"}
    assert "sqlite" not in response.get_data(as_text=True)  # no connection details


def test_healthz_names_the_queue_when_it_is_unreachable(client, monkeypatch):
    def refused():
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(huey.storage, "queue_size", refused)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["failed"] == ["queue"]
    assert response.get_json()["checks"]["database"] == "ok"


def test_a_page_answers_a_chinese_503_when_the_database_is_away(unreachable_app):
    client = unreachable_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:0"  # a signed-in user: loading them needs the database
    response = client.get("/")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert DATABASE_UNAVAILABLE in page and "服务暂时不可用" in page
    assert "Traceback" not in page and "OperationalError" not in page
    assert response.headers["Retry-After"]
    # a write during the outage: the same page, nothing half-done
    posted = client.post("/login", data={"username": "org", "password": "x"})
    assert posted.status_code == 503 and DATABASE_UNAVAILABLE in posted.get_data(as_text=True)


def test_every_request_logs_one_line_with_id_method_path_user_status_duration(client, caplog):
    caplog.set_level(logging.INFO, logger="examadmin.request")
    response = client.get("/login?next=/x")
    [line] = _request_lines(caplog)
    rid = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert line.levelno == logging.INFO
    assert (line.request_id, line.method, line.path, line.user_id, line.status) == (rid, "GET", "/login", "-", 200)
    assert line.duration_ms >= 0 and isinstance(line.queries, int)
    message = line.getMessage()
    assert rid in message and "GET /login " in message and "status=200" in message and "next" not in message


def test_the_log_line_names_the_user_by_id_and_never_logs_the_query_string(client, caplog):
    school = make_user("school")
    login_as(client, school)
    caplog.set_level(logging.INFO, logger="examadmin.request")
    client.get(f"/candidates/?q={ID_NUMBER}")
    [line] = _request_lines(caplog)
    assert line.user_id == str(school.id) and line.path == "/candidates/"
    assert ID_NUMBER not in line.getMessage() and school.username not in line.getMessage()


def test_a_sane_request_id_is_kept_and_echoed_an_odd_one_replaced(client, caplog):
    caplog.set_level(logging.INFO, logger="examadmin.request")
    kept = client.get("/login", headers={"X-Request-ID": "lb-7f3a.42:1"})
    assert kept.headers["X-Request-ID"] == "lb-7f3a.42:1"
    for odd in ("two words", "x" * 65, "-starts-with-dash", "a\tb", "注入"):
        replaced = client.get("/login", headers={"X-Request-ID": odd})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-ID"]), odd
    assert [r.request_id for r in _request_lines(caplog)][0] == "lb-7f3a.42:1"


def test_a_path_with_a_line_break_stays_one_line(client, caplog):
    caplog.set_level(logging.INFO, logger="examadmin.request")
    client.get("/no%0Asuch%0Dpage")
    [line] = _request_lines(caplog)
    assert "\n" not in line.getMessage() and "\r" not in line.getMessage() and line.status == 404


def test_a_slow_request_is_a_warning_with_its_query_count(app, client, caplog):
    org = make_user("org")
    login_as(client, org)
    counted = []

    def count(*_args):
        counted.append(1)

    caplog.set_level(logging.INFO, logger="examadmin.request")
    app.config["SLOW_REQUEST_MS"] = 0
    event.listen(Engine, "before_cursor_execute", count)
    try:
        assert client.get("/audit/").status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", count)
        app.config["SLOW_REQUEST_MS"] = 1000
    [line] = _request_lines(caplog)
    assert line.levelno == logging.WARNING and line.getMessage().startswith("slow ")
    assert line.queries == len(counted) > 0
    assert f"queries={len(counted)}" in line.getMessage()


def test_a_quick_request_is_not_a_warning(client, caplog):
    caplog.set_level(logging.INFO, logger="examadmin.request")
    client.get("/login")
    assert [r.levelno for r in _request_lines(caplog)] == [logging.INFO]


def test_healthz_successes_are_quiet_its_failures_are_not(client, unreachable_app, caplog):
    caplog.set_level(logging.INFO, logger="examadmin.request")
    client.get("/healthz")
    assert _request_lines(caplog) == []
    unreachable_app.test_client().get("/healthz")
    assert [r.status for r in _request_lines(caplog)] == [503]


def test_queries_outside_a_request_are_not_counted():
    assert requestlog._queries.get() is None
    db.session.execute(text("SELECT 1"))
    assert requestlog._queries.get() is None


@pytest.mark.no_db_fixture
@pytest.mark.skipif(not TEST_DATABASE_URL.startswith("postgresql"), reason="PostgreSQL only")
@pytest.mark.parametrize("pre_ping", [True, False])
def test_after_postgresql_drops_every_connection_the_next_request_succeeds(pre_ping):
    """What a PostgreSQL restart does to the app's pool: every pooled connection is dead.
    With pool_pre_ping (the setting in config.py) the next request gets a fresh one."""
    name = f"examadmin-drop-{'ping' if pre_ping else 'noping'}"
    app = create_app(conftest.test_config(SQLALCHEMY_ENGINE_OPTIONS={
        "pool_pre_ping": pre_ping, "connect_args": {"application_name": name}}))
    client = app.test_client()
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    try:
        assert client.get("/healthz").status_code == 200  # a pooled connection now exists
        with admin.connect() as conn:
            dropped = conn.scalar(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                       "WHERE application_name = :n"), {"n": name})
        assert dropped >= 1
        after = client.get("/healthz")
        if pre_ping:
            assert after.status_code == 200
        else:  # the test can tell: without the ping the dead connection is used and fails
            assert after.status_code == 503
            assert client.get("/healthz").status_code == 200  # the pool threw it away
    finally:
        admin.dispose()
        dispose(app)
