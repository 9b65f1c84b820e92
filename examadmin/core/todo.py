"""The to-do list on every dashboard: what waits for this user, with counts and links.

Each area registers its sources (functions user -> to-dos) in its `todos.py`, which the app
imports at start; the dashboard shows whatever the sources return and knows none of them.
A source decides for itself whom it concerns (by permission or role) and counts only inside
the user's scope. A registration area, say, adds "unpaid orders" with one new source.
"""
from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Callable, Iterable

from flask import url_for
from sqlalchemy import func, select

from ..extensions import db
from . import clock, permissions


@dataclass(frozen=True)
class Todo:
    #: what waits, e.g. 待审核的试点申报
    label: str
    count: int
    #: the page that lists exactly these records
    url: str
    #: one short line of what to do, e.g. 请审核后通过或退回
    hint: str = ""


Source = Callable[[Any], Iterable[Todo]]
#: name -> (order, source); shown by order, then in registration order (the areas' order)
SOURCES: dict[str, tuple[int, Source]] = {}


def source(name: str, *, order: int = 0) -> Callable[[Source], Source]:
    """Register a to-do source under a unique name (registering a name again replaces it)."""
    def register(fn: Source) -> Source:
        SOURCES[name] = (order, fn)
        return fn
    return register


#: while todos_for collects, the counts the sources ask for (run together in one query)
_pending: ContextVar[list["PendingCount"] | None] = ContextVar("todo_pending_counts", default=None)


class PendingCount:
    """A count a source asked for while the dashboard collects its to-dos: todos_for runs all of
    them in one query instead of one each (a school's dashboard asks for nine). A source that
    uses the number itself (compares or adds it) gets it at once, counted on its own."""

    __slots__ = ("query", "value")

    def __init__(self, query) -> None:
        self.query = query
        self.value: int | None = None

    def resolve(self) -> int:
        if self.value is None:
            self.value = db.session.scalar(self.query) or 0
        return self.value

    def __int__(self) -> int:
        return self.resolve()

    __index__ = __int__

    def __bool__(self) -> bool:
        return bool(self.resolve())

    def __eq__(self, other: object) -> bool:
        return self.resolve() == other

    def __hash__(self) -> int:
        return hash(self.resolve())

    def __lt__(self, other: Any) -> bool:
        return self.resolve() < other

    def __le__(self, other: Any) -> bool:
        return self.resolve() <= other

    def __gt__(self, other: Any) -> bool:
        return self.resolve() > other

    def __ge__(self, other: Any) -> bool:
        return self.resolve() >= other

    def __add__(self, other: Any) -> int:
        return self.resolve() + other

    __radd__ = __add__

    def __str__(self) -> str:
        return str(self.resolve())

    __repr__ = __str__


def todos_for(user: Any) -> list[Todo]:
    """Every to-do with something waiting (count > 0), for the user's dashboard."""
    pending: list[PendingCount] = []
    token = _pending.set(pending)
    try:
        collected = [todo for _, fn in sorted(SOURCES.values(), key=lambda entry: entry[0]) for todo in fn(user)]
    finally:
        _pending.reset(token)
    waiting = [p for p in pending if p.value is None]
    if waiting:
        values = db.session.execute(select(*(p.query.scalar_subquery() for p in waiting))).one()
        for p, value in zip(waiting, values):
            p.value = value or 0
    items: list[Todo] = []
    for todo in collected:
        if isinstance(todo.count, PendingCount):
            todo = replace(todo, count=todo.count.resolve())
        if todo.count > 0:
            items.append(todo)
    return items


def count_in_scope(user: Any, model: type, *conditions) -> int:
    """How many records of `model` in the user's scope meet the conditions (inside todos_for:
    a PendingCount, counted together with the other sources' counts)."""
    query = select(func.count()).select_from(model).where(permissions.scope_clause(user, model), *conditions)
    pending = _pending.get()
    if pending is None:
        return db.session.scalar(query) or 0
    count = PendingCount(query)
    pending.append(count)
    return count  # type: ignore[return-value]  # used as an int by the sources


@source("jobs.failed", order=100)  # after the work of the areas
def failed_jobs(user: Any) -> Iterable[Todo]:
    # The sysadmin sees every job: failures of the last week are worth a look (a failed
    # job's detail is on its page). Others see their own failures.
    if not permissions.can(user, "jobs.view"):
        return []
    from .jobs import Job, JobState

    since = clock.now() - timedelta(days=7)
    count = count_in_scope(user, Job, Job.state == JobState.FAILED, Job.created_at >= since)
    label = "近 7 天失败的后台任务" if user.role == "sysadmin" else "近 7 天我的失败任务"
    return [Todo(label, count, url_for("jobs.index"), "查看原因，可用相同输入重新运行")]
