"""Demo data of the exam area: subjects, an approved site of school 5150000001 and an exam
plan on the pattern of the 2023 fourth national exam, moved to dates around today so that
registration is open whenever the demo is loaded. Idempotent, like the rest of the demo.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from ..catalog.models import Certificate, Level, School
from ..catalog.services import SOCIAL_PSYCHOLOGY
from ..core import clock
from ..core.auth import SYSTEM, User
from ..extensions import db
from ..sites import services as sites
from ..sites.models import ExamSite
from .models import ExamMode, ExamPlan, Subject
from .services import plans

DEMO_SCHOOL = "5150000001"
SUBJECT_NAME = "社会心理服务综合（理论与技能）"
#: 2023-09-22..24: 09:00-11:00 初级 机考, 14:00-16:00 中级 机考, on three days
SESSIONS = [(Level.JUNIOR, time(9), time(11)), (Level.MIDDLE, time(14), time(16))]
FEES = {"fee_junior": "300.00", "fee_middle": "400.00"}


def _user(username: str):
    return db.session.scalar(select(User).where(User.username == username)) or SYSTEM


def load_demo() -> dict[str, int]:
    """Subjects for 初级 and 中级, the demo school's approved 初级 site, one published plan."""
    added = {"subjects": 0, "sites": 0, "plans": 0}
    org, school_user = _user("org"), _user("school1")
    certificate = db.session.scalar(select(Certificate).where(Certificate.code == SOCIAL_PSYCHOLOGY["code"]))
    levels = {lv.level: lv for lv in certificate.levels}

    subjects = {}
    for level in (Level.JUNIOR, Level.MIDDLE):
        subject = db.session.scalar(select(Subject).where(Subject.certificate_level_id == levels[level].id,
                                                          Subject.name == SUBJECT_NAME))
        if subject is None:
            subject = plans.save_subject(org, {"certificate_level_id": levels[level].id, "name": SUBJECT_NAME,
                                               "mode": ExamMode.COMPUTER, "full_mark": 100, "pass_mark": 60})
            added["subjects"] += 1
        subjects[level] = subject

    school = db.session.scalar(select(School).where(School.code == DEMO_SCHOOL))
    if school is not None and getattr(school_user, "school_id", None) == school.id:
        site = db.session.scalar(select(ExamSite).where(ExamSite.school_id == school.id,
                                                        ExamSite.certificate_level_id == levels[Level.JUNIOR].id))
        if site is None:
            site = sites.apply_site(school_user, {
                "certificate_level_id": levels[Level.JUNIOR].id, "address": school.address or "校内实训楼",
                "contact_name": "张老师", "contact_phone": "023-65001234", "computer_rooms": 3, "seats": 150,
                "has_cameras": True, "has_computers": True, "has_network": True, "has_headsets": True,
                "has_microphones": True, "has_partitions": True})
            sites.approve_site(org, site.id)
            added["sites"] += 1

    today = clock.now().date()
    first_day = today + timedelta(days=30)
    name = f"{first_day.year}年第4次全国统一考试（社会心理服务）"
    exists = db.session.scalar(select(ExamPlan.id).where(ExamPlan.certificate_id == certificate.id,
                                                         ExamPlan.name.like("%第4次全国统一考试（社会心理服务）")))
    if exists is None:
        at = lambda days, hour: datetime.combine(today + timedelta(days=days), time(hour))  # noqa: E731
        plan = plans.save_plan(org, {
            "name": name, "certificate_id": certificate.id,
            "registration_start": at(-7, 9), "registration_end": at(14, 17), "payment_deadline": at(21, 17),
            "ticket_start": at(23, 9), "ticket_end": at(32, 16), **FEES})
        for offset in range(3):
            for level, start, end in SESSIONS:
                plans.add_session(org, plan.id, {"date": first_day + timedelta(days=offset), "start_time": start,
                                                 "end_time": end, "level": level, "subject_id": subjects[level].id})
        plans.publish_plan(org, plan.id)
        added["plans"] += 1
    return added
