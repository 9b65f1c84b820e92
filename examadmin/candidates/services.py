"""Candidates one at a time: add, change, list, hide and restore (DOMAIN.md §4)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..catalog.models import School
from ..core import audit, clock, idcard, permissions
from ..core.counts import capped_counts
from ..core.errors import DomainError
from ..core.roles import Role
from ..core.unique import unique_writes
from ..extensions import db
from .fields import EDITABLE_WHEN_LOCKED, LABELS, SchoolContext, check_fields
from .models import Candidate
from .states import CANDIDATE, CandidateState

FIELDS = ["name", "id_type", "id_number", "gender", "birth_date", "ethnicity", "phone", "kind", "major_id",
          "class_name", "student_number", "enrolment_year"]

#: who restores a deleted candidate, named in the refusal a school sees
RESTORER = "评价组织"


def hidden_message(number: str) -> str:
    return (f"证件号码 {idcard.mask(number)} 的考生已被本校删除，不能再次录入；"
            f"如需恢复，请联系{RESTORER}在「考生管理」中恢复")


def _school_of(actor: Any) -> School:
    school = db.session.get(School, actor.school_id) if actor.school_id else None
    if school is None:
        raise DomainError("只有院校用户可以录入考生")
    return school


def _raise_first(checked) -> None:
    if checked.errors:
        field, message = checked.errors[0]
        raise DomainError(message, field="major_id" if field in ("major_code", "major_name") else field)


def add_candidate(actor: Any, raw: dict) -> Candidate:
    """Add one candidate from the form; the same rules as the Excel import."""
    permissions.require(actor, "candidates.manage")
    school = _school_of(actor)
    checked = check_fields(SchoolContext(school), raw)
    _raise_first(checked)
    values = checked.values

    def check_number_free() -> None:
        existing = db.session.scalar(select(Candidate).where(
            Candidate.school_id == school.id, Candidate.id_type == values["id_type"],
            Candidate.id_number == values["id_number"]))
        if existing is not None:
            if existing.hidden:
                raise DomainError(hidden_message(values["id_number"]), field="id_number")
            raise DomainError(f"本校已有证件号码为 {idcard.mask(values['id_number'])} 的考生（{existing.name}）",
                              field="id_number")

    check_number_free()
    candidate = Candidate(school_id=school.id, **values)
    with unique_writes(check_number_free, field="id_number"):
        db.session.add(candidate)
    audit.record(actor, "candidate.create", candidate, after=audit.snapshot(candidate, FIELDS))
    return candidate


def update_candidate(actor: Any, candidate_id: int, raw: dict) -> Candidate:
    """Change a candidate; at 信息准确 name and ID number are locked (a correction request changes them)."""
    permissions.require(actor, "candidates.manage")
    candidate = get_candidate(actor, candidate_id)
    if candidate.state == CandidateState.VERIFYING:
        raise DomainError("考生正在认证中，请等认证结果出来后再修改")
    checked = check_fields(SchoolContext(candidate.school), raw)
    _raise_first(checked)
    values = checked.values
    if candidate.locked:
        for name in ("name", "id_type", "id_number"):
            if values[name] != getattr(candidate, name):
                raise DomainError(f"考生信息已认证，{LABELS[name]}已锁定：如需修改请提交信息更正申请（附函件）",
                                  field=name)
        values = {k: v for k, v in values.items() if k in EDITABLE_WHEN_LOCKED}

    def check_number_free() -> None:
        clash = db.session.scalar(select(Candidate.id).where(
            Candidate.school_id == candidate.school_id, Candidate.id_type == values["id_type"],
            Candidate.id_number == values["id_number"], Candidate.id != candidate.id))
        if clash:
            raise DomainError(f"本校已有证件号码为 {idcard.mask(values['id_number'])} 的考生", field="id_number")

    if not candidate.locked and (values["id_type"], values["id_number"]) != (candidate.id_type, candidate.id_number):
        check_number_free()
    before = audit.snapshot(candidate, FIELDS)
    with unique_writes(check_number_free, field="id_number"):
        for name, value in values.items():
            setattr(candidate, name, value)
    after = audit.snapshot(candidate, FIELDS)
    if after != before:
        if candidate.state == CandidateState.NEEDS_REVIEW:
            CANDIDATE.move(candidate, "reset", actor)
            candidate.verify_reasons = None
        audit.record(actor, "candidate.update", candidate, before=before, after=after)
    return candidate


def get_candidate(actor: Any, candidate_id: int, *, include_hidden: bool = False) -> Candidate:
    permissions.require(actor, "candidates.view")
    candidate = permissions.get_for(actor, Candidate, candidate_id)
    if candidate.hidden and not (include_hidden and actor.role in (Role.ORG, Role.SYSADMIN)):
        raise permissions.NotInScope()
    return candidate


def list_candidates(actor: Any, *, q: str = "", state: str = "", class_name: str = "", kind: str = "",
                    hidden: bool = False, school_id: int | None = None):
    """Candidates in scope, searched by name, ID number, class or student number."""
    permissions.require(actor, "candidates.view")
    query = (permissions.scoped(actor, select(Candidate))
             .options(selectinload(Candidate.major), selectinload(Candidate.school))
             .order_by(Candidate.id.desc()))
    if hidden and actor.role in (Role.ORG, Role.SYSADMIN):
        query = query.where(Candidate.hidden.is_(True))
    else:
        query = query.where(Candidate.hidden.is_(False))
    if q:
        text = q.strip()
        number = idcard.normalise(text)
        query = query.where(or_(Candidate.name.contains(text), Candidate.id_number == number,
                                Candidate.student_number == text))
    if state:
        query = query.where(Candidate.state == CandidateState(state))
    if class_name:
        query = query.where(Candidate.class_name == class_name)
    if kind:
        query = query.where(Candidate.kind == kind)
    if school_id:
        query = query.where(Candidate.school_id == school_id)
    return query


def class_names(actor: Any) -> list[str]:
    """The classes offered as a filter: a school's own. A class name (「护理2301」) means something
    only inside its school, and listing every class of a province or the country would read
    every candidate on each page."""
    if actor.role != Role.SCHOOL:
        return []
    query = (select(Candidate.class_name).where(permissions.scope_clause(actor, Candidate))
             .where(Candidate.class_name != "", Candidate.hidden.is_(False)).distinct().order_by(Candidate.class_name))
    return list(db.session.scalars(query))


def state_counts(actor: Any) -> dict[str, int]:
    """Visible candidates per state, each count capped (core.counts)."""
    query = select(Candidate).where(permissions.scope_clause(actor, Candidate), Candidate.hidden.is_(False))
    return {state.value: n for state, n in capped_counts(query, Candidate.state, CandidateState).items()}


def hide_candidate(actor: Any, candidate_id: int) -> Candidate:
    """删除: the candidate disappears from every list; the row and its ID number stay."""
    permissions.require(actor, "candidates.manage")
    candidate = get_candidate(actor, candidate_id)
    candidate.hidden, candidate.hidden_at = True, clock.now()
    audit.record(actor, "candidate.hide", candidate, before={"hidden": False}, after={"hidden": True})
    return candidate


def restore_candidate(actor: Any, candidate_id: int) -> Candidate:
    """The org brings a deleted candidate back."""
    permissions.require(actor, "candidates.restore")
    candidate = get_candidate(actor, candidate_id, include_hidden=True)
    if not candidate.hidden:
        raise DomainError("该考生未被删除")
    candidate.hidden, candidate.hidden_at = False, None
    audit.record(actor, "candidate.restore", candidate, before={"hidden": True}, after={"hidden": False})
    return candidate
