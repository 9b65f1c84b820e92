"""Counts shown beside lists (the total of a pager, the tabs per state) that stay cheap at
national scale: a count stops at COUNT_CAP, so that no page reads a million rows to print a
number; above it the page says 超过 10,000 (`count_label`). Below the cap every count is exact.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable

from sqlalchemy import Select, func, literal, select

from ..extensions import db

#: the largest count a page states exactly (and the deepest row a pager reaches)
COUNT_CAP = 10_000


def capped_counts(query: Select, column: Any, values: Iterable[Any]) -> dict[Any, int]:
    """{value: rows of `query` whose `column` equals value}, each at most COUNT_CAP + 1, in one
    statement; `query` selects rows (filters and scope applied), e.g. select(Candidate).where(...)."""
    values = list(values)
    if not values:
        return {}
    rows = query.with_only_columns(literal(1), maintain_column_froms=True).order_by(None)
    cap = COUNT_CAP + 1
    parts = [select(func.count()).select_from(rows.where(column == value).limit(cap).subquery()).scalar_subquery()
             for value in values]
    return dict(zip(values, db.session.execute(select(*parts)).one()))


def capped(n: int | None) -> bool:
    return n is not None and n > COUNT_CAP


def count_label(n: int | None) -> str:
    """A count as a page shows it: 1234, or 超过 10,000 above the cap."""
    if n is None:
        return ""
    return f"超过 {COUNT_CAP:,}" if n > COUNT_CAP else str(n)


#: seconds a wide scope's figures are reused (see `wide_scope_cached`)
WIDE_SCOPE_TTL = 60
_cache: dict[tuple, tuple[float, Any]] = {}


def is_wide_scope(actor: Any) -> bool:
    """The org, a province or a city: scopes of thousands of schools, where a figure over
    every row would read hundreds of thousands of rows on each page."""
    from .roles import Role

    return actor.role in (Role.SYSADMIN, Role.ORG, Role.PROVINCE, Role.CITY)


def wide_scope_cached(actor: Any, key: tuple, compute: Callable[[], Any]) -> Any:
    """`compute()` for a school (always fresh: its own figures move with its own work); for a
    wide scope the value of the last WIDE_SCOPE_TTL seconds in this process, computed again
    after that. National figures a minute old are what such a page needs; reading half a
    million rows for every view of it is not."""
    if not is_wide_scope(actor):
        return compute()
    full_key = (key, actor.role, actor.province_id, actor.city_id)
    now = time.monotonic()
    hit = _cache.get(full_key)
    if hit is not None and now - hit[0] < WIDE_SCOPE_TTL:
        return hit[1]
    value = compute()
    if len(_cache) > 1000:
        _cache.clear()
    _cache[full_key] = (now, value)
    return value


def clear_cache() -> None:
    _cache.clear()
