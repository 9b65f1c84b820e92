"""Registrations for the payment and lapse tests, made directly (the registration services
are built in parallel): rows inserted as the registration step leaves them, places taken
through `pilots.quota` as it takes them.
"""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from examadmin.candidates.models import Candidate, CandidateKind, IdType
from examadmin.candidates.states import CandidateState
from examadmin.catalog.models import Level
from examadmin.extensions import db
from examadmin.pilots import quota
from examadmin.pilots import services as pilots
from examadmin.registrations.models import Registration
from examadmin.registrations.states import RegistrationState
from tests.candidates.helpers import id_number
from tests.exams.factories import make_plan, make_subject
from tests.pilots.conftest import apply, major
from tests.pilots.conftest import make_plan as make_application_plan
from tests.sites.factories import level_of, make_site, make_user

#: the factory plans' payment deadline (tests/exams/factories.plan_data)
DEADLINE = datetime(2030, 5, 31, 17, 0)
BEFORE_DEADLINE = datetime(2030, 5, 20, 10, 0)
AFTER_DEADLINE = datetime(2030, 6, 1, 9, 0)


def make_world(places: int = 10, level: Level = Level.JUNIOR, school_user=None, **plan_overrides) -> SimpleNamespace:
    """A school with a user, an approved site, a published exam plan of 2030 and an approved
    quota line of `places` for its 心理健康教育 students."""
    school_user = school_user or make_user("school")
    site = make_site(school_user, level)
    plan = make_plan([(make_subject(level), "09:00", "11:00")], **plan_overrides)
    application_plan = make_application_plan(year=plan.registration_start.year)
    lvl = level_of(level)
    from examadmin.pilots.services import LineInput

    application = apply(school_user, application_plan, lvl=lvl, lines=[LineInput(major().id, 100, 5, 50, 1)],
                        submit=True)
    pilots.approve_application(make_user("province"), application.id, {application.lines[0].id: places})
    return SimpleNamespace(school_user=school_user, school_id=school_user.school_id, site=site, plan=plan,
                           level=lvl, line=application.lines[0], org=make_user("org"))


def make_candidate(world, *, kind: CandidateKind = CandidateKind.STUDENT, name: str = "张三") -> Candidate:
    candidate = Candidate(school_id=world.school_id, kind=kind, name=name, id_type=IdType.RESIDENT,
                          id_number=id_number(), gender="男",
                          major_id=major().id if kind == CandidateKind.STUDENT else None,
                          state=CandidateState.ACCURATE)
    db.session.add(candidate)
    db.session.flush()
    return candidate


def register(world, candidate: Candidate | None = None, *, kind: CandidateKind = CandidateKind.STUDENT,
             name: str = "张三", retake: bool = False) -> Registration:
    """A 待缴费 registration; a school student who is not a retaker takes a place of the line."""
    candidate = candidate or make_candidate(world, kind=kind, name=name)
    line_id = None
    if candidate.kind == CandidateKind.STUDENT and not retake:
        line_id = quota.take_place(world.school_id, world.plan.registration_start.year, world.level.id,
                                   candidate.major_id).id
    registration = Registration(
        plan_id=world.plan.id, candidate_id=candidate.id, school_id=world.school_id, site_id=world.site.id,
        certificate_level_id=world.level.id, id_type=candidate.id_type, id_number=candidate.id_number,
        kind=candidate.kind, is_retake=retake, quota_line_id=line_id,
        fee=world.plan.fee_for(world.level.level), state=RegistrationState.UNPAID,
        created_by_id=world.school_user.id)
    db.session.add(registration)
    db.session.flush()
    return registration


def used(world) -> int:
    db.session.refresh(world.line)
    return world.line.used
