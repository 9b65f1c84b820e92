"""Unique constraints answer like the checks in front of them, also when requests race.

A service checks "is this number taken?" and then inserts. Two requests can both pass the
check before either commits; the database's unique constraint then refuses the second one
at flush. `unique_writes` makes those writes in a savepoint, so that the refusal leaves the
session usable, and answers it by running the service's own check again: the other row is
visible now, so the user reads the same Chinese message as when the requests came one after
the other.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy.exc import IntegrityError

from .errors import DomainError

#: said when the check, run again, still finds nothing (the other row was removed meanwhile)
RACE_MESSAGE = "该记录刚被他人同时保存或修改，请刷新页面后重试。"


def is_unique_violation(exc: IntegrityError) -> bool:
    """True for a unique-constraint refusal on PostgreSQL (SQLSTATE 23505) or SQLite."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "23505":
        return True
    return "UNIQUE constraint failed" in str(orig)


@contextmanager
def unique_writes(recheck: Callable[[], None], *, field: str | None = None) -> Iterator[None]:
    """Make the writes of the block and flush them in a savepoint; a unique-constraint refusal
    rolls back to it and raises the DomainError of `recheck` (the sequential check)."""
    from ..extensions import db

    try:
        with db.session.begin_nested():
            yield
            db.session.flush()
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        recheck()
        raise DomainError(RACE_MESSAGE, field=field) from None
