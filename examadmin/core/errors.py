"""Errors the user can fix. Views flash them, the CLI prints them and exits non-zero."""
from __future__ import annotations


class DomainError(Exception):
    """A rule was broken; the message is in Chinese and says what to do."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        #: the form field the message belongs to, when there is one
        self.field = field

    def __str__(self) -> str:
        return self.message
