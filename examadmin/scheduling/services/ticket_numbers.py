"""Admission ticket numbers (准考证号): readable, checkable, unique by construction.

24 digits, read left to right (README "准考证号"):

    YYYY PPPPP SSSSS NN RRR KKK V C
    2026 00012 00034 03 002 017 0 5

- YYYY  the exam year (the date of the plan's first session)
- PPPPP the exam plan's number
- SSSSS the exam site's number
- NN    the session: its place among the plan's sessions in time order (01 = the first)
- RRR   the room's number (考场号) within the plan and site, given when it is first scheduled
- KKK   the seat in that room
- V     0; 1..9 when a seat freed by a cancelled registration is given to someone else
        (the cancelled ticket keeps its number: numbers are never reused)
- C     a Luhn check digit over the 23 digits before it, so a mistyped digit is caught

Plan, site, session, room and seat together name one seat of one sitting, and V tells
apart the people who held that seat one after the other, so two numbers can only be equal
for the same seat and issue: sites scheduled at the same moment cannot collide. The
database's unique constraint on the column backs this.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...core.errors import DomainError

LENGTH = 24
WIDTHS = {"year": 4, "plan": 5, "site": 5, "session": 2, "room": 3, "seat": 3}


def luhn_digit(digits: str) -> str:
    """The Luhn check digit that makes `digits + digit` pass the Luhn test."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:  # doubled: the check digit will sit to the right of this one
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_valid(number: str) -> bool:
    """True when `number` has the length and check digit of a ticket number."""
    return len(number) == LENGTH and number.isdigit() and luhn_digit(number[:-1]) == number[-1]


@dataclass(frozen=True)
class TicketParts:
    year: int
    plan: int
    site: int
    session: int
    room: int
    seat: int
    issue: int = 0

    def prefix(self) -> str:
        """The 22 digits that name the seat of one sitting, before the issue digit."""
        values = {"year": self.year, "plan": self.plan, "site": self.site, "session": self.session,
                  "room": self.room, "seat": self.seat}
        out = []
        for name, width in WIDTHS.items():
            value = values[name]
            if not 0 < value < 10 ** width:
                raise DomainError(f"无法生成准考证号：{_LABELS[name]} {value} 超出准考证号格式的范围（最多 {width} 位）")
            out.append(f"{value:0{width}d}")
        return "".join(out)


_LABELS = {"year": "考试年份", "plan": "考试计划编号", "site": "考核站点编号", "session": "场次序号",
           "room": "考场号", "seat": "座位号"}


def build(parts: TicketParts, issue: int = 0) -> str:
    """The ticket number of these parts and issue digit."""
    if not 0 <= issue <= 9:
        raise DomainError("该座位已多次因取消报考重新分配，准考证号的补发位已用完，请换用其他座位")
    body = parts.prefix() + str(issue)
    return body + luhn_digit(body)


_DOUBLED = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]


def _luhn_part(digits: str, start: int) -> int:
    """The Luhn sum of `digits` standing at `start` in a 23-digit body (even places doubled)."""
    return sum(_DOUBLED[int(c)] if (start + i) % 2 == 0 else int(c) for i, c in enumerate(digits))


#: text and Luhn sums of the variable parts, by value, so a run builds numbers by lookup
_TEXT2 = [f"{v:02d}" for v in range(100)]
_TEXT3 = [f"{v:03d}" for v in range(1000)]
_SESSION_SUM = [_luhn_part(t, 14) for t in _TEXT2]
_ROOM_SUM = [_luhn_part(t, 16) for t in _TEXT3]
_SEAT_SUM = [_luhn_part(t, 19) for t in _TEXT3]
_ISSUE_SUM = [_luhn_part(str(v), 22) for v in range(10)]


class SiteNumbering:
    """Ticket numbers of one plan and site, built fast for a whole run: the constant head
    (year, plan, site) is formatted and summed once, the rest comes from lookup tables."""

    def __init__(self, year: int, plan: int, site: int):
        self.head = TicketParts(year, plan, site, 1, 1, 1).prefix()[:14]  # checks the widths
        self._head_sum = _luhn_part(self.head, 0)

    def build(self, session: int, room: int, seat: int, issue: int = 0) -> str:
        if not (0 < session < 100 and 0 < room < 1000 and 0 < seat < 1000 and 0 <= issue <= 9):
            return build(TicketParts(int(self.head[:4]), int(self.head[4:9]), int(self.head[9:14]),
                                     session, room, seat), issue)  # refuses with the message
        total = self._head_sum + _SESSION_SUM[session] + _ROOM_SUM[room] + _SEAT_SUM[seat] + _ISSUE_SUM[issue]
        return f"{self.head}{_TEXT2[session]}{_TEXT3[room]}{_TEXT3[seat]}{issue}{(10 - total % 10) % 10}"


def parse(number: str) -> TicketParts:
    """The parts of a ticket number; DomainError when it is not one (typing errors included)."""
    number = (number or "").strip()
    if not is_valid(number):
        raise DomainError("准考证号格式不正确或校验位不符，请核对后重新输入")
    pos, values = 0, {}
    for name, width in WIDTHS.items():
        values[name] = int(number[pos:pos + width])
        pos += width
    return TicketParts(issue=int(number[pos]), **values)
