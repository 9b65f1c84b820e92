"""The validity of issued certificates (有效期), shown wherever a certificate appears.

The rule lives in a later area (renewals/validity.py: registration cycles, re-registration
decisions), which registers itself here; an earlier area never imports a later one. Without
a registered source a certificate simply shows no validity.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Callable, Iterable

#: Functions (records, today) -> {record id: an object with `state` (a StrEnum) and `valid_until`}
SOURCES: list[Callable[[list[Any], date | None], dict[int, Any]]] = []


def of_records(records: Iterable[Any], today: date | None = None) -> dict[int, Any]:
    """The validity of each record that has one (issued or revoked), by record id."""
    records = list(records)
    found: dict[int, Any] = {}
    for source in SOURCES:
        found.update(source(records, today))
    return found


def of_record(record: Any, today: date | None = None) -> Any | None:
    return of_records([record], today).get(record.id)
