"""The to-do list on every dashboard: what waits for this user, with counts and links.

Each area registers its sources (functions user -> to-dos) in its `todos.py`, which the app
imports at start; the dashboard shows whatever the sources return and knows none of them.
A source decides for itself whom it concerns (by permission or role) and counts only inside
the user's scope. A registration area, say, adds "unpaid orders" with one new source.
"""
from __future__ import annotations

from dataclasses import dataclass
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


def todos_for(user: Any) -> list[Todo]:
    """Every to-do with something waiting (count > 0), for the user's dashboard."""
    items: list[Todo] = []
    for _, fn in sorted(SOURCES.values(), key=lambda entry: entry[0]):
        items.extend(todo for todo in fn(user) if todo.count > 0)
    return items


def count_in_scope(user: Any, model: type, *conditions) -> int:
    """How many records of `model` in the user's scope meet the conditions."""
    query = select(func.count()).select_from(model).where(permissions.scope_clause(user, model), *conditions)
    return db.session.scalar(query) or 0


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
