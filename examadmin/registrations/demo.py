"""Demo registrations of school 5150000001 for the open plan, so that a newcomer sees step 6.

The school's candidates are verified (they have drawn demo photos, so the built-in check
passes; one that still fails is confirmed by hand, as a coordinator would), an approved
初级 application gives 心理健康教育 and 护理 places, and all but one candidate (吴桐, left
for the browser journey and for the newcomer to register) are registered at the school's
初级 site. The payment part of the demo (`demo_payments`) then pays some.
Idempotent, like the rest of the demo.
"""
from __future__ import annotations


from sqlalchemy import select

from ..candidates import verification
from ..candidates.demo import PEOPLE
from ..candidates.models import Candidate
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
    """Verified candidates of 5150000001 registered for the open plan's 初级 (idempotent)."""
    school_user = find_user("school1")
    _verify_all(school_user)
    _junior_application(school_user)
    plan = next(iter(services.open_plans(school_user)), None)
    site = db.session.scalar(select(ExamSite).where(ExamSite.school_id == school_user.school_id)
                             .where(ExamSite.certificate_level.has(level=Level.JUNIOR)))
    created = 0
    if plan is not None and site is not None:
        registered = set(db.session.scalars(select(Registration.candidate_id).where(Registration.plan_id == plan.id)))
        wanted = db.session.scalars(select(Candidate.id).where(
            Candidate.school_id == school_user.school_id, Candidate.name.in_([p[0] for p in PEOPLE]),
            Candidate.name != LEFT_FOR_YOU, Candidate.state == CandidateState.ACCURATE)).all()
        todo = [cid for cid in wanted if cid not in registered]
        if todo:
            created = len(services.register_candidates(school_user, plan.id, site.id, todo))
        _load_payments(plan)
    return {"registrations": created}


def _load_payments(plan: ExamPlan) -> None:
    """The payment part of the demo: some paid in a confirmed order, one waiting, the rest unpaid."""
    from .demo_payments import load_demo as load_payments

    load_payments()