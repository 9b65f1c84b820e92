"""A school ready to register: an approved application with quota, approved sites, an open
plan with 初级 and 中级 sessions, and verified candidates. Plain callables."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from examadmin.candidates import services as candidates
from examadmin.candidates.models import Candidate
from examadmin.candidates.states import CandidateState
from examadmin.catalog.models import Level
from examadmin.core import clock
from examadmin.exams.models import ExamPlan
from examadmin.extensions import db
from examadmin.pilots import services as pilots
from examadmin.pilots.services import LineInput
from tests.candidates.helpers import id_number
from tests.exams.factories import make_plan, make_subject
from tests.pilots.conftest import major
from tests.pilots.conftest import make_plan as make_pilot_plan
from tests.sites.factories import level_of, make_site, make_user

_n = itertools.count(1)


def _at(days: float) -> str:
    return (clock.now() + timedelta(days=days)).strftime("%Y-%m-%d %H:%M")


def open_plan(levels=(Level.JUNIOR, Level.MIDDLE), *, start_days: float = -1, end_days: float = 10,
              deadline_days: float = 20, **overrides) -> ExamPlan:
    """A published plan whose registration window is open now, with a session per level."""
    exam_day = (clock.now() + timedelta(days=40)).date()
    sessions = []
    for index, level in enumerate(levels):
        subject = make_subject(level)
        sessions.append((subject, f"{9 + 5 * index:02d}:00", f"{11 + 5 * index:02d}:00", exam_day))
    return make_plan(sessions, registration_start=_at(start_days), registration_end=_at(end_days),
                     payment_deadline=_at(deadline_days), ticket_start=_at(30), ticket_end=_at(45), **overrides)


@dataclass
class School:
    user: object
    school_id: int
    sites: dict
    plan: ExamPlan
    lines: dict


def approve_quota(school_user, places: dict[str, int], level: Level = Level.JUNIOR, year: int | None = None):
    """An approved application of the school for `level` with a line per major name."""
    year = year or clock.now().year
    pilot_plan = make_pilot_plan(year=year)
    lines = [LineInput(major(name).id, 500, 10, max(count, 1), 1) for name, count in places.items()]
    app = pilots.save_application(school_user, plan_id=pilot_plan.id, certificate_level_id=level_of(level).id,
                                  explanation="测试", lines=lines, submit=True)
    province = make_user("province")
    pilots.approve_application(province, app.id, {line.id: places[line.major.name] for line in app.lines})
    return {line.major.name: line for line in app.lines}


def ready_school(places: dict[str, int] | None = None, *, plan: ExamPlan | None = None) -> School:
    """A school user with approved 初级 and 中级 sites, 初级 quota lines and an open plan."""
    user = make_user("school")
    sites = {Level.JUNIOR: make_site(user, Level.JUNIOR), Level.MIDDLE: make_site(user, Level.MIDDLE)}
    lines = approve_quota(user, places if places is not None else {"心理健康教育": 3, "护理": 2})
    return School(user, user.school_id, sites, plan or open_plan(), lines)


def verified(school_user, *, name: str | None = None, major_name: str = "心理健康教育", kind: str = "本校考生",
             state: CandidateState = CandidateState.ACCURATE, number: str | None = None) -> Candidate:
    n = next(_n)
    m = major(major_name) if kind == "本校考生" else None
    candidate = candidates.add_candidate(school_user, {
        "name": name or f"考生{n}", "id_type": "居民身份证", "id_number": number or id_number(), "ethnicity": "汉族",
        "phone": "13800138000", "kind": kind, "major_code": m.code if m else "", "major_name": m.name if m else "",
        "class_name": "心理2201" if m else "", "student_number": f"S{n}" if m else "",
        "enrolment_year": "2022" if m else ""})
    candidate.state = state  # the verification itself is tested in tests/candidates
    db.session.flush()
    return candidate


def later(days: float) -> datetime:
    return clock.now() + timedelta(days=days)
