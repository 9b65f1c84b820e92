"""The one place that decides who may do what to which record.

Two questions, asked by every view, CLI command and job (through the services):
- `require(actor, action)`: may this role do this kind of thing at all? (403 otherwise)
- `get_for(actor, Model, id)` / `scoped(actor, select(Model))`: is this record inside the
  actor's scope? A record outside it answers 404, so its existence is not revealed.

A model decides its scope by a `scope_clause(actor)` classmethod when it needs one;
otherwise its scope columns decide: `school_id`, `city_id`, `province_id`, `candidate_id`,
`owner_id`. A model with neither is a programming error, not a silent "visible to all".
"""
from __future__ import annotations

import re

from typing import Any, TypeVar

from sqlalchemy import Select, false, select, true
from werkzeug.exceptions import Forbidden, NotFound

from .roles import NATIONAL, STAFF, Role

T = TypeVar("T")
#: the largest id an integer primary key holds (PostgreSQL INTEGER)
MAX_ID = 2**31 - 1

SA, ORG, PROV, CITY, SCHOOL, CAND = (
    Role.SYSADMIN, Role.ORG, Role.PROVINCE, Role.CITY, Role.SCHOOL, Role.CANDIDATE,
)

#: action -> the roles that may perform it (scope is checked separately, per record)
ACTIONS: dict[str, frozenset[Role]] = {
    "users.manage": frozenset({SA}),
    "catalog.view": STAFF,
    "catalog.manage_places": frozenset({SA}),  # provinces, cities, schools, majors
    "catalog.manage_certificates": frozenset({SA, ORG}),
    "audit.view": STAFF,
    "jobs.view": STAFF | {CAND},
    "sites.view": STAFF,
    "sites.apply": frozenset({SCHOOL}),
    "sites.review": frozenset({SA, ORG}),
    "exams.view": STAFF,  # drafts only for the org: ExamPlan.scope_clause
    "exams.manage": frozenset({SA, ORG}),  # subjects, plans, sessions, publishing
    "exams.rooms_view": frozenset({SA, ORG, SCHOOL}),
    "exams.rooms_manage": frozenset({SCHOOL}),
    # pilot applications and quota (DOMAIN.md §1)
    "pilots.view": STAFF,
    "pilots.manage_plans": frozenset({PROV}),
    "pilots.apply": frozenset({SCHOOL}),
    "pilots.review": frozenset({CITY, PROV}),
    "pilots.approve": frozenset({PROV}),
    "pilots.ledger": frozenset({SA, ORG, PROV, SCHOOL}),
    # candidates (DOMAIN.md §4)
    "candidates.view": STAFF,
    "candidates.manage": frozenset({SCHOOL}),
    "candidates.restore": frozenset({SA, ORG}),
    "candidates.verify": frozenset({SCHOOL}),
    "candidates.correct": frozenset({SCHOOL}),
    "candidates.review_corrections": frozenset({ORG}),  # DOMAIN.md: the org approves corrections
    # registration (DOMAIN.md §6)
    "registrations.view": STAFF,
    "registrations.manage": frozenset({SCHOOL}),
    "registrations.cancel_scheduled": frozenset({ORG}),
    # seat scheduling and proctors (DOMAIN.md §7); the sysadmin runs `examadmin schedule` at the console
    "scheduling.view": frozenset({SA, ORG, SCHOOL}),
    "scheduling.run": frozenset({SA, ORG, SCHOOL}),
    "proctors.manage": frozenset({SCHOOL}),
    "proctors.own": frozenset({Role.PROCTOR}),  # a proctor's own rooms and sessions
    # admission tickets, room materials, check-in, the candidate portal (DOMAIN.md §8)
    "tickets.download": frozenset({SA, ORG, SCHOOL, CAND}),  # a candidate only their own (scope)
    "tickets.materials": frozenset({SA, ORG, SCHOOL}),  # door lists, sign-in sheets, test-exam list
    "checkin.scan": frozenset({Role.PROCTOR, SCHOOL}),  # a proctor only their own rooms and sessions
    "portal.accounts": frozenset({SCHOOL}),  # candidate accounts and activation slips
    "portal.view": frozenset({CAND}),  # a candidate's own pages
    # payment orders (DOMAIN.md §6): the school pays, the org confirms
    "payments.view": frozenset({SA, ORG, SCHOOL}),
    "payments.manage": frozenset({SCHOOL}),
    "payments.review": frozenset({ORG}),
    # scores, results and their publication (DOMAIN.md §9)
    "scores.enter": frozenset({ORG}),
    "scores.publish": frozenset({ORG}),
    "scores.view": STAFF | {CAND},  # what each sees: Score.scope_clause (schools from 成绩公示中 on)
    # the menu's 成绩与结果 (plans and their steps); a candidate reaches their plan from 我的成绩
    "scores.plans": STAFF,
    "scores.object": frozenset({SCHOOL}),
    "scores.answer": frozenset({ORG}),
    # score statistics (DOMAIN.md §9): schools and provinces in their scope, from display on
    "scores.stats": frozenset({SA, ORG, PROV, SCHOOL}),
    # a candidate's own scores and result page (/scores/mine), once visible to candidates
    "scores.mine": frozenset({CAND}),
    # certificate issuance (DOMAIN.md §10); site_sign confirmations need the user's is_signer too
    "certificates.view": STAFF,
    "certificates.org_sign": frozenset({ORG}),
    "certificates.site_sign": frozenset({SCHOOL}),
    "certificates.issue": frozenset({SA, ORG}),  # SA: `examadmin certificates issue` at the console
    "certificates.seal": frozenset({ORG}),
    # certificates after issue (DOMAIN.md §10, §11): downloads, paper, revocation, history
    "certificates.download": frozenset({SCHOOL, ORG, CAND}),
    "certificates.revoke": frozenset({ORG}),
    "certificates.paper": frozenset({ORG}),
    "certificates.history": frozenset({SA, ORG, SCHOOL}),  # verifications and paper batches
    # hours after the certificate (DOMAIN.md §12): the holder records, their school or the org verifies
    "hours.record": frozenset({CAND}),  # a holder's own records (HoursRecord.scope_clause: their person)
    "hours.view": frozenset({SA, ORG, SCHOOL}),
    "hours.review": frozenset({ORG, SCHOOL}),  # a school its own candidates' records
    "hours.import": frozenset({ORG, SCHOOL}),  # training providers' lists; a school for its own candidates
    "hours.requirements": frozenset({ORG}),  # minimum supervision and practice hours per level
    # hours per provider: the org and sysadmin all; a province or city the schools in its area (column_scope)
    "hours.figures": frozenset({SA, ORG, PROV, CITY}),
    # re-registration after the certificate (DOMAIN.md §12): the holder applies, the city then the province review
    "renewals.apply": frozenset({CAND}),
    "renewals.view": STAFF,  # applications in the scope (a school sees its holders')
    "renewals.review": frozenset({CITY, PROV}),
    "renewals.approve": frozenset({PROV}),
    "renewals.stats": frozenset({SA, ORG, PROV}),  # certificates by validity, applications waiting; export
    "renewals.policy": frozenset({ORG}),  # validity years, window, hours per certificate
    "renewals.outbox": frozenset({SA}),  # e-mails that would have been sent without SMTP
}


class ForbiddenAction(Forbidden):
    description = "您的角色无权执行此操作。"


class NotInScope(NotFound):
    description = "找不到该记录，或它不在您的管理范围内。"


def can(actor: Any, action: str) -> bool:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    return actor.role in ACTIONS[action]


def require(actor: Any, action: str) -> None:
    """Raise 403 unless the actor's role may perform `action`."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}: declare it in core.permissions.ACTIONS")
    if not can(actor, action):
        raise ForbiddenAction()


def scope_clause(actor: Any, model: type) -> Any:
    """The SQL condition that limits `model` to the actor's scope."""
    hook = getattr(model, "scope_clause", None)
    if hook is not None:
        return hook(actor)
    return column_scope(actor, model)


def column_scope(actor: Any, model: type) -> Any:
    """The scope decided by the model's scope columns (models' own hooks may call this)."""
    role = actor.role
    if role in NATIONAL:
        return true()
    if role == Role.PROCTOR:
        return false()  # a proctor sees only what a model's own scope_clause grants (their rooms)
    columns = model.__table__.c
    if role == CAND:
        if "candidate_id" in columns:
            return model.candidate_id == actor.candidate_id
        if "owner_id" in columns:
            return model.owner_id == actor.id
        return false()
    if "owner_id" in columns and not any(c in columns for c in ("school_id", "city_id", "province_id")):
        return model.owner_id == actor.id
    if role == SCHOOL:
        return model.school_id == actor.school_id if "school_id" in columns else false()
    from ..catalog.models import School

    if role == CITY:
        if "city_id" in columns:
            return model.city_id == actor.city_id
        if "school_id" in columns:
            return model.school_id.in_(select(School.id).where(School.city_id == actor.city_id))
        return false()
    if role == PROV:
        if "province_id" in columns:
            return model.province_id == actor.province_id
        if "school_id" in columns:
            return model.school_id.in_(select(School.id).where(School.province_id == actor.province_id))
        return false()
    raise TypeError(f"{model.__name__} declares no scope: give it scope columns or scope_clause()")


def scoped(actor: Any, query: Select, model: type | None = None) -> Select:
    """Limit a select of `model` (default: the query's first entity) to the actor's scope."""
    if model is None:
        model = query.column_descriptions[0]["entity"]
    return query.where(scope_clause(actor, model))


_PLAIN_ID = re.compile(r"[0-9]{1,12}", re.ASCII)


def parse_id(value: Any) -> int | None:
    """An id as people and forms send it: plain ASCII digits (int() also reads ١, １ and 1_0)
    naming a value an id column can hold; None for anything else, which no row has."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value if value is not None else "").strip()
        if not _PLAIN_ID.fullmatch(text):
            return None
        number = int(text)
    return number if 0 < number <= MAX_ID else None


def get_for(actor: Any, model: type[T], record_id: Any, *, options: tuple = ()) -> T:
    """The record with this id if it lies in the actor's scope; 404 otherwise.

    `options` are loader options (joinedload ...) for what the caller will read of it, so that
    a hot path loads the record and its neighbours in one query instead of one per attribute."""
    from ..extensions import db

    record_id = parse_id(record_id)
    if record_id is None:  # an id no column can hold is simply not found (no overflow error)
        raise NotInScope()
    record = db.session.scalar(
        select(model).options(*options).where(model.id == record_id).where(scope_clause(actor, model))
    )
    if record is None:
        raise NotInScope()
    return record


def scope_of(entity: Any) -> dict[str, int | None]:
    """The school, city and province an entity belongs to, for audit records."""
    from ..catalog.models import School

    if entity is None:
        return {"school_id": None, "city_id": None, "province_id": None}
    if isinstance(entity, School):
        return {"school_id": entity.id, "city_id": entity.city_id, "province_id": entity.province_id}
    school_id = getattr(entity, "school_id", None)
    city_id = getattr(entity, "city_id", None)
    province_id = getattr(entity, "province_id", None)
    if school_id is not None and (city_id is None or province_id is None):
        from ..extensions import db

        school = db.session.get(School, school_id)
        if school is not None:
            city_id = city_id or school.city_id
            province_id = province_id or school.province_id
    return {"school_id": school_id, "city_id": city_id, "province_id": province_id}
