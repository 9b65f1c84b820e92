"""ID numbers: normalising what people type or paste, and checking a 居民身份证 number.

GB 11643-1999: 6 digits of region, 8 of birth date (YYYYMMDD), 3 of sequence (the last
odd for men, even for women) and a check character computed with ISO 7064 MOD 11-2
(0-9 or X).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
#: the first two digits of a region code: the provinces of GB/T 2260 (and 71/81/82)
PROVINCE_CODES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82",
}
BODY = re.compile(r"^\d{17}[\dX]$")


def normalise(text: str | None) -> str:
    """Full-width to ASCII (NFKC), drop every space and invisible character, upper-case x."""
    if text is None:
        return ""
    text = str(text)
    # Until nothing changes: NFKC may turn a character into a space plus a combining mark
    # (¸ → " ̧"), and once the space is gone, or a letter upper-cased (ß → SS), the mark
    # composes with its new neighbour.
    for _ in range(4):
        cleaned = unicodedata.normalize("NFKC", text)
        cleaned = "".join(ch for ch in cleaned
                          if not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc", "Zs")).upper()
        if cleaned == text:
            break
        text = cleaned
    return text


def check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    return CHECK_CHARS[total % 11]


@dataclass(frozen=True)
class IdInfo:
    number: str
    birth_date: date
    #: 男 or 女, from the sequence digit
    gender: str
    region: str


class IdCardError(ValueError):
    """The number is not a valid 居民身份证 number; the message says why, in Chinese."""


def parse(number: str, *, today: date | None = None) -> IdInfo:
    """Check a normalised 18-character number and read its birth date and gender."""
    if len(number) != 18:
        raise IdCardError(f"身份证号码应为 18 位，填写的为 {len(number)} 位")  # the digits stay out of messages (PIPL)
    if not BODY.match(number):
        raise IdCardError("身份证号码前 17 位应为数字，最后一位为数字或 X")
    if number[:2] not in PROVINCE_CODES:
        raise IdCardError(f"身份证号码的地区码「{number[:6]}」无效")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdCardError(f"身份证号码中的出生日期「{number[6:14]}」不是有效日期") from None
    today = today or date.today()
    if born > today or born.year < 1900:
        raise IdCardError(f"身份证号码中的出生日期「{born.isoformat()}」不合理")
    expected = check_char(number[:17])
    if number[17] != expected:
        raise IdCardError("身份证号码校验位不正确，请核对是否输错")
    return IdInfo(number=number, birth_date=born, gender="男" if int(number[16]) % 2 else "女",
                  region=number[:6])


def mask(number: str | None) -> str:
    """An ID number with only a prefix and a suffix visible, whatever the paper.

    居民身份证 (18): 500107********123X, region and the last four kept, the birth date hidden.
    Other papers (passports, 港澳台 permits): at most a third of the characters show, as a
    short prefix and suffix, so that a 9-character passport number never shows whole.
    """
    if not number:
        return ""
    number = str(number)
    n = len(number)
    if n == 18:
        return number[:6] + "*" * 8 + number[-4:]
    if n <= 4:
        return "*" * n
    head = 1 if n < 9 else 2 if n < 15 else 3
    tail = 1 if n < 9 else 2 if n < 15 else 3
    return number[:head] + "*" * (n - head - tail) + number[-tail:]


def mask_keep_last4(number: str | None) -> str:
    """An ID number with only its last four characters visible, whatever the paper: what a paper
    handed to the candidate (the activation slip) shows, where the region code is not needed.

    居民身份证 (18): **************123X. A number of fewer than eight characters keeps at most
    half of itself (a 6-character permit number shows its last three); four or fewer show nothing.
    """
    if not number:
        return ""
    number = str(number)
    n = len(number)
    if n <= 4:
        return "*" * n
    keep = min(4, n // 2)
    return "*" * (n - keep) + number[-keep:]


def mask_phone(phone: str | None) -> str:
    """138****1234 for a mobile number; other numbers keep about a third visible."""
    if not phone:
        return ""
    phone = str(phone)
    if "*" in phone:  # already masked (a row read back, then written again)
        return phone
    n = len(phone)
    if n == 11 and phone.isdigit():
        return phone[:3] + "****" + phone[-4:]
    if n <= 4:
        return "*" * n
    head, tail = max(1, n // 4), max(1, n // 6)
    return phone[:head] + "*" * (n - head - tail) + phone[-tail:]
