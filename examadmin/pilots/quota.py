"""The quota ledger: approved, used and remaining places per school, year, level and major.

A place is taken and given back with one conditional UPDATE each, so that two requests
racing for the last place cannot both get it: the database decides, on SQLite (one
writer at a time) and on PostgreSQL (the second UPDATE waits for the first and re-checks
its condition). A CHECK constraint on the table backs this up.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import joinedload

from ..catalog.models import CertificateLevel, School
from ..core import permissions
from ..core.errors import DomainError
from ..core.roles import Role
from ..extensions import db
from .models import Application, ApplicationLine
from .states import ApplicationState


def find_line(school_id: int, year: int, certificate_level_id: int, major_id: int | None) -> ApplicationLine | None:
    """The approved line a student of this major uses: the major's own, or a 不分专业 line."""
    query = (select(ApplicationLine).join(Application)
             .where(Application.school_id == school_id, Application.year == year,
                    Application.certificate_level_id == certificate_level_id,
                    Application.state == ApplicationState.APPROVED)
             .where(or_(ApplicationLine.major_id == major_id, ApplicationLine.major_id.is_(None)))
             .order_by(ApplicationLine.major_id.is_(None)))  # the major's own line first
    return db.session.scalars(query).first()


def take_place(school_id: int, year: int, certificate_level_id: int, major_id: int | None) -> ApplicationLine:
    """Use one place of the matching approved line, or refuse when none is left."""
    line = find_line(school_id, year, certificate_level_id, major_id)
    if line is None:
        raise DomainError("该专业没有已审核通过的试点申报指标，不能以本校考生身份报考（可作为社会考生报考）")
    taken = db.session.execute(
        update(ApplicationLine)
        .where(ApplicationLine.id == line.id, ApplicationLine.approved.is_not(None),
               ApplicationLine.used < ApplicationLine.approved)
        .values(used=ApplicationLine.used + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise DomainError(f"「{line.major_label}」的指标已用完（批准 {line.approved} 人），无法再报考")
    db.session.refresh(line)
    return line


def take_places(line_id: int, count: int) -> bool:
    """Use `count` places of one line at once, all or none (a bulk registration takes a
    line's places in one conditional UPDATE, not one per row). False when too few are left."""
    if count <= 0:
        return True
    taken = db.session.execute(
        update(ApplicationLine)
        .where(ApplicationLine.id == line_id, ApplicationLine.approved.is_not(None),
               ApplicationLine.used + count <= ApplicationLine.approved)
        .values(used=ApplicationLine.used + count)
        .execution_options(synchronize_session=False)
    ).rowcount
    return taken == 1


def give_back_place(line_id: int) -> None:
    """Return one place to a line (a registration was cancelled or lapsed)."""
    give_back_places(line_id, 1)


def give_back_places(line_id: int, count: int) -> None:
    """Return `count` places to a line at once (never below zero)."""
    if count <= 0:
        return
    db.session.execute(
        update(ApplicationLine).where(ApplicationLine.id == line_id)
        .values(used=case((ApplicationLine.used > count, ApplicationLine.used - count), else_=0))
        .execution_options(synchronize_session=False)
    )


def ledger(actor: Any, *, year: int | None = None, school_id: int | None = None, level_id: int | None = None):
    """A scoped select of ledger lines (approved counts set), with what the table shows loaded."""
    permissions.require(actor, "pilots.ledger")
    query = (select(ApplicationLine).join(Application)
             .where(ApplicationLine.approved.is_not(None))
             .where(permissions.scope_clause(actor, Application))
             .options(joinedload(ApplicationLine.major),
                      joinedload(ApplicationLine.application).joinedload(Application.school),
                      joinedload(ApplicationLine.application).joinedload(Application.certificate_level)
                      .joinedload(CertificateLevel.certificate))
             .join(School, School.id == Application.school_id)
             .order_by(Application.year.desc(), School.code, Application.certificate_level_id, ApplicationLine.id))
    if year:
        query = query.where(Application.year == year)
    if school_id:
        query = query.where(Application.school_id == school_id)
    if level_id:
        query = query.where(Application.certificate_level_id == level_id)
    return query


#: the most schools the ledger's 院校 filter lists (a province's pilot schools stay far below it)
MAX_FILTER_SCHOOLS = 1000


def ledger_filters(actor: Any) -> tuple[list[School], list[CertificateLevel]]:
    """The ledger's filter choices: the schools in the actor's scope with approved lines (none for a
    school: its ledger is its own) and the certificate levels."""
    permissions.require(actor, "pilots.ledger")
    schools: list[School] = []
    if actor.role != Role.SCHOOL:
        with_lines = (select(Application.school_id).join(ApplicationLine)
                      .where(ApplicationLine.approved.is_not(None))
                      .where(permissions.scope_clause(actor, Application)))
        schools = list(db.session.scalars(select(School).where(School.id.in_(with_lines))
                                          .order_by(School.name).limit(MAX_FILTER_SCHOOLS)))
    levels = list(db.session.scalars(select(CertificateLevel).join(CertificateLevel.certificate)
                                     .order_by(CertificateLevel.certificate_id, CertificateLevel.rank)))
    return schools, levels


LEDGER_HEADERS = ["年度", "学校标识码", "院校", "证书", "等级", "专业", "批准人数", "已使用", "剩余"]


def ledger_row(line: ApplicationLine) -> list:
    app = line.application
    return [app.year, app.school.code, app.school.name, app.certificate_level.certificate.name,
            app.certificate_level.level.value, line.major_label, line.approved, line.used, line.remaining]
