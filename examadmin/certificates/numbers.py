"""Certificate numbers (证书编号) and their check character.

The check character is ISO 7064 MOD 37,36 over the body ([0-9A-Z]), so a single mistyped
character or two swapped neighbours is caught before any lookup. The issuance side decides
the body (certificate code, year, sequence); this module only checks the form.
"""
from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: a body of 6 to 31 characters of [0-9A-Z], then the check character
_FORM = re.compile(r"^[0-9A-Z]{7,32}$")


def check_char(body: str) -> str:
    """The ISO 7064 MOD 37,36 check character of `body` (digits and capital letters)."""
    m = 36
    p = m
    for ch in body.upper():
        value = ALPHABET.index(ch)
        s = (p + value) % m or m
        p = (s * 2) % (m + 1)
    return ALPHABET[(m + 1 - p) % m]


def is_well_formed(number: str) -> bool:
    """True when `number` has the form of a certificate number and its check character holds."""
    if not _FORM.match(number or ""):
        return False
    return check_char(number[:-1]) == number[-1]
