"""Factories of subjects, plans and rooms, as plain callables."""
from __future__ import annotations

from datetime import date

from examadmin.catalog.models import Level
from examadmin.exams.models import ExamPlan, ExamRoom, Subject
from examadmin.exams.services import plans, rooms
from tests.conftest import the_certificate
from tests.sites.factories import level_of, make_user

_n = iter(range(1, 10**6))

EXAM_DAY = date(2030, 6, 20)


def make_subject(level: Level = Level.JUNIOR, mode: str = "机考", name: str | None = None,
                 certificate=None) -> Subject:
    return plans.save_subject(make_user("org"), {
        "certificate_level_id": level_of(level, certificate).id, "name": name or f"测试科目{next(_n)}",
        "mode": mode, "full_mark": 100, "pass_mark": 60})


def plan_data(certificate=None, **overrides) -> dict:
    return {"name": f"测试考试计划{next(_n)}", "certificate_id": (certificate or the_certificate()).id,
            "registration_start": "2030-05-01 09:00", "registration_end": "2030-05-20 17:00",
            "payment_deadline": "2030-05-31 17:00", "ticket_start": "2030-06-13 09:00",
            "ticket_end": "2030-06-22 16:00", "fee_junior": "300", "fee_middle": "400", "fee_senior": "500",
            **overrides}


def make_plan(sessions=(), *, publish: bool = True, certificate=None, **overrides) -> ExamPlan:
    """A plan with sessions given as (subject, "09:00", "11:00"[, date]); published unless told."""
    org = make_user("org")
    plan = plans.save_plan(org, plan_data(certificate, **overrides))
    for subject, start, end, *day in sessions:
        plans.add_session(org, plan.id, {"date": day[0] if day else EXAM_DAY, "start_time": start,
                                         "end_time": end, "subject_id": subject.id})
    if publish:
        plans.publish_plan(org, plan.id)
    return plan


def make_room(school_user, plan, site, subject, name: str = "实训楼 101", seats: int = 30) -> ExamRoom:
    return rooms.save_room(school_user, {"plan_id": plan.id, "site_id": site.id, "subject_id": subject.id,
                                         "name": name, "seats": seats})
