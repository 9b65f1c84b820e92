"""Flask extensions, each created once here and bound to the app in create_app()."""
from __future__ import annotations

import os
import sqlite3
from contextvars import ContextVar
from pathlib import Path

from flask import request
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from huey import RedisHuey, SqliteHuey
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from .config import ROOT

# Stable constraint names so that Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# "create_savepoint" matters only when a session is bound to a connection that is already in
# a transaction: the test suite does that so each test rolls back; production binds engines.
db = SQLAlchemy(model_class=Base, session_options={"join_transaction_mode": "create_savepoint"})
migrate = Migrate(directory=str(ROOT / "migrations"))
login_manager = LoginManager()
csrf = CSRFProtect()
bootstrap = Bootstrap5()


def client_ip() -> str:
    return request.remote_addr or "unknown"


limiter = Limiter(client_ip, default_limits=[])


def _make_huey():
    """Redis when REDIS_URL is set (production), else a SQLite file beside the app."""
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        # An unreachable Redis answers within seconds (/healthz, a job's submit), not after
        # the system's TCP connect timeout of minutes.
        from redis import ConnectionPool

        return RedisHuey("examadmin", connection_pool=ConnectionPool.from_url(redis_url, socket_connect_timeout=5))
    from .config import _instance_dir

    path = os.environ.get("HUEY_SQLITE_PATH") or str(Path(_instance_dir()) / "huey.db")
    return SqliteHuey("examadmin", filename=path)


huey = _make_huey()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite as a serious embedded database: WAL, foreign keys, a busy wait.

    The driver's own transaction handling is switched off (isolation_level=None) and
    SQLAlchemy emits BEGIN itself, so that SAVEPOINTs work as documented.
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 64 MB of page cache (default 2 MB): a set-based write of 100,000 rows into tables with
    # several indexes (seat scheduling, imports) otherwise spills pages and runs 2-3× slower.
    cursor.execute("PRAGMA cache_size=-65536")
    # A writer waits this long for the lock (ms): a long import job holds it while it runs,
    # and a school's other saves should wait for it rather than fail.
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


#: Whether the current unit of work may write. On SQLite such a transaction takes the write
#: lock at BEGIN (IMMEDIATE): a transaction that reads first and writes later cannot take it
#: once another writer has committed in between (WAL snapshots), and would fail at once
#: instead of waiting its turn. Read-only GET requests set this False so that they never
#: queue behind a writer. PostgreSQL ignores it.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")
