"""Demo data of scheduling: rooms for the open plan; a plan that is already scheduled, with
proctors assigned and the ticket window open now, so that a newcomer can download a ticket
as school1 and as `candidate` and check in as `proctor`; and a past plan, scheduled and sat,
whose scores (scores.demo) and certificates are the later steps' demo.

The scheduled plans' registration and payment lie in the past, so the demo replays them
through the real services at a moment inside the plan's registration window (`_as_of`):
the school registers its candidates, pays in a school order and a social candidate's order
with vouchers, and the org confirms. Idempotent, like the rest of the demo.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, time, timedelta

from sqlalchemy import select

from ..candidates.demo import PEOPLE
from ..registrations.demo import LEFT_FOR_YOU
from ..candidates.models import Candidate, CandidateKind
from ..candidates.states import CandidateState
from ..catalog.models import Certificate, Level, School
from ..catalog.services import SOCIAL_PSYCHOLOGY
from ..core import clock, idcard
from ..core.auth import User
from ..exams.demo import DEMO_SCHOOL, FEES, SUBJECT_NAME
from ..exams.models import ExamPlan, ExamRoom, Subject
from ..exams.services import plans, rooms
from ..extensions import db
from ..registrations import payments
from ..registrations import services as registration_services
from ..registrations.demo_payments import demo_voucher
from ..registrations.models import Registration
from ..sites.models import ExamSite
from .models import Proctor, ProctorAssignment, Seat
from .services import proctors, seats

#: the plan whose tickets can be downloaded now (exam in five days)
PLAN_SUFFIX = "第3次全国统一考试（社会心理服务）"
#: the plan whose exam was held three weeks ago: scores published, certificates issued
PAST_PLAN_SUFFIX = "第2次全国统一考试（社会心理服务）"
#: rooms of the open plan (not scheduled: registration is still open there)
OPEN_PLAN_ROOMS = [("实训楼 301 机房", 40), ("实训楼 302 机房", 40)]
#: rooms of the scheduled plan
ROOMS = [("实训楼 201 机房", 30), ("实训楼 202 机房", 30)]
#: rooms of the past plan
PAST_ROOMS = [("实训楼 101 机房", 30)]
#: (name, role, phone, birth date) of school1's proctors; the first one has the `proctor` account
PROCTORS = [("张伟", "主监考", "13800010001", "19800312"), ("李娜", "副监考", "13800010002", "19850621"),
            ("王芳", "主监考", "13800010003", "19790905"), ("刘洋", "副监考", "13800010004", "19880117")]
SEED = 20231


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def load_demo() -> dict[str, int]:
    """Rooms for the open plan; a scheduled plan with proctors; the proctor account's link."""
    org, school_user = _user("org"), _user("school1")
    school = db.session.scalar(select(School).where(School.code == DEMO_SCHOOL))
    if org is None or school_user is None or school is None or school_user.school_id != school.id:
        return {}
    certificate = db.session.scalar(select(Certificate).where(Certificate.code == SOCIAL_PSYCHOLOGY["code"]))
    junior = next(lv for lv in certificate.levels if lv.level == Level.JUNIOR)
    site = db.session.scalar(select(ExamSite).where(ExamSite.school_id == school.id,
                                                    ExamSite.certificate_level_id == junior.id))
    subjects = {s.certificate_level.level: s for s in db.session.scalars(
        select(Subject).where(Subject.name == SUBJECT_NAME))}
    if site is None or Level.JUNIOR not in subjects:
        return {}
    added = {"rooms": 0, "plans": 0, "placed": 0, "proctors": 0}

    open_plan = db.session.scalar(select(ExamPlan).where(ExamPlan.name.like("%第4次全国统一考试（社会心理服务）"))
                                  .order_by(ExamPlan.id.desc()))
    if open_plan is not None:
        added["rooms"] += _rooms(school_user, open_plan, site, subjects[Level.JUNIOR], OPEN_PLAN_ROOMS)

    # The past plan first: its scores are published (scores.demo) and its certificates issued.
    for suffix, exam_in_days, rooms_wanted, with_proctors in ((PAST_PLAN_SUFFIX, -21, PAST_ROOMS, False),
                                                              (PLAN_SUFFIX, 5, ROOMS, True)):
        plan = db.session.scalar(select(ExamPlan).where(ExamPlan.name.like(f"%{suffix}")))
        if plan is None:
            plan = _finished_registration_plan(org, certificate, subjects, suffix, exam_in_days)
            added["plans"] += 1
        added["rooms"] += _rooms(school_user, plan, site, subjects[Level.JUNIOR], rooms_wanted)
        # 吴桐 sat no earlier exam: the newcomer registers her for the open plan against quota
        names = [p[0] for p in PEOPLE if suffix != PAST_PLAN_SUFFIX or p[0] != LEFT_FOR_YOU]
        _register_and_pay(org, school_user, plan, site, names)
        db.session.flush()
        added["placed"] += seats.schedule(school_user, plan.id, site.id, seed=SEED).placed
        if with_proctors:
            added["proctors"] += _proctors(school_user, plan, site)
    return added


def _finished_registration_plan(org, certificate, subjects, suffix: str, exam_in_days: int) -> ExamPlan:
    """A plan whose registration and payment are over; the exam `exam_in_days` from today
    (5: tickets can be downloaded now; negative: the exam has been held)."""
    today = clock.now().date()
    exam_day = today + timedelta(days=exam_in_days)
    at = lambda days, hour: datetime.combine(exam_day + timedelta(days=days), time(hour))  # noqa: E731
    plan = plans.save_plan(org, {
        "name": f"{exam_day.year}年{suffix}", "certificate_id": certificate.id,
        "registration_start": at(-45, 9), "registration_end": at(-25, 17), "payment_deadline": at(-20, 17),
        "ticket_start": at(-7, 9), "ticket_end": at(1, 16), **FEES})
    plans.add_session(org, plan.id, {"date": exam_day, "start_time": time(9), "end_time": time(11),
                                     "subject_id": subjects[Level.JUNIOR].id})
    if Level.MIDDLE in subjects:
        plans.add_session(org, plan.id, {"date": exam_day, "start_time": time(14), "end_time": time(16),
                                         "subject_id": subjects[Level.MIDDLE].id})
    plans.publish_plan(org, plan.id)
    return plan


def _rooms(school_user, plan: ExamPlan, site: ExamSite, subject: Subject, wanted) -> int:
    made = 0
    for name, seat_count in wanted:
        exists = db.session.scalar(select(ExamRoom.id).where(ExamRoom.plan_id == plan.id,
                                                             ExamRoom.site_id == site.id, ExamRoom.name == name))
        if exists is None:
            rooms.save_room(school_user, {"plan_id": plan.id, "site_id": site.id, "subject_id": subject.id,
                                          "name": name, "seats": seat_count})
            made += 1
    return made


@contextmanager
def _as_of(moment: datetime):
    """The services' clock at a past moment of the plan, for replaying its finished steps."""
    real = clock.now
    clock.now = lambda: moment
    try:
        yield
    finally:
        clock.now = real


def _register_and_pay(org, school_user, plan: ExamPlan, site: ExamSite, names: list[str] | None = None) -> None:
    """The demo people (candidates.demo.PEOPLE, or `names` of them) of the school registered and
    paid, through the services."""
    registered = set(db.session.scalars(select(Registration.candidate_id).where(Registration.plan_id == plan.id)))
    todo = [c.id for c in db.session.scalars(
        select(Candidate).where(Candidate.school_id == school_user.school_id, Candidate.hidden.is_(False),
                                Candidate.name.in_(names or [person[0] for person in PEOPLE]),
                                Candidate.state == CandidateState.ACCURATE).order_by(Candidate.id))
            if c.id not in registered]
    if not todo:
        return
    with _as_of(plan.registration_start + timedelta(days=1)):
        ids = registration_services.register_candidates(school_user, plan.id, site.id, todo, [])
        made = db.session.scalars(select(Registration).where(Registration.id.in_(ids))).all()
        orders = []
        students = [r.id for r in made if r.kind == CandidateKind.STUDENT]
        if students:
            orders.append(payments.create_school_order(school_user, plan.id, students))
        orders += [payments.create_social_order(school_user, plan.id, r.candidate_id)
                   for r in made if r.kind == CandidateKind.SOCIAL]
        for order in orders:
            payments.submit_voucher(school_user, order.id, "演示银行回单.png", demo_voucher(order.reference),
                                    f"DEMO-{order.id:04d}")
            payments.confirm_order(org, order.id)


def _proctors(school_user, plan: ExamPlan, site: ExamSite) -> int:
    people = []
    for index, (name, role, phone, born) in enumerate(PROCTORS, start=1):
        first17 = f"500106{born}{(index * 2 + 1) % 1000:03d}"
        number = first17 + idcard.check_char(first17)
        proctor = db.session.scalar(select(Proctor).where(Proctor.school_id == school_user.school_id,
                                                          Proctor.id_number == number))
        if proctor is None:
            proctor = proctors.save_proctor(school_user, {"name": name, "role": role, "phone": phone,
                                                          "id_type": "居民身份证", "id_number": number})
        people.append(proctor)
    account = _user("proctor")
    if account is not None and people[0].user_id is None and db.session.scalar(
            select(Proctor.id).where(Proctor.user_id == account.id)) is None:
        people[0].user_id = account.id
    # Two proctors in every room and session that holds candidates: the tickets are released.
    held = db.session.execute(select(Seat.room_id, Seat.session_id).where(
        Seat.plan_id == plan.id, Seat.site_id == site.id).group_by(Seat.room_id, Seat.session_id)
        .order_by(Seat.session_id, Seat.room_id)).all()
    pairs = [people[0:2], people[2:4]]
    for index, (room_id, session_id) in enumerate(held):
        for proctor in pairs[index % 2]:
            taken = db.session.scalar(select(ProctorAssignment.id).where(
                ProctorAssignment.proctor_id == proctor.id, ProctorAssignment.session_id == session_id))
            if taken is None:
                proctors.assign(school_user, proctor.id, room_id, session_id)
    db.session.flush()
    return len(people)
