"""Exam rooms (考场): set up by a school at its approved sites for one subject of a plan."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ...catalog.models import CertificateLevel
from ...core import audit, permissions
from ...core.errors import DomainError
from ...core.roles import Role
from ...core.unique import is_unique_violation
from ...extensions import db
from ...sites.models import ExamSite
from ...sites.services import require_usable_site
from ...sites.states import SiteState
from ..models import ExamPlan, ExamRoom, ExamSession, Subject
from ..states import PlanState
from . import _parse
from .plans import lock_plan

ROOM_FIELDS = ["plan_id", "site_id", "subject_id", "name", "seats", "scheduled"]
MAX_SEATS = 999


def _room_subjects(plan: ExamPlan, site: ExamSite) -> list[Subject]:
    """The subjects a room of this plan at this site can be for: those the plan holds
    sessions of, at the site's certificate level."""
    seen: dict[int, Subject] = {}
    for session in plan.sessions:
        if session.subject.certificate_level_id == site.certificate_level_id:
            seen.setdefault(session.subject_id, session.subject)
    return list(seen.values())


def _plan_and_site(actor: Any, plan_id: Any, site_id: Any) -> tuple[ExamPlan, ExamSite]:
    if not plan_id:
        raise DomainError("请选择考试计划", field="plan_id")
    plan = lock_plan(permissions.get_for(actor, ExamPlan, plan_id), shared=True)  # not withdrawn meanwhile
    if plan.state != PlanState.PUBLISHED:
        raise DomainError(f"考试计划「{plan.name}」尚未发布，不能设置考场", field="plan_id")
    if not site_id:
        raise DomainError("请选择考核站点", field="site_id")
    site = permissions.get_for(actor, ExamSite, site_id)  # another school's site: 404
    require_usable_site(site, "设置考场")
    if site.certificate_level.certificate_id != plan.certificate_id:
        raise DomainError(f"站点「{site.name}」不是{plan.certificate.name}的考核站点", field="site_id")
    return plan, site


def _check_room_is_free(room: ExamRoom, plan: ExamPlan, site: ExamSite, subject: Subject) -> None:
    """One physical room (the same name at the same site) cannot serve two sessions that
    overlap in time, whatever plan or subject they belong to.

    The check reads rows that another request may be inserting at the same moment (the same
    room name in another plan): the site's row is locked first (SELECT ... FOR UPDATE on
    PostgreSQL; SQLite's BEGIN IMMEDIATE already lets one writer in at a time), so that two
    requests for one site check and insert one after the other, until the commit."""
    db.session.execute(select(ExamSite.id).where(ExamSite.id == site.id).with_for_update())
    mine = [s for s in plan.sessions if s.subject_id == subject.id]
    namesakes = db.session.scalars(
        select(ExamRoom).where(ExamRoom.site_id == site.id, func.lower(ExamRoom.name) == room.name.lower(),
                               ExamRoom.id != (room.id or 0))
        .options(joinedload(ExamRoom.plan).selectinload(ExamPlan.sessions)))
    for other in namesakes:
        if other.plan_id == plan.id and other.subject_id == subject.id:
            raise DomainError(f"本站点已有该科目的考场「{other.name}」", field="name")
        for theirs in other.plan.sessions:
            if theirs.subject_id != other.subject_id:
                continue
            for session in mine:
                if session.overlaps(theirs):
                    raise DomainError(
                        f"考场「{room.name}」在 {theirs.label}（{other.plan.name}）已被使用，"
                        f"与本科目场次 {session.date:%Y-%m-%d} {session.start_time:%H:%M}-{session.end_time:%H:%M} "
                        "时间重叠：同一考场不能同时用于两场考试", field="name")


def save_room(actor: Any, data: dict, room_id: int | None = None) -> ExamRoom:
    """Create or change a room. Until it is scheduled everything may change; a scheduled
    room only takes a larger seat count."""
    permissions.require(actor, "exams.rooms_manage")
    room = permissions.get_for(actor, ExamRoom, room_id) if room_id else None
    seats = _parse.integer(data, "seats", "座位数", 1, MAX_SEATS)
    if room is not None and room.scheduled:
        return _grow_scheduled_room(actor, room, data, seats)

    if room is None:
        plan, site = _plan_and_site(actor, data.get("plan_id"), data.get("site_id"))
    else:  # a room stays in its plan and site; a different one is a different room
        plan, site = _plan_and_site(actor, room.plan_id, room.site_id)
    subject = db.session.get(Subject, data.get("subject_id") or 0)
    if subject is None:
        raise DomainError("请选择科目", field="subject_id")
    if subject not in _room_subjects(plan, site):
        raise DomainError(f"「{plan.name}」在{site.certificate_level.label}没有科目「{subject.name}」的考试场次",
                          field="subject_id")
    name = _parse.text(data, "name", "考场名称或编号", 40)

    before = audit.snapshot(room, ROOM_FIELDS) if room else None
    room = room or ExamRoom(plan_id=plan.id, site_id=site.id, school_id=site.school_id)
    with db.session.no_autoflush:
        room.name, room.seats, room.subject_id = name, seats, subject.id
        _check_room_is_free(room, plan, site, subject)
    db.session.add(room)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # a concurrent request saved the same room first
        if not is_unique_violation(exc):
            raise
        raise DomainError(f"本站点已有该科目的考场「{name}」", field="name") from None
    audit.record(actor, "exam_room.update" if before else "exam_room.create", room,
                 before=before, after=audit.snapshot(room, ROOM_FIELDS))
    return room


def _grow_scheduled_room(actor: Any, room: ExamRoom, data: dict, seats: int) -> ExamRoom:
    changed = [label for key, label, current in (("subject_id", "科目", room.subject_id),
                                                  ("name", "考场名称", room.name))
               if key in data and data[key] not in (None, "") and str(data[key]).strip() != str(current)]
    if changed:
        raise DomainError(f"考场「{room.name}」已排考，只能增加座位数，不能修改{'、'.join(changed)}",
                          field="name" if "考场名称" in changed else "subject_id")
    if seats < room.seats:
        raise DomainError(f"考场「{room.name}」已排考，座位数只能增加：当前为 {room.seats} 个，"
                          f"不能改为 {seats} 个", field="seats")
    if seats != room.seats:
        before = audit.snapshot(room, ["seats"])
        room.seats = seats
        db.session.flush()
        audit.record(actor, "exam_room.update", room, before=before, after=audit.snapshot(room, ["seats"]))
    return room


def delete_room(actor: Any, room_id: int) -> None:
    """Remove a room that is not scheduled yet."""
    permissions.require(actor, "exams.rooms_manage")
    room = permissions.get_for(actor, ExamRoom, room_id)
    if room.scheduled:
        raise DomainError(f"考场「{room.name}」已排考，不能删除")
    audit.record(actor, "exam_room.delete", room, before=audit.snapshot(room, ROOM_FIELDS))
    db.session.delete(room)
    db.session.flush()


def get_room(actor: Any, room_id: int) -> ExamRoom:
    permissions.require(actor, "exams.rooms_view")
    return permissions.get_for(actor, ExamRoom, room_id)


def list_rooms(actor: Any, *, plan_id: int | None = None, site_id: int | None = None, q: str = ""):
    """Rooms in the actor's scope with plan, site and subject loaded, by plan, site and name."""
    permissions.require(actor, "exams.rooms_view")
    query = (permissions.scoped(actor, select(ExamRoom))
             .options(joinedload(ExamRoom.plan),
                      joinedload(ExamRoom.site),
                      joinedload(ExamRoom.subject).joinedload(Subject.certificate_level)
                      .joinedload(CertificateLevel.certificate))
             .order_by(ExamRoom.plan_id.desc(), ExamRoom.site_id, ExamRoom.subject_id, ExamRoom.name))
    if plan_id:
        query = query.where(ExamRoom.plan_id == plan_id)
    if site_id:
        query = query.where(ExamRoom.site_id == site_id)
    if q:
        query = query.where(ExamRoom.name.ilike(f"%{q.strip()}%"))
    return query


@dataclass
class SessionSeats:
    session: ExamSession
    seats: int = 0
    rooms: int = 0


@dataclass
class SiteSeats:
    """One site's seats per session of a plan (the sessions of the site's level)."""

    site: ExamSite
    sessions: list[SessionSeats] = field(default_factory=list)


def seat_summary(actor: Any, plan_id: int, site_id: int | None = None, limit: int = 50) -> list[SiteSeats]:
    """Per site of the actor's scope, how many rooms and seats each session of the plan has.

    A school sees each of its usable sites of the plan's certificate; the national roles
    see the sites that have rooms in the plan (at most `limit`; filter by site for others).
    """
    permissions.require(actor, "exams.rooms_view")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    sessions = list(db.session.scalars(
        select(ExamSession).where(ExamSession.plan_id == plan.id)
        .options(joinedload(ExamSession.subject).joinedload(Subject.certificate_level))
        .order_by(ExamSession.date, ExamSession.start_time, ExamSession.id)))
    totals_query = (permissions.scoped(actor, select(ExamRoom.site_id, ExamRoom.subject_id,
                                                     func.sum(ExamRoom.seats), func.count(ExamRoom.id)), ExamRoom)
                    .where(ExamRoom.plan_id == plan.id).group_by(ExamRoom.site_id, ExamRoom.subject_id))
    if site_id:
        totals_query = totals_query.where(ExamRoom.site_id == site_id)
    totals = {(s, subj): (int(seats or 0), n) for s, subj, seats, n in db.session.execute(totals_query)}

    sites_query = (permissions.scoped(actor, select(ExamSite))
                   .join(ExamSite.certificate_level)
                   .options(joinedload(ExamSite.certificate_level))
                   .where(CertificateLevel.certificate_id == plan.certificate_id)
                   .order_by(CertificateLevel.rank, ExamSite.name).limit(limit))
    with_rooms = select(ExamRoom.site_id).where(ExamRoom.plan_id == plan.id)
    if site_id:
        sites_query = sites_query.where(ExamSite.id == site_id)
    elif actor.role == Role.SCHOOL:
        sites_query = sites_query.where(ExamSite.id.in_(with_rooms) | (ExamSite.state == SiteState.APPROVED))
    else:
        sites_query = sites_query.where(ExamSite.id.in_(with_rooms))
    rows = []
    for site in db.session.scalars(sites_query):
        row = SiteSeats(site)
        for session in sessions:
            if session.subject.certificate_level_id == site.certificate_level_id:
                seats, rooms = totals.get((site.id, session.subject_id), (0, 0))
                row.sessions.append(SessionSeats(session, seats, rooms))
        rows.append(row)
    return rows


def room_form_choices(actor: Any, plan_id: int | None, site_id: int | None) -> dict[str, Any]:
    """What the room form offers at each step: plans, then the plan's sites, then subjects."""
    from ...sites import services as sites
    from . import plans

    permissions.require(actor, "exams.rooms_manage")
    choices: dict[str, Any] = {"plans": plans.published_plans(actor), "plan": None, "sites": [],
                               "site": None, "subjects": []}
    if plan_id:
        plan = permissions.get_for(actor, ExamPlan, plan_id)
        choices["plan"] = plan
        choices["sites"] = sites.usable_sites(actor, plan.certificate_id)
        if site_id:
            site = permissions.get_for(actor, ExamSite, site_id)
            choices["site"] = site
            choices["subjects"] = _room_subjects(plan, site)
    return choices

