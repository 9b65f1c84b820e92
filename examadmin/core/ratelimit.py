"""The rate limits' counters in a SQLite file, for the embedded installation without Redis.

`examadmin serve` runs several web processes. Flask-Limiter's default store (memory://) would
count per process, so that the sign-in slow-down and the public lookups' limits would let N
times as many attempts through. Production sets REDIS_URL and the counters live in Redis;
without it they live here, in a file beside the database that every process of this machine
shares (RATELIMIT_STORAGE_URI=examadmin-sqlite:///path/ratelimit.db).

Fixed windows, as Flask-Limiter uses by default: a counter per key with the moment its window
ends; one atomic UPSERT counts a hit and starts a new window when the old one has ended.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time

from limits.storage import Storage

SCHEME = "examadmin-sqlite"
#: every this many hits, a process deletes the counters whose windows have ended
PURGE_EVERY = 500


class SqliteLimitStorage(Storage):
    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        self.path = uri.split("://", 1)[1]
        if not self.path:
            raise ValueError(f"{SCHEME}:// needs a file path")
        self._local = threading.local()
        self._hits = 0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _conn(self) -> sqlite3.Connection:
        # One connection per thread and per process: a connection must not cross a fork.
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=True)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE IF NOT EXISTS counter (key TEXT PRIMARY KEY, "
                         "value INTEGER NOT NULL, expiry REAL NOT NULL)")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        conn = self._conn()
        value = conn.execute(
            "INSERT INTO counter (key, value, expiry) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET "
            "value = CASE WHEN counter.expiry <= ? THEN excluded.value ELSE counter.value + excluded.value END, "
            "expiry = CASE WHEN counter.expiry <= ? THEN excluded.expiry ELSE counter.expiry END "
            "RETURNING value", (key, amount, now + expiry, now, now)).fetchone()[0]
        self._hits += 1
        if self._hits % PURGE_EVERY == 0:
            conn.execute("DELETE FROM counter WHERE expiry <= ?", (now,))
        return value

    def get(self, key: str) -> int:
        row = self._conn().execute("SELECT value FROM counter WHERE key = ? AND expiry > ?",
                                   (key, time.time())).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = self._conn().execute("SELECT expiry FROM counter WHERE key = ? AND expiry > ?",
                                   (key, now)).fetchone()
        return row[0] if row else now

    def check(self) -> bool:
        try:
            self._conn().execute("SELECT 1")
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        return self._conn().execute("DELETE FROM counter").rowcount

    def clear(self, key: str) -> None:
        self._conn().execute("DELETE FROM counter WHERE key = ?", (key,))
