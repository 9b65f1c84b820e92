"""Row locks for checks that must see, and hold, the latest committed state of one row.

`session.refresh(obj, with_for_update=...)` re-runs the query that loaded `obj`, with the
eager loads it was loaded with; when one of them is an outer join (a plan loaded with its
certificate, say), PostgreSQL refuses it: FOR UPDATE cannot be applied to the nullable side
of an outer join. So the lock is taken by a query of the row's own table alone, and the
object is then read again plainly. On SQLite FOR UPDATE is not emitted; BEGIN IMMEDIATE
already lets one writer in at a time.
"""
from __future__ import annotations

from typing import TypeVar

from sqlalchemy import inspect, select

from ..extensions import db

T = TypeVar("T")


def lock_row(obj: T, *, shared: bool = False) -> T:
    """Lock `obj`'s row until the commit (FOR UPDATE, or FOR SHARE when `shared`) and read it
    again, so what the caller checks next is what is committed and stays so."""
    mapper = inspect(obj).mapper
    key = inspect(obj).identity
    columns = mapper.primary_key
    query = select(*columns).where(*(column == value for column, value in zip(columns, key)))
    db.session.execute(query.with_for_update(read=shared))
    db.session.refresh(obj)
    return obj
