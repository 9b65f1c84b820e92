"""Factories of scheduled candidates for the ticket, check-in and portal tests.

The scheduling services are written in parallel with these tests, so seats and ticket
numbers are inserted here directly, in the shape scheduling leaves them: a registration
in 已排考 with one Seat per subject and one AdmissionTicket.
"""
from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from datetime import datetime

from PIL import Image

from examadmin.candidates.models import Candidate, CandidateKind, IdType
from examadmin.catalog.models import Level
from examadmin.core import clock
from examadmin.core.storage import get_storage
from examadmin.exams.models import ExamPlan, ExamRoom, ExamSession, Subject
from examadmin.extensions import db
from examadmin.registrations.models import Registration
from examadmin.registrations.states import RegistrationState
from examadmin.scheduling.models import AdmissionTicket, Proctor, ProctorAssignment, Seat
from examadmin.sites.models import ExamSite
from tests.candidates.helpers import id_number
from tests.exams.factories import EXAM_DAY, make_plan, make_room, make_subject
from tests.sites.factories import make_site, make_user

_numbers = itertools.count(1)
#: inside the factory plans' ticket window (2030-06-13 09:00 to 2030-06-22 16:00)
IN_WINDOW = datetime(2030, 6, 15, 10, 0)
#: the factory session runs 09:00-11:00 on EXAM_DAY
DURING_SESSION = datetime.combine(EXAM_DAY, datetime.min.time()).replace(hour=9, minute=10)
AFTER_SESSION = datetime.combine(EXAM_DAY, datetime.min.time()).replace(hour=11, minute=5)

NAMES = ["陈晓明", "李娜", "王强", "赵敏", "刘洋", "孙丽", "周杰", "吴芳", "郑凯", "冯雪"]


def photo_key(school_id: int, color=(180, 160, 140)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (358, 441), color).save(buffer, "JPEG", quality=85)
    storage = get_storage()
    return storage.save(storage.new_key(f"photos/{school_id}", ".jpg"), buffer.getvalue())


def make_candidate(school_id: int, name: str, *, photo: bool = True, class_name: str = "心理2201") -> Candidate:
    candidate = Candidate(school_id=school_id, kind=CandidateKind.STUDENT, name=name, id_type=IdType.RESIDENT,
                          id_number=id_number(), gender="男", class_name=class_name,
                          photo_key=photo_key(school_id) if photo else None)
    db.session.add(candidate)
    db.session.flush()
    return candidate


@dataclass
class Scheduled:
    school_user: object
    plan: ExamPlan
    site: ExamSite
    subject: Subject
    session: ExamSession
    room: ExamRoom
    registrations: list[Registration] = field(default_factory=list)
    seats: list[Seat] = field(default_factory=list)
    tickets: list[AdmissionTicket] = field(default_factory=list)

    @property
    def school_id(self) -> int:
        return self.school_user.school_id


def ticket_number(plan: ExamPlan, site: ExamSite, room: ExamRoom, seat: int) -> str:
    return f"2030{plan.id % 1000:03d}{site.id % 1000:03d}{room.id % 1000:03d}{seat:03d}{next(_numbers) % 10}"


def place(s: Scheduled, candidate: Candidate, seat_number: int, *, room: ExamRoom | None = None,
          session: ExamSession | None = None) -> Registration:
    """A paid registration of the candidate, scheduled into a seat with a ticket number."""
    room, session = room or s.room, session or s.session
    registration = Registration(
        plan_id=s.plan.id, candidate_id=candidate.id, school_id=candidate.school_id, site_id=s.site.id,
        certificate_level_id=s.site.certificate_level_id, id_type=candidate.id_type, id_number=candidate.id_number,
        kind=candidate.kind, fee=s.plan.fee_for(Level.JUNIOR), state=RegistrationState.SCHEDULED,
        paid_at=clock.now())
    db.session.add(registration)
    db.session.flush()
    seat = Seat(registration_id=registration.id, plan_id=s.plan.id, school_id=candidate.school_id,
                site_id=s.site.id, subject_id=room.subject_id, session_id=session.id, room_id=room.id,
                seat_number=seat_number)
    ticket = AdmissionTicket(registration_id=registration.id, plan_id=s.plan.id, school_id=candidate.school_id,
                             ticket_number=ticket_number(s.plan, s.site, room, seat_number))
    db.session.add_all([seat, ticket])
    room.scheduled = True
    db.session.flush()
    s.registrations.append(registration)
    s.seats.append(seat)
    s.tickets.append(ticket)
    return registration


def make_scheduled(count: int = 3, *, photos: bool = True, plan_overrides: dict | None = None,
                   proctors: int = 2) -> Scheduled:
    """A school with an approved 初级 site, a published plan with one 机考 session on EXAM_DAY
    09:00-11:00, one room of 30 seats and `count` candidates seated 1..count, and `proctors`
    proctors in the room (two release the site's tickets under the default rule)."""
    school_user = make_user("school")
    subject = make_subject(Level.JUNIOR)
    plan = make_plan([(subject, "09:00", "11:00")], **(plan_overrides or {}))
    site = make_site(school_user, Level.JUNIOR)
    room = make_room(school_user, plan, site, subject, name="实训楼 301")
    s = Scheduled(school_user, plan, site, subject, plan.sessions[0], room)
    for i in range(count):
        candidate = make_candidate(school_user.school_id, NAMES[i % len(NAMES)] + ("" if i < len(NAMES) else str(i)),
                                   photo=photos)
        place(s, candidate, i + 1)
    for i in range(proctors):
        proctor = Proctor(school_id=s.school_id, name=f"监考{i + 1}", phone="13800138000", id_number=id_number())
        db.session.add(proctor)
        db.session.flush()
        db.session.add(ProctorAssignment(proctor_id=proctor.id, room_id=room.id, session_id=s.session.id,
                                         school_id=s.school_id))
    db.session.flush()
    return s


def make_proctor_user(s: Scheduled, *, room: ExamRoom | None = None, session: ExamSession | None = None):
    """A proctor account of the school assigned to the room and session (default: the factory's)."""
    from examadmin.core import auth
    from examadmin.core.auth import SYSTEM
    from tests.conftest import PASSWORD

    n = next(_numbers)
    user = auth.create_user(SYSTEM, username=f"tproctor{n}", name=f"监考员{n}", role="proctor", password=PASSWORD,
                            school_id=s.school_id, must_change_password=False)
    proctor = Proctor(school_id=s.school_id, name=user.name, phone="13800138000", id_number=id_number(),
                      user_id=user.id)
    db.session.add(proctor)
    db.session.flush()
    db.session.add(ProctorAssignment(proctor_id=proctor.id, room_id=(room or s.room).id,
                                     session_id=(session or s.session).id, school_id=s.school_id))
    db.session.flush()
    return user

