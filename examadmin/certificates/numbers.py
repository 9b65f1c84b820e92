"""Certificate numbers (证书编号): unique, never reused, with a check character.

Format (README, 证书编号): 17 characters, ``YYYY CCCC NNNNNNNN K`` without spaces:
the year of issue (4 digits), the catalog certificate's id (4 digits), a sequence per
certificate and year (8 digits, from `NumberCounter`, never given twice, also not after a
revocation) and a check character computed over the 16 digits with ISO 7064 MOD 11-2, the
scheme of the resident ID number (0-9 or X). It catches every single mistyped digit and
every swap of two neighbouring digits, so a mistyped number is refused before any lookup.
"""
from __future__ import annotations

import re

BODY_DIGITS = 16
_FORMAT = re.compile(r"^\d{16}[0-9X]$")


def check_char(body: str) -> str:
    """The ISO 7064 MOD 11-2 check character (0-9 or X) of a string of digits."""
    if not body.isdigit() or not body.isascii():
        raise ValueError("certificate number body must be digits")
    total = 0
    for ch in body:
        total = (total + int(ch)) * 2 % 11
    value = (12 - total) % 11
    return "X" if value == 10 else str(value)


def is_well_formed(number: str) -> bool:
    """True when `number` has the format and its check character matches."""
    if not isinstance(number, str):
        return False
    number = normalise(number)
    if not _FORMAT.match(number):
        return False
    return check_char(number[:-1]) == number[-1]


def normalise(number: str) -> str:
    """Spaces removed and a lower-case x accepted, as people type numbers."""
    return "".join(number.split()).upper()


def make_number(year: int, certificate_id: int, sequence: int) -> str:
    if not (0 < certificate_id < 10_000 and 0 < sequence < 100_000_000 and 1000 <= year <= 9999):
        raise ValueError("certificate number out of range")
    body = f"{year:04d}{certificate_id:04d}{sequence:08d}"
    return body + check_char(body)
