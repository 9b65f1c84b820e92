"""One log line per request (logger `examadmin.request`), and the slow ones with their queries.

Each line carries a request id (the client's or proxy's X-Request-ID when it is a sane token,
else a new one; echoed in the response's X-Request-ID so that a user's report can be found),
the method, the path without its query string, the signed-in user's id (never a name or an
ID number), the status, the duration in ms and the number of SQL statements the request
ran. A request slower than SLOW_REQUEST_MS is logged at WARNING. The personal-data filter
(core.personal) masks every log record besides.
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

from flask import Flask, current_app, g, request
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine

log = logging.getLogger("examadmin.request")

#: what a request id from outside may look like: a token, no spaces, no line breaks
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
#: the health check answers every few seconds to a load balancer: its successes are DEBUG
QUIET_ENDPOINTS = {"health.healthz"}
MAX_LOGGED_PATH = 200

#: the SQL statements of the current request, counted by the engine (None outside a request)
_queries: ContextVar[list[int] | None] = ContextVar("request_queries", default=None)


@event.listens_for(Engine, "before_cursor_execute")
def _count_query(conn, cursor, statement, parameters, context, executemany):
    counter = _queries.get()
    if counter is not None:
        counter[0] += 1


def _new_request_id() -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def request_id() -> str:
    """The current request's id."""
    if "request_id" not in g:
        g.request_id = _new_request_id()
    return g.request_id


def _start() -> None:
    g.request_started = time.perf_counter()
    g.request_queries_token = _queries.set([0])
    g.request_id = _new_request_id()


def _printable(path: str) -> str:
    # A decoded path may hold line breaks or other control characters: one request, one line.
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in path)
    return cleaned if len(cleaned) <= MAX_LOGGED_PATH else cleaned[:MAX_LOGGED_PATH] + "…"


def _user_id() -> str:
    # Only a user this request already loaded: loading one here could query a database that
    # is down (the 503 page) or add a query to a public page.
    # The identity, not user.id: after the request's commit the attribute is expired, and
    # reading it would query again.
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return "-"
    state = inspect(user, raiseerr=False)
    return str(state.identity[0]) if state is not None and state.identity else "-"


def _finish(response):
    rid = request_id()
    response.headers["X-Request-ID"] = rid
    started = g.get("request_started")
    duration_ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    counter = _queries.get()
    queries = counter[0] if counter is not None else 0
    slow = duration_ms >= current_app.config.get("SLOW_REQUEST_MS", 1000)
    if slow:
        level = logging.WARNING
    elif request.endpoint in QUIET_ENDPOINTS and response.status_code < 400:
        level = logging.DEBUG
    else:
        level = logging.INFO
    fields = {"request_id": rid, "method": request.method, "path": _printable(request.path),
              "user_id": _user_id(), "status": response.status_code,
              "duration_ms": round(duration_ms, 1), "queries": queries}
    log.log(level, "%s%s %s %s user=%s status=%s duration_ms=%.1f queries=%s",
            "slow " if slow else "", rid, fields["method"], fields["path"], fields["user_id"],
            fields["status"], duration_ms, queries, extra=fields)
    return response


def _end(_exc) -> None:
    token = g.pop("request_queries_token", None)
    if token is not None:
        try:
            _queries.reset(token)
        except ValueError:  # set in another context (cannot happen in one request); leave it
            _queries.set(None)


def install(app: Flask) -> None:
    """Before every other hook, so that a request turned away early is timed and logged too."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.teardown_request(_end)
