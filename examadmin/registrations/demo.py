"""Demo registrations of school 5150000001 for the open plan, so that a newcomer sees step 6.

Two parts, run at two points of the demo (examadmin/demo.py orders them):

- `load_demo`, early: the school's candidates are verified (they have drawn demo photos, so the
  built-in check passes; one that still fails is confirmed by hand, as a coordinator would) and
  an approved 初级 application gives 心理健康教育 and 护理 places. The scheduled plans of the
  scheduling demo need both.
- `load_open_plan`, after the past plan's results are final and the hours demo has run: the open
  plan's registrations, made through the services, so that they obey the rules as of now. Those
  who passed 初级 (陈同学, 周杰, 郑海) are not registered for it again; 刘明 (failed) and 黄晓雯
  (absent) register as retakes known from the results (no quota place); 郑海, the social
  candidate, moves on to 中级 at the school's 中级 site (his supervision and practice hours come
  with the hours demo); 吴桐 is left for the browser journey and for the newcomer to register.
  The payment part of the demo (`demo_payments`) then pays some.

Idempotent, like the rest of the demo.
"""
from __future__ import annotations

from sqlalchemy import select

from ..candidates import verification
from ..candidates.demo import PEOPLE
from ..candidates.models import Candidate, CandidateKind
from ..candidates.states import CandidateState
from ..catalog.models import Level, Major
from ..core.auth import find_user
from ..exams.models import ExamPlan
from ..extensions import db
from ..pilots import services as pilots
from ..pilots.demo import BATCH
from ..pilots.models import Application, ApplicationPlan
from ..pilots.services import LineInput
from ..sites.models import ExamSite
from . import services
from .models import Registration
from .services import Entry

#: the candidate left unregistered (verified) for the newcomer and the browser journey
LEFT_FOR_YOU = "吴桐"
#: 初级 places of the demo school's approved application, per major
JUNIOR_PLACES = {"心理健康教育": 30, "护理": 20}
CONFIRM_NOTE = "演示数据：已核对身份证原件，信息无误"


def _verify_all(school_user) -> None:
    people = db.session.scalars(select(Candidate).where(Candidate.school_id == school_user.school_id,
                                                        Candidate.name.in_([p[0] for p in PEOPLE]),
                                                        Candidate.hidden.is_(False)).order_by(Candidate.id))
    for candidate in people:
        if candidate.state in (CandidateState.PENDING, CandidateState.NEEDS_REVIEW):
            if candidate.state == CandidateState.PENDING:
                verification.request_verification(school_user, candidate.id)
            if candidate.state == CandidateState.NEEDS_REVIEW:
                verification.confirm_manually(school_user, candidate.id, CONFIRM_NOTE)


def _junior_application(school_user) -> None:
    plan = db.session.scalar(select(ApplicationPlan).where(
        ApplicationPlan.province_id == school_user.province_id, ApplicationPlan.batch == BATCH)
        .order_by(ApplicationPlan.year.desc()))
    if plan is None:
        return
    level = next((lv for lv in pilots.open_levels(plan) if lv.level == Level.JUNIOR), None)
    if level is None or db.session.scalar(select(Application.id).where(
            Application.school_id == school_user.school_id, Application.year == plan.year,
            Application.certificate_level_id == level.id)):
        return
    majors = {m.name: m for m in db.session.scalars(select(Major).where(Major.school_type == school_user.school.type))}
    app = pilots.save_application(
        school_user, plan_id=plan.id, certificate_level_id=level.id,
        explanation="心理健康教育、护理专业学生参加初级培训与考核。", submit=True,
        lines=[LineInput(majors[name].id, 100, 6, places, row) for row, (name, places)
               in enumerate(JUNIOR_PLACES.items(), start=1)])
    if app.state.value == "市级审核中":
        pilots.pass_to_province(find_user("cq_city"), app.id)
    pilots.approve_application(find_user("cq_province"), app.id,
                               {line.id: JUNIOR_PLACES[line.major.name] for line in app.lines})


def load_demo() -> dict[str, int]:
    """School 5150000001 ready to register: its demo candidates verified, an approved 初级 application."""
    school_user = find_user("school1")
    _verify_all(school_user)
    _junior_application(school_user)
    return {}


def _site_of(school_user, level: Level) -> ExamSite | None:
    return db.session.scalar(select(ExamSite).where(ExamSite.school_id == school_user.school_id)
                             .where(ExamSite.certificate_level.has(level=level)).order_by(ExamSite.id))


def _accepted(school_user, plan: ExamPlan, site: ExamSite, people: list[Candidate]) -> list[int]:
    """The ids of those of `people` whom the registration rules accept at `site` now (nothing is written)."""
    if not people:
        return []
    checked = services.check_entries(school_user, school_user.school, plan,
                                     [Entry(c, site, row=index) for index, c in enumerate(people)])
    refused = {problem.row for problem in checked.problems}
    return [c.id for index, c in enumerate(people) if index not in refused]


def load_open_plan() -> dict[str, int]:
    """The open plan's registrations as the rules allow them today, then some paid (idempotent)."""
    school_user = find_user("school1")
    plan = next(iter(services.open_plans(school_user)), None) if school_user else None
    junior = _site_of(school_user, Level.JUNIOR) if school_user else None
    if plan is None or junior is None:
        return {"registrations": 0}
    registered = set(db.session.scalars(select(Registration.candidate_id).where(Registration.plan_id == plan.id)))
    people = [c for c in db.session.scalars(select(Candidate).where(
        Candidate.school_id == school_user.school_id, Candidate.name.in_([p[0] for p in PEOPLE]),
        Candidate.name != LEFT_FOR_YOU, Candidate.hidden.is_(False),
        Candidate.state == CandidateState.ACCURATE).order_by(Candidate.id)) if c.id not in registered]
    created = 0
    # 初级 for those who have not passed it (the rules refuse a passer; a failed result makes a retake)
    ids = _accepted(school_user, plan, junior, people)
    if ids:
        created += len(services.register_candidates(school_user, plan.id, junior.id, ids))
    # a social candidate who passed 初级 moves on to 中级, where the plan holds it and the rules let him
    middle = _site_of(school_user, Level.MIDDLE)
    social = [c for c in people if c.id not in ids and c.kind == CandidateKind.SOCIAL]
    if middle is not None and Level.MIDDLE in services.plan_levels(plan):
        middle_ids = _accepted(school_user, plan, middle, social)
        if middle_ids:
            created += len(services.register_candidates(school_user, plan.id, middle.id, middle_ids))
    from .demo_payments import load_demo as load_payments

    load_payments()
    return {"registrations": created}
