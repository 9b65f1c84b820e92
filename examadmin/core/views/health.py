"""`/healthz`: whether this app process reaches its database and its job queue.

For a load balancer, systemd or a monitor: no sign-in, no personal data, no session cookie.
200 with {"status": "ok", ...} when both answer; 503 naming what failed otherwise. The
reason goes to the log, never to the answer (it could name a host or a password).
"""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from ...extensions import db, huey
from ..web import public

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def _database() -> None:
    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()


def _queue() -> None:
    # Reading the queue's length is a round trip to Redis (or a read of Huey's SQLite file).
    huey.storage.queue_size()


CHECKS = {"database": _database, "queue": _queue}
FAILED = {"database": "数据库无法访问", "queue": "任务队列无法访问"}


@bp.route("/healthz")
@public
def healthz():
    checks, failed = {}, []
    for name, check in CHECKS.items():
        try:
            check()
            checks[name] = "ok"
        except Exception:  # noqa: BLE001 - any failure of the dependency is the answer
            log.warning("health check: %s unreachable", name, exc_info=True)
            checks[name] = FAILED[name]
            failed.append(name)
    body = {"status": "ok" if not failed else "unavailable", "checks": checks}
    if failed:
        body["failed"] = failed
    response = jsonify(body)
    response.status_code = 503 if failed else 200
    response.headers["Cache-Control"] = "no-store"
    return response
