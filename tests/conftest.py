"""Shared fixtures: the app, a database that each test rolls back, clients and factories.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set
(`.ci/run` does both). Huey runs jobs immediately, except in the one test that starts a
real worker.
"""
from __future__ import annotations

import itertools
import os
import tempfile
import time

_TMP = tempfile.mkdtemp(prefix="examadmin-test-")
os.environ["EXAMADMIN_INSTANCE"] = _TMP
os.environ["HUEY_SQLITE_PATH"] = os.path.join(_TMP, "huey.db")
os.environ.pop("REDIS_URL", None)
os.environ.pop("DATABASE_URL", None)

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402
from flask import g, has_app_context  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import delete, select, text, tuple_  # noqa: E402

from examadmin import create_app  # noqa: E402
from examadmin.catalog import services as catalog  # noqa: E402
from examadmin.catalog.models import Certificate, Province  # noqa: E402
from examadmin.config import ROOT, normalise_database_url  # noqa: E402
from examadmin.core import auth, counts  # noqa: E402
from examadmin.core.auth import SYSTEM  # noqa: E402
from examadmin.extensions import db, limiter  # noqa: E402

# CI explores the same examples every run (a red run must be reproducible); locally each run
# explores new ones.
settings.register_profile("ci", derandomize=True, max_examples=300)
if os.environ.get("CI"):
    settings.load_profile("ci")

PASSWORD = "test1234"


def _database_of_this_worker(url: str) -> str:
    """Under pytest-xdist each worker needs a database of its own: SQLite already has one
    (the file lives in this process's temporary folder); on PostgreSQL the worker uses
    `<database>_<worker>` on the same server, created here when missing."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not url.startswith("postgresql"):
        return url
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


TEST_DATABASE_URL = _database_of_this_worker(
    normalise_database_url(os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_TMP}/test.db"))


def test_config(**extra) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL,
        "HUEY_IMMEDIATE": True,
        "WTF_CSRF_ENABLED": False,
        "STORAGE_DIR": os.path.join(_TMP, "storage"),
        "SERVER_NAME": "examadmin.test",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        **extra,
    }


def reset_database() -> None:
    """An empty schema, then the migrations: the schema exists only through them."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(directory=str(ROOT / "migrations"))


class IsolatedClient(FlaskClient):
    """A test client whose requests do not see each other's signed-in user.

    Requests reuse the test's app context (and so its `g`), where Flask-Login caches the
    user; without this, a second client would be served the first client's user.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            g.pop("_login_user", None)
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app():
    app = create_app(test_config())
    app.test_client_class = IsolatedClient
    with app.app_context():
        reset_database()
        catalog.seed_reference_data(SYSTEM, ROOT / "sample_data")
        db.session.commit()
        db.session.remove()
    yield app
    dispose(app)


def dispose(app) -> None:
    """Close every pooled connection of the app (PostgreSQL warns about open ones at exit)."""
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def _row_keys(app) -> dict[str, set[tuple]]:
    """The primary keys of every row of every table of the suite's database."""
    with app.app_context(), db.engine.connect() as conn:
        return {table.name: set(conn.execute(select(*table.primary_key.columns)).all())
                for table in db.metadata.sorted_tables}


def _delete_rows_added_since(app, before: dict[str, set[tuple]]) -> None:
    """Delete what a committing test left behind: every row whose key was not there before."""
    with app.app_context(), db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            key = list(table.primary_key.columns)
            added = [row for row in conn.execute(select(*key)).all() if row not in before[table.name]]
            for start in range(0, len(added), 500):
                chunk = added[start:start + 500]
                condition = key[0].in_([row[0] for row in chunk]) if len(key) == 1 else tuple_(*key).in_(chunk)
                conn.execute(delete(table).where(condition))
        db.session.remove()


@pytest.fixture(autouse=True)
def _db(request, app):
    """Each test runs inside one outer transaction that is rolled back at its end.

    A test marked no_db_fixture commits for real (threads racing, each on its own
    connection); what it adds to the suite's database is deleted at its end, so that no
    other test sees it, whatever the order.
    """
    counts.clear_cache()  # figures cached for wide scopes belong to the test that made them
    if request.node.get_closest_marker("no_db_fixture"):
        if request.node.get_closest_marker("e2e"):  # a database of its own
            yield
            return
        before = _row_keys(app)
        try:
            yield
        finally:
            _delete_rows_added_since(app, before)
        return
    with app.app_context():
        engines = db.engines
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        engines[None] = connection
        limiter.reset()
        try:
            yield
        finally:
            db.session.remove()
            engines[None] = engine
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


_seq = itertools.count(1)
#: city codes have four digits under the province: a counter of their own, wrapping, is
#: safe because each test rolls back what it made
_city_seq = itertools.count(1)


def province(code: str = "50") -> Province:
    return db.session.scalar(select(Province).where(Province.code == code))


def make_city(province_code: str = "50", name: str | None = None):
    n = next(_city_seq) % 10000
    prov = province(province_code)
    return catalog.save_city(SYSTEM, {"province_id": prov.id, "code": f"{prov.code}{n:04d}",
                                      "name": name or f"测试市{n}"})


def make_school(province_code: str = "50", city=None, school_type: str = "高职专科院校", name: str | None = None):
    n = next(_seq)
    city = city or make_city(province_code)
    return catalog.save_school(SYSTEM, {"code": f"59{n:08d}", "name": name or f"测试职业学院{n}",
                                        "type": school_type, "province_id": city.province_id,
                                        "city_id": city.id})


def make_user(role: str, *, school=None, city=None, province_code: str = "50", signer: bool = False,
              username: str | None = None):
    n = next(_seq)
    scope = {}
    if role in ("school", "candidate", "proctor"):
        scope["school_id"] = (school or make_school(province_code)).id
    elif role == "city":
        scope["city_id"] = (city or make_city(province_code)).id
    elif role == "province":
        scope["province_id"] = province(province_code).id
    return auth.create_user(SYSTEM, username=username or f"{role}{n}", name=f"{role}用户{n}", role=role,
                            password=PASSWORD, is_signer=signer, must_change_password=False, **scope)


def the_certificate() -> Certificate:
    return db.session.scalar(select(Certificate).order_by(Certificate.id))


def login_as(client, user) -> None:
    """Sign the test client in as `user` without going through the rate-limited form."""
    db.session.commit()  # inside the outer test transaction: a savepoint, rolled back later
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session["seen"] = int(time.time())


@pytest.fixture
def redis_url():
    """A real Redis server's database for tests marked `redis` (CI starts one: TEST_REDIS_URL)."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set (no Redis server for this run)")
    import redis

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw"):  # parallel workers must not flush each other's queue: a database each
        base, _, number = url.rpartition("/")
        url = f"{base}/{int(number or 0) + int(worker[2:])}"

    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()
