"""Users, roles, scopes and sign-in.

Flask's cookie sessions cannot be revoked on their own, so each user carries a
`session_version`: it is part of the id stored in the cookie, and signing out, changing
the password or being disabled bumps it, which ends every other session of that user.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, func, or_, select, true
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from . import audit, clock, permissions
from .columns import enum_type
from .errors import DomainError
from .roles import ROLE_LABELS, SCOPE_FIELD, Role
from .unique import unique_writes

MIN_PASSWORD_LENGTH = 8
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,40}$")

# A hash to compare against when the user does not exist, so that a wrong username and a
# wrong password take the same time.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(8))


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    province_id: Mapped[int | None] = mapped_column(ForeignKey("province.id"), index=True)
    city_id: Mapped[int | None] = mapped_column(ForeignKey("city.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)
    #: the candidate record a candidate account belongs to
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("candidate.id"), index=True)
    #: a school user who may confirm the second stage of certificate issuance (签发负责人)
    is_signer: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    #: bumped to end every open session of the user (see module docstring)
    session_version: Mapped[int] = mapped_column(default=1)
    #: set when an administrator set the password; the user must choose a new one
    must_change_password: Mapped[bool] = mapped_column(default=False)
    phone: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_login_at: Mapped[datetime | None]

    province = relationship("Province")
    city = relationship("City")
    school = relationship("School")

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    @property
    def scope_label(self) -> str:
        if self.school is not None:
            return self.school.name
        if self.city is not None:
            return f"{self.city.province.name} {self.city.name}"
        if self.province is not None:
            return self.province.name
        return "全国"

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @classmethod
    def scope_clause(cls, actor):
        # Only the sysadmin manages accounts; everyone else sees only themselves.
        if actor.role == Role.SYSADMIN:
            return true()
        return cls.id == actor.id


class SystemActor:
    """The actor of CLI commands and scheduled work: an operator at the console."""

    id = None
    username = "system"
    name = "系统（命令行）"
    role = Role.SYSADMIN
    province_id = city_id = school_id = candidate_id = None
    is_signer = False
    is_authenticated = True
    role_label = "系统"


SYSTEM = SystemActor()


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's user loader: the user only while the session version still matches."""
    try:
        user_id, version = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    from ..catalog.models import City

    # One query: the scope the page header names (school, or city and its province) comes with
    # the user instead of one lazy load each on every page.
    user = db.session.get(User, user_id, options=(
        joinedload(User.school), joinedload(User.province), joinedload(User.city).joinedload(City.province)))
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, else None (one generic answer)."""
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = clock.now()
    audit.record(user, "user.sign_in", user)
    return user


def sign_out(user: User) -> None:
    """End this and every other session of the user."""
    user.session_version += 1
    audit.record(user, "user.sign_out", user)


def _hash(password: str) -> str:
    # scrypt by default; the test suite sets a cheap method so that it stays fast.
    return generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def _check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"密码至少需要 {MIN_PASSWORD_LENGTH} 位", field="password")
    if password.isdigit() or password.isalpha():
        raise DomainError("密码需同时包含字母和数字", field="password")


def change_own_password(user: User, current: str, new: str) -> None:
    """The user changes their own password; other sessions end."""
    if not user.check_password(current):
        raise DomainError("当前密码不正确", field="current")
    if current == new:
        raise DomainError("新密码不能与当前密码相同", field="password")
    _check_password_rules(new)
    user.password_hash = _hash(new)
    user.must_change_password = False
    user.session_version += 1
    audit.record(user, "user.change_password", user)


def set_first_password(user: User, password: str) -> None:
    """A user who proved who they are another way (a candidate's activation code) sets a password."""
    _check_password_rules(password)
    user.password_hash = _hash(password)
    user.must_change_password = False
    user.session_version += 1
    audit.record(user, "user.change_password", user)


def _resolve_scope(role: Role, province_id, city_id, school_id) -> dict[str, int | None]:
    """Each role lives in exactly one scope; fill in the wider levels from the narrower one."""
    from ..catalog.models import City, School

    scope: dict[str, int | None] = {"province_id": None, "city_id": None, "school_id": None}
    field = SCOPE_FIELD[role]
    if field == "school_id":
        school = db.session.get(School, school_id) if school_id else None
        if school is None:
            raise DomainError("请选择所属院校", field="school_id")
        scope.update(school_id=school.id, city_id=school.city_id, province_id=school.province_id)
    elif field == "city_id":
        city = db.session.get(City, city_id) if city_id else None
        if city is None:
            raise DomainError("请选择所属地市", field="city_id")
        scope.update(city_id=city.id, province_id=city.province_id)
    elif field == "province_id":
        if not province_id:
            raise DomainError("请选择所属省份", field="province_id")
        scope["province_id"] = province_id
    return scope


def _user_snapshot(user: User) -> dict[str, Any]:
    return {
        "username": user.username, "name": user.name, "role": user.role.value,
        "province_id": user.province_id, "city_id": user.city_id, "school_id": user.school_id,
        "is_signer": user.is_signer, "active": user.active,
    }


#: roles whose accounts belong to a record of another area and are opened there, never by hand: an
#: account made here would have no candidate (or proctor) behind it and find nothing but 404s
MADE_ELSEWHERE = {
    Role.CANDIDATE: "考生账号由院校在「考生账号」页为已登记的考生开通，不能在此新建",
    Role.PROCTOR: "监考账号由院校在「监考人员」页为登记的监考人员开通，不能在此新建",
}


def create_user(
    actor: Any, *, username: str, name: str, role: Role | str, password: str,
    province_id: int | None = None, city_id: int | None = None, school_id: int | None = None,
    is_signer: bool = False, phone: str = "", must_change_password: bool = True,
) -> User:
    """Create an account in one scope."""
    permissions.require(actor, "users.manage")
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise DomainError("用户名为 3-40 位字母、数字或 _ . @ -", field="username")

    def check_username_free() -> None:
        if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
            raise DomainError(f"用户名「{username}」已被使用", field="username")

    check_username_free()
    if not name.strip():
        raise DomainError("请填写姓名", field="name")
    try:
        role = Role(role)
    except ValueError:
        raise DomainError("请选择角色", field="role")
    if role in MADE_ELSEWHERE and not isinstance(actor, SystemActor):
        raise DomainError(MADE_ELSEWHERE[role], field="role")
    if is_signer and role != Role.SCHOOL:
        raise DomainError("只有试点院校用户可以设为签发负责人", field="is_signer")
    _check_password_rules(password)
    user = User(
        username=username, name=name.strip(), role=role, phone=phone.strip(),
        password_hash=_hash(password), is_signer=is_signer,
        must_change_password=must_change_password,
        **_resolve_scope(role, province_id, city_id, school_id),
    )
    with unique_writes(check_username_free, field="username"):
        db.session.add(user)
    audit.record(actor, "user.create", user, after=_user_snapshot(user))
    return user


def update_user(actor: Any, user_id: int, *, name: str, phone: str, is_signer: bool) -> User:
    """Change a user's name, phone and signer flag (role and scope are fixed at creation)."""
    permissions.require(actor, "users.manage")
    user = permissions.get_for(actor, User, user_id)
    if is_signer and user.role != Role.SCHOOL:
        raise DomainError("只有试点院校用户可以设为签发负责人", field="is_signer")
    if not name.strip():
        raise DomainError("请填写姓名", field="name")
    before = _user_snapshot(user)
    user.name, user.phone, user.is_signer = name.strip(), phone.strip(), is_signer
    audit.record(actor, "user.update", user, before=before, after=_user_snapshot(user))
    return user


def set_user_active(actor: Any, user_id: int, active: bool) -> User:
    """Disable (ending every session) or enable an account."""
    permissions.require(actor, "users.manage")
    user = permissions.get_for(actor, User, user_id)
    if not active and getattr(actor, "id", None) == user.id:
        raise DomainError("不能停用自己的账号")
    if user.active == active:
        return user
    user.active = active
    if not active:
        user.session_version += 1
    audit.record(actor, "user.enable" if active else "user.disable", user,
                 before={"active": not active}, after={"active": active})
    return user


def reset_password(actor: Any, user_id: int, new_password: str | None = None) -> tuple[User, str]:
    """Set a new password (random unless given); the user must change it at next sign-in."""
    permissions.require(actor, "users.manage")
    user = permissions.get_for(actor, User, user_id)
    password = new_password or generate_password()
    _check_password_rules(password)
    set_temporary_password(user, password)
    audit.record(actor, "user.reset_password", user)
    return user, password


def set_temporary_password(user: User, password: str) -> None:
    """A password the user must change at the next sign-in; sessions signed in before end. The
    caller checks who may do this and audits it."""
    user.password_hash = _hash(password)
    user.must_change_password = True
    user.session_version += 1


def generate_password() -> str:
    # Letters without look-alikes (no l, 1, O, 0) so it can be read out over the phone.
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
    digits = "23456789"
    core = "".join(secrets.choice(alphabet) for _ in range(7))
    return core + "".join(secrets.choice(digits) for _ in range(3))


def find_user(username: str) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        raise DomainError(f"找不到用户「{username}」")
    return user


def list_users(actor: Any, *, q: str = "", role: str = "", active: str = ""):
    """A scoped, filterable select of users for the admin list."""
    permissions.require(actor, "users.manage")
    query = permissions.scoped(actor, select(User)).order_by(User.role, User.username)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(User.username.ilike(like), User.name.ilike(like)))
    if role:
        query = query.where(User.role == Role(role))
    if active in ("1", "0"):
        query = query.where(User.active == (active == "1"))
    return query
