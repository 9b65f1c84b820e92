"""What a registration's pages say after its exam: the result (考证结果), and a level passed already.

A registration's states end at 已排考; what the exam came to belongs to the scores area, a
later area that registration never imports. The scores area fills the hooks below
(scores/outcomes.py), and the pages ask through them: the result shown beside the state is a
display, never a registration state of its own (DOMAIN.md §6 and §9).

- `outcomes`: per registration, 合格 / 不合格 / 缺考 / 违纪 once its plan's results are final
  (成绩已发布), 成绩公示中 while they are on display; nothing before. One query per page.
- `already_passed_clause` / `already_passed`: a live registration (not lapsed) of a plan whose
  results are not final yet, for a level its person passed in another plan whose results are
  final (registered in both before either was published). A certificate will refuse the second
  one (certificates.services.holds_the_level); the school or the org should cancel it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, or_

from . import lapse
from .models import Registration
from .states import LIVE, RegistrationState

#: the platform's words for a result (DOMAIN.md §9, the public lookup's 考证结果：合格)
PASSED, FAILED, ABSENT, VIOLATION = "合格", "不合格", "缺考", "违纪"
#: what the school and the candidate see while the plan's scores are on display
ON_DISPLAY = "成绩公示中"


@dataclass(frozen=True)
class Outcome:
    """What a scheduled registration's exam came to, as its pages show it."""

    #: 合格 / 不合格 / 缺考 / 违纪, or 成绩公示中
    label: str
    #: the plan's results are final (成绩已发布)
    final: bool

    @property
    def passed(self) -> bool:
        return self.final and self.label == PASSED


@dataclass(frozen=True)
class PassedIn:
    """The plan (with final results) in which the person passed the registration's level."""

    plan_id: int
    plan_name: str
    short_name: str


#: for registration ids, what their exams came to, in one query (filled by the scores area)
OUTCOME_SOURCES: list[Callable[[list[int]], dict[int, Outcome]]] = []

#: SQL over Registration: its plan's results are not final and its person passed its level in
#: another plan whose results are (filled by the scores area)
PASSED_ELSEWHERE_CLAUSES: list[Callable[[], Any]] = []

#: for registration ids and a further SQL condition over Registration, the plans where each
#: one's person passed its level, in one query (filled by the scores area)
PASSED_ELSEWHERE_SOURCES: list[Callable[[list[int], Any], dict[int, list[PassedIn]]]] = []


def outcomes(registrations: Iterable[Registration]) -> dict[int, Outcome]:
    """The results to show beside the scheduled ones of these registrations (one query, none
    when no registration is scheduled)."""
    ids = [r.id for r in registrations if r.state == RegistrationState.SCHEDULED]
    found: dict[int, Outcome] = {}
    if ids:
        for source in OUTCOME_SOURCES:
            found.update(source(ids))
    return found


def live_clause():
    """SQL: a registration that holds its place: live and not overdue (an unpaid one past the
    payment deadline has lapsed, whether or not the lapse is written yet)."""
    return and_(Registration.state.in_(LIVE), ~lapse.overdue_clause())


def already_passed_clause():
    """SQL: a live registration whose person passed its level in another plan with final results,
    while its own plan's results are not final (已通过该等级、仍在其他计划报考)."""
    clauses = [source() for source in PASSED_ELSEWHERE_CLAUSES]
    if not clauses:
        return false()
    return and_(live_clause(), or_(*clauses))


def already_passed(registrations: Iterable[Registration]) -> dict[int, list[PassedIn]]:
    """Of these registrations, the ones `already_passed_clause` holds for, with the plans where
    their person passed (one query, none when no registration is live)."""
    ids = [r.id for r in registrations if r.state in LIVE]
    found: dict[int, list[PassedIn]] = {}
    if ids:
        for source in PASSED_ELSEWHERE_SOURCES:
            for reg_id, plans in source(ids, live_clause()).items():
                found.setdefault(reg_id, []).extend(plans)
    return found
