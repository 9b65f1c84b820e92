"""Column helpers shared by every area's models."""
from __future__ import annotations

from enum import Enum

from sqlalchemy import Enum as SAEnum


def enum_type(enum_cls: type[Enum], length: int = 20) -> SAEnum:
    """Store an Enum by its (Chinese) value as plain text, the same on SQLite and PostgreSQL."""
    return SAEnum(
        enum_cls,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        create_constraint=False,
        validate_strings=True,
        length=length,
    )
