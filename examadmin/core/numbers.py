"""Numbers typed by people or read from a sheet: one reading for scores, hours and the like.

`Decimal` reads far more than a person means by a number: 1_0 (10), 1e2 (100), Infinity,
NaN and the digits of other scripts (٣ is 3). A number here is plain: digits with at most one
point and an optional sign, after NFKC, so that full-width digits typed with a Chinese input
method (８５．５) are the same number.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def plain_number_text(raw: Any) -> str:
    """The text of a typed or read value, as it would be read: floats by their shortest form
    (85.5, not 85.50000001), full-width characters folded, spaces trimmed."""
    if isinstance(raw, float):
        raw = repr(raw)
    return unicodedata.normalize("NFKC", str(raw if raw is not None else "")).strip()


def plain_decimal(text: str) -> Decimal | None:
    """`text` (from plain_number_text) as a Decimal, or None when it is not a plain number."""
    if not PLAIN_NUMBER.fullmatch(text):
        return None
    return Decimal(text)
