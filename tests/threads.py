"""Racing requests in tests: real threads, each with its own connection, each committing."""
from __future__ import annotations

import threading
from typing import Callable

from sqlalchemy import event
from werkzeug.exceptions import HTTPException

from examadmin.core.errors import DomainError
from examadmin.extensions import db

#: how long a thread waits at the flush barrier for the others; a thread that holds a lock
#: the others wait for (the fix under test) passes on after this
MEET_SECONDS = 3


def race(app, action: Callable[[], object], racers: int) -> list[str]:
    """Run `action()` in `racers` threads at once, each committing; their answers in a list:
    "ok", a DomainError's message, "404: ..." (or another HTTP error the app would answer),
    or "500: ..." for any other exception.

    On PostgreSQL each thread waits before its first flush until all have made their checks
    (or MEET_SECONDS passed), so that the checks cannot see each other's rows: the race the
    code must survive happens every run, not by luck. On SQLite BEGIN IMMEDIATE lets one
    writer in at a time, so there is no such window to widen."""
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    start, at_flush = threading.Barrier(racers), threading.Barrier(racers)
    local = threading.local()

    def meet(session, context, instances):
        if postgres and not getattr(local, "met", False):
            local.met = True
            try:
                at_flush.wait(timeout=MEET_SECONDS)
            except threading.BrokenBarrierError:
                pass  # the others wait for a lock this thread holds: the serialisation works

    answers: list[str] = []

    def one():
        with app.app_context():
            try:
                start.wait(timeout=30)
                action()
                db.session.commit()
                answers.append("ok")
            except DomainError as exc:
                db.session.rollback()
                answers.append(exc.message)
            except HTTPException as exc:  # 403 / 404 from the permission layer: an answer too
                db.session.rollback()
                answers.append(f"{exc.code}: {exc.description}")
            except Exception as exc:  # noqa: BLE001 - a 500: the caller's assertion shows it
                db.session.rollback()
                answers.append(f"500: {type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    with app.app_context():
        event.listen(db.session, "before_flush", meet)
    try:
        threads = [threading.Thread(target=one) for _ in range(racers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        with app.app_context():
            event.remove(db.session, "before_flush", meet)
    assert len(answers) == racers, answers
    return answers
