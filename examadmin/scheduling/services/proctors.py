"""Proctors (监考人员): registered per school, assigned to rooms per session, with an
optional account of role proctor for check-in; and the rule that a site's admission
tickets are released only when each scheduled room has enough proctors.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ...candidates.fields import MOBILE, mobile_number, person_name
from ...candidates.models import IdType
from ...catalog.models import School
from ...core import audit, auth, clock, idcard, permissions
from ...core.audit import AuditLog
from ...core.auth import SYSTEM, User
from ...core.errors import DomainError
from ...core.excel import write_table
from ...core.locks import lock_row
from ...core.roles import Role
from ...core.unique import unique_writes
from ...exams.models import ExamPlan, ExamRoom, ExamSession
from ...extensions import db
from ...sites.models import ExamSite
from ..models import Proctor, ProctorAssignment, ProctorRole, Seat

PROCTOR_FIELDS = ["name", "phone", "id_type", "id_number", "role", "active"]


def _snapshot(proctor: Proctor) -> dict[str, Any]:
    data = audit.snapshot(proctor, PROCTOR_FIELDS)
    data["id_number"] = idcard.mask(proctor.id_number)  # audit entries never hold a whole number
    return data


# ---- proctors ----------------------------------------------------------------------------------

def save_proctor(actor: Any, data: dict, proctor_id: Any = None) -> Proctor:
    """Register a proctor of the actor's school, or change one."""
    permissions.require(actor, "proctors.manage")
    proctor = permissions.get_for(actor, Proctor, proctor_id) if proctor_id else None
    name = person_name(data.get("name"))  # as a candidate's: 李 丽 is 李丽
    if not name:
        raise DomainError("请填写姓名", field="name")
    if len(name) > 50:
        raise DomainError("姓名不能超过 50 个字", field="name")
    # stored as 11 digits like a candidate's, so that it is shown, masked and dialled alike
    phone = mobile_number(str(data.get("phone") or ""))
    if not phone:
        raise DomainError("请填写手机号码", field="phone")
    if not MOBILE.match(phone):
        raise DomainError(f"手机号码「{str(data.get('phone'))[:20]}」应为 11 位手机号", field="phone")
    try:
        id_type = IdType(data.get("id_type") or IdType.RESIDENT)
    except ValueError:
        raise DomainError("请选择证件类型", field="id_type")
    number = idcard.normalise(data.get("id_number"))
    if not number:
        raise DomainError("请填写证件号码", field="id_number")
    if id_type == IdType.RESIDENT:
        try:
            idcard.parse(number)
        except idcard.IdCardError as exc:
            raise DomainError(str(exc), field="id_number")
    elif not 5 <= len(number) <= 30:
        raise DomainError("证件号码长度应为 5-30 位", field="id_number")
    try:
        role = ProctorRole(data.get("role") or ProctorRole.CHIEF)
    except ValueError:
        raise DomainError("请选择监考角色（主监考或副监考）", field="role")

    def check_unique() -> None:
        duplicate = select(Proctor.id).where(Proctor.school_id == actor.school_id, Proctor.id_type == id_type,
                                             Proctor.id_number == number)
        if proctor is not None:
            duplicate = duplicate.where(Proctor.id != proctor.id)
        if db.session.scalar(duplicate):
            raise DomainError(f"本校已登记证件号码为 {idcard.mask(number)} 的监考人员", field="id_number")

    check_unique()
    before = _snapshot(proctor) if proctor else None
    # two requests registering the same person at once: the second reads the message above
    with unique_writes(check_unique, field="id_number"):
        proctor = proctor or Proctor(school_id=actor.school_id)
        proctor.name, proctor.phone, proctor.id_type, proctor.id_number = name, phone, id_type, number
        proctor.role = role
        if "active" in data:
            proctor.active = bool(data["active"])
        db.session.add(proctor)
    audit.record(actor, "proctor.update" if before else "proctor.create", proctor, before=before,
                 after=_snapshot(proctor))
    return proctor


def list_proctors(actor: Any, q: str = "", active_only: bool = False):
    """The proctors of the actor's scope, by name."""
    permissions.require(actor, "scheduling.view")
    query = permissions.scoped(actor, select(Proctor)).order_by(Proctor.school_id, Proctor.name, Proctor.id)
    if q:
        query = query.where(Proctor.name.ilike(f"%{q.strip()[:50]}%"))
    if active_only:
        query = query.where(Proctor.active.is_(True))
    return query


def get_proctor(actor: Any, proctor_id: Any) -> Proctor:
    permissions.require(actor, "scheduling.view")
    return permissions.get_for(actor, Proctor, proctor_id)


def create_account(actor: Any, proctor_id: Any) -> tuple[User, str]:
    """Give a proctor an account of role proctor (for check-in); returns it and its first password.

    The password is shown once; it must be changed at the first sign-in.
    """
    permissions.require(actor, "proctors.manage")
    proctor = permissions.get_for(actor, Proctor, proctor_id)
    if proctor.user_id is not None:
        raise DomainError(f"监考人员「{proctor.name}」已有账号")
    if not proctor.active:
        raise DomainError(f"监考人员「{proctor.name}」已停用，不能开通账号")
    school = db.session.get(School, proctor.school_id)
    password = auth.generate_password()
    # Accounts are the sysadmin's business; a school opens only this kind, for its own proctors.
    user = auth.create_user(SYSTEM, username=f"jk{school.code}_{proctor.id}", name=proctor.name,
                            role=Role.PROCTOR, password=password, school_id=school.id, phone=proctor.phone,
                            must_change_password=True)
    proctor.user_id = user.id
    audit.record(actor, "proctor.account", proctor, after={"username": user.username})
    db.session.flush()
    return user, password


#: a proctor's password is reset at most once in this time (see reset_account_password)
RESET_PAUSE = timedelta(minutes=1)


def reset_account_password(actor: Any, proctor_id: Any) -> tuple[User, str]:
    """A new first password for a proctor's account (forgotten on exam day): shown once, to be
    changed at the next sign-in. The school does it for its own proctors, without the sysadmin."""
    permissions.require(actor, "proctors.manage")
    proctor = permissions.get_for(actor, Proctor, proctor_id)
    user = db.session.get(User, proctor.user_id) if proctor.user_id else None
    if user is None:
        raise DomainError(f"监考人员「{proctor.name}」还没有账号，请先开通账号")
    if not proctor.active:
        raise DomainError(f"监考人员「{proctor.name}」已停用，不能重置密码")
    # Two resets at once (two tabs, two staff on exam day) would each show a password and only
    # the last would work: the second waits for the first and is refused for a minute.
    lock_row(user)
    just = db.session.scalar(select(func.max(AuditLog.at)).where(
        AuditLog.action == "proctor.reset_password", AuditLog.entity_type == "proctor",
        AuditLog.entity_id == proctor.id, AuditLog.at > clock.now() - RESET_PAUSE))
    if just is not None:
        raise DomainError(f"刚刚（{just:%H:%M:%S}）已为「{proctor.name}」重置过密码，请使用当时显示的密码；"
                          "如需再次重置，请一分钟后再试")
    password = auth.generate_password()
    auth.set_temporary_password(user, password)
    audit.record(actor, "proctor.reset_password", proctor, after={"username": user.username})
    db.session.flush()
    return user, password


# ---- assignments -------------------------------------------------------------------------------

def _room_sessions(room: ExamRoom) -> list[ExamSession]:
    return [s for s in sorted(room.plan.sessions, key=lambda s: (s.date, s.start_time, s.id))
            if s.subject_id == room.subject_id]


def assign(actor: Any, proctor_id: Any, room_id: Any, session_id: Any) -> ProctorAssignment:
    """Put a proctor in a room for one session; nobody proctors two rooms at one time."""
    permissions.require(actor, "proctors.manage")
    proctor = permissions.get_for(actor, Proctor, proctor_id)
    room = permissions.get_for(actor, ExamRoom, room_id)
    if proctor.school_id != room.school_id:
        raise DomainError("只能安排本校的监考人员")
    if not proctor.active:
        raise DomainError(f"监考人员「{proctor.name}」已停用")
    try:
        wanted = int(session_id)
    except (TypeError, ValueError):
        raise DomainError("请选择场次")
    session = next((s for s in _room_sessions(room) if s.id == wanted), None)
    if session is None:
        raise DomainError(f"考场「{room.name}」没有该场次")

    def check_free() -> None:
        for other in db.session.scalars(
                select(ProctorAssignment).where(ProctorAssignment.proctor_id == proctor.id)
                .options(joinedload(ProctorAssignment.room), joinedload(ProctorAssignment.session))):
            if other.session_id == session.id and other.room_id == room.id:
                raise DomainError(f"「{proctor.name}」已安排在考场「{room.name}」监考该场次")
            if other.session_id == session.id or other.session.overlaps(session):
                raise DomainError(_twice(proctor, other.room, other.session, room, session))

    check_free()
    # a concurrent request assigned them in this session first: the same message as in turn
    with unique_writes(check_free):
        assignment = ProctorAssignment(proctor_id=proctor.id, room_id=room.id, session_id=session.id,
                                       school_id=room.school_id)
        db.session.add(assignment)
    audit.record(actor, "proctor_assignment.create", proctor, after={
        "room": room.name, "session": session.label})
    return assignment


def _twice(proctor: Proctor, first_room: ExamRoom, first: ExamSession, room: ExamRoom,
           session: ExamSession) -> str:
    when = "同一场次" if first.id == session.id else "时间重叠的场次"
    return (f"「{proctor.name}」已安排在考场「{first_room.name}」（{first.label}）监考，"
            f"不能在{when}再监考考场「{room.name}」（{session.label}）：同一人不能同时监考两个考场")


def unassign(actor: Any, assignment_id: Any) -> None:
    """Take a proctor out of a room's session."""
    permissions.require(actor, "proctors.manage")
    assignment = permissions.get_for(actor, ProctorAssignment, assignment_id)
    audit.record(actor, "proctor_assignment.delete", assignment.proctor, before={
        "room": assignment.room.name, "session": assignment.session.label})
    db.session.delete(assignment)
    db.session.flush()


@dataclass
class RoomSlot:
    """One room in one session: its proctors and how many candidates sit there."""

    room: ExamRoom
    session: ExamSession
    assignments: list[ProctorAssignment] = field(default_factory=list)
    candidates: int = 0


def assignment_board(actor: Any, plan_id: Any, site_id: Any) -> tuple[ExamPlan, ExamSite, list[RoomSlot]]:
    """Every room of a plan and site in each of its sessions, with its proctors."""
    permissions.require(actor, "scheduling.view")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    site = permissions.get_for(actor, ExamSite, site_id)
    room_list = list(db.session.scalars(
        permissions.scoped(actor, select(ExamRoom)).where(ExamRoom.plan_id == plan.id, ExamRoom.site_id == site.id)
        .order_by(ExamRoom.number.is_(None), ExamRoom.number, ExamRoom.id)))
    counts = {(r, s): n for r, s, n in db.session.execute(
        select(Seat.room_id, Seat.session_id, func.count(Seat.id))
        .where(Seat.plan_id == plan.id, Seat.site_id == site.id).group_by(Seat.room_id, Seat.session_id))}
    assigned: dict[tuple[int, int], list[ProctorAssignment]] = {}
    for a in db.session.scalars(select(ProctorAssignment)
                                .where(ProctorAssignment.room_id.in_([r.id for r in room_list]))
                                .options(joinedload(ProctorAssignment.proctor))
                                .order_by(ProctorAssignment.id)):
        assigned.setdefault((a.room_id, a.session_id), []).append(a)
    slots = []
    for session in sorted(plan.sessions, key=lambda s: (s.date, s.start_time, s.id)):
        for room in room_list:
            if room.subject_id == session.subject_id:
                slots.append(RoomSlot(room, session, assigned.get((room.id, session.id), []),
                                      counts.get((room.id, session.id), 0)))
    return plan, site, slots


def proctor_list_rows(actor: Any, plan_id: Any, site_id: Any, session_id: Any = None) -> list[list[str]]:
    """Rows of the proctor list (监考安排表) of a plan and site, one session or all; ID numbers masked."""
    _, _, slots = assignment_board(actor, plan_id, site_id)
    try:
        only = int(session_id) if session_id else None
    except (TypeError, ValueError):
        only = None
    rows = []
    for slot in slots:
        if only and slot.session.id != only:
            continue
        for a in slot.assignments:
            p = a.proctor
            rows.append([slot.session.label, f"第 {slot.room.number} 考场" if slot.room.number else "",
                         slot.room.name, p.name, p.role.value, idcard.mask_phone(p.phone), idcard.mask(p.id_number),
                         slot.candidates])
    return rows


PROCTOR_LIST_HEADERS = ["场次", "考场号", "考场", "姓名", "监考角色", "手机号码", "证件号码", "考生人数"]


def export_proctor_list(actor: Any, plan_id: Any, site_id: Any, session_id: Any = None) -> bytes:
    """The proctor list as an Excel workbook."""
    rows = proctor_list_rows(actor, plan_id, site_id, session_id)
    buffer = io.BytesIO()
    write_table(buffer, "监考安排", PROCTOR_LIST_HEADERS, rows, widths=[34, 10, 16, 12, 10, 16, 22, 10])
    return buffer.getvalue()


def my_assignments(actor: Any) -> list[ProctorAssignment]:
    """A proctor's own rooms and sessions, in time order."""
    permissions.require(actor, "proctors.own")
    return sorted(db.session.scalars(
        permissions.scoped(actor, select(ProctorAssignment))
        .options(joinedload(ProctorAssignment.room).joinedload(ExamRoom.site),
                 joinedload(ProctorAssignment.session).joinedload(ExamSession.subject))),
        key=lambda a: (a.session.date, a.session.start_time))


# ---- the release rule --------------------------------------------------------------------------

def min_proctors() -> int:
    return max(1, int(current_app.config.get("MIN_PROCTORS_PER_ROOM", 2)))


def _held(site_id: int, plan_id: int) -> list[tuple[int, int]]:
    """The (room, session) pairs of a site and plan that hold scheduled candidates.

    Every candidate's ticket download asks this: one probe per room and session of the site (on the
    index of room, session and seat) rather than a read of all the site's seats, which took 27 ms
    of the 30 ms of a download at a site of 100,000 (bench/schedule_and_tickets.py --tickets)."""
    return [tuple(row) for row in db.session.execute(
        select(ExamRoom.id, ExamSession.id)
        .join(ExamSession, ExamSession.plan_id == ExamRoom.plan_id)
        .where(ExamRoom.plan_id == plan_id, ExamRoom.site_id == site_id,
               select(Seat.id).where(Seat.room_id == ExamRoom.id, Seat.session_id == ExamSession.id).exists())
        .order_by(ExamRoom.id, ExamSession.id)).all()]


def missing_proctors(site_id: int, plan_id: int, held: list[tuple[int, int]] | None = None) -> list[str]:
    """Each scheduled room and session of a site that has fewer proctors than required."""
    need = min_proctors()
    if held is None:
        held = _held(site_id, plan_id)
    if not held:
        return []
    have = {(r, s): n for r, s, n in db.session.execute(
        select(ProctorAssignment.room_id, ProctorAssignment.session_id, func.count(ProctorAssignment.id))
        .join(Proctor, Proctor.id == ProctorAssignment.proctor_id)
        .where(Proctor.active.is_(True), ProctorAssignment.room_id.in_({r for r, _ in held}))
        .group_by(ProctorAssignment.room_id, ProctorAssignment.session_id))}
    lacking = [pair for pair in held if have.get(pair, 0) < need]
    if not lacking:
        return []  # the usual answer once released: no rooms or sessions to name (every ticket download asks)
    rooms = {r.id: r for r in db.session.scalars(select(ExamRoom).where(ExamRoom.id.in_({r for r, _ in lacking})))}
    sessions = {s.id: s for s in db.session.scalars(select(ExamSession).where(
        ExamSession.id.in_({s for _, s in lacking})))}
    short = []
    for room_id, session_id in sorted(lacking, key=lambda k: (sessions[k[1]].date, sessions[k[1]].start_time,
                                                              rooms[k[0]].number or 0)):
        n = have.get((room_id, session_id), 0)
        short.append(f"{sessions[session_id].label} 考场「{rooms[room_id].name}」（现有 {n} 人）")
    return short


def tickets_released(site_id: int, plan_id: int) -> bool:
    """True when the site has scheduled candidates in the plan and every room of each
    session holding them has at least MIN_PROCTORS_PER_ROOM proctors."""
    held = _held(site_id, plan_id)
    return bool(held) and not missing_proctors(site_id, plan_id, held)


def require_tickets_released(site_id: int, plan_id: int) -> None:
    """Refuse (DomainError) while the site's tickets are not released, saying why."""
    held = _held(site_id, plan_id)
    if not held:
        raise DomainError("该考核站点尚未排考，准考证尚未发放")
    short = missing_proctors(site_id, plan_id, held)
    if short:
        raise DomainError(f"准考证尚未发放：每个考场每场次至少需要 {min_proctors()} 名监考人员，以下考场不足："
                          + "；".join(short[:10]) + (f" 等 {len(short)} 个" if len(short) > 10 else ""))
