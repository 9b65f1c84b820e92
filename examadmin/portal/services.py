"""The candidate portal: accounts opened in bulk by the school, activation, sign-in, own data.

A school opens accounts for its candidates and hands each an activation slip with a
one-time code (考生账号由所在院校开通). The candidate signs in once with the ID number and
the code, chooses a password, and from then on signs in with the ID number and password.
Codes are kept only as a keyed hash: they exist in clear text only in the slip file made
when they are issued. A school may issue a new code at any time (a forgotten password).
"""
from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from typing import Any, Iterable

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from ..candidates.models import Candidate
from ..catalog.models import CertificateLevel
from ..core import audit, auth, clock, idcard, permissions
from ..core.auth import User
from ..core.errors import DomainError
from ..core.excel import write_table
from ..core.roles import Role
from ..extensions import db
from ..registrations.models import Registration
from .models import PortalAccount

#: letters and digits that cannot be mistaken for each other when read off paper
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
#: the most candidates one request opens accounts for (a slip file per batch)
MAX_BATCH = 5000
#: one answer for every failed activation or sign-in, so that nothing can be probed
GENERIC_ACTIVATION_ERROR = "证件号码或激活码不正确，请核对激活通知单；多次失败将被暂时限制。"
GENERIC_LOGIN_ERROR = "证件号码或密码错误。尚未激活的考生请先用激活码激活账号。"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:32]


def code_hash(code: str) -> str:
    """A keyed hash: fast (a school issues thousands at once) yet useless without SECRET_KEY."""
    key = hashlib.sha256(("portal-activation:" + current_app.config["SECRET_KEY"]).encode()).digest()
    return hmac.new(key, _normalise_code(code).encode(), hashlib.sha256).hexdigest()


def code_for_slip(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


#: Functions (actor) -> [(text, url)] of notices shown on the candidate's home page; later areas
#: register theirs (the renewals area: its re-registration reminders). An earlier area never imports a later one.
NOTICE_SOURCES: list = []


def notices(actor: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for source in NOTICE_SOURCES:
        found.extend(source(actor))
    return found


# ---- the school's side ------------------------------------------------------------------

ACCOUNT_FILTERS = {"none": "未开通", "pending": "待激活", "active": "已激活"}


def list_accounts(actor: Any, *, q: str = "", state: str = ""):
    """The school's candidates with their account (if any), for the accounts page."""
    permissions.require(actor, "portal.accounts")
    query = (select(Candidate)
             .outerjoin(PortalAccount, PortalAccount.candidate_id == Candidate.id)
             .where(permissions.scope_clause(actor, Candidate), Candidate.hidden.is_(False))
             .order_by(Candidate.class_name, Candidate.name, Candidate.id))
    q = (q or "").strip()[:50]
    if q:
        number = idcard.normalise(q)
        query = query.where(or_(Candidate.name.contains(q), Candidate.id_number == number,
                                Candidate.student_number == q))
    if state == "none":
        query = query.where(PortalAccount.id.is_(None))
    elif state == "pending":
        query = query.where(PortalAccount.id.is_not(None), PortalAccount.activated_at.is_(None))
    elif state == "active":
        query = query.where(PortalAccount.activated_at.is_not(None))
    return query


def accounts_of(candidate_ids: list[int]) -> dict[int, PortalAccount]:
    """The accounts of a page of candidates, in one query."""
    if not candidate_ids:
        return {}
    return {a.candidate_id: a for a in db.session.scalars(
        select(PortalAccount).where(PortalAccount.candidate_id.in_(candidate_ids)))}


@dataclass
class Slip:
    candidate: Candidate
    code: str


def _candidates(actor: Any, candidate_ids: Iterable[int] | None) -> list[Candidate]:
    query = (select(Candidate).where(permissions.scope_clause(actor, Candidate), Candidate.hidden.is_(False))
             .order_by(Candidate.class_name, Candidate.name, Candidate.id))
    if candidate_ids is not None:
        ids = sorted({int(i) for i in candidate_ids})[:MAX_BATCH]
        if not ids:
            raise DomainError("请先选择考生。")
        query = query.where(Candidate.id.in_(ids))
    return list(db.session.scalars(query.limit(MAX_BATCH)))


def _username(candidate: Candidate) -> str:
    # Candidates sign in with their ID number; the username only has to be unique.
    while True:
        name = f"ks{candidate.id}-{secrets.token_hex(3)}"
        if db.session.scalar(select(User.id).where(User.username == name)) is None:
            return name


def _unusable_password_hash() -> str:
    # a random password nobody knows (a cheap hash: it guards nothing, and a school opens or
    # reissues thousands of accounts at once)
    return generate_password_hash(secrets.token_hex(16), method="pbkdf2:sha256:1")


def _new_user(candidate: Candidate) -> User:
    return User(
        username=_username(candidate), name=candidate.name, role=Role.CANDIDATE, candidate_id=candidate.id,
        password_hash=_unusable_password_hash(),  # unusable until activation
        must_change_password=False, school_id=candidate.school_id, city_id=candidate.school.city_id,
        province_id=candidate.school.province_id)


def open_accounts(actor: Any, candidate_ids: Iterable[int] | None = None) -> list[Slip]:
    """Open accounts for the chosen candidates (None: every candidate of the school) that have
    none yet; returns the slips with their one-time codes."""
    permissions.require(actor, "portal.accounts")
    candidates = _candidates(actor, candidate_ids)
    # Two 开通账号 at once for the same candidates: their rows (in id order, so that two requests
    # never wait for each other crosswise) make the second wait and then find the accounts made.
    db.session.execute(select(Candidate.id).where(Candidate.id.in_([c.id for c in candidates]))
                       .order_by(Candidate.id).with_for_update())
    have = set(db.session.scalars(select(PortalAccount.candidate_id)
                                  .where(PortalAccount.candidate_id.in_([c.id for c in candidates]))))
    # A candidate account made before the portal existed (by the administrator) is taken over.
    existing = {u.candidate_id: u for u in db.session.scalars(
        select(User).where(User.role == Role.CANDIDATE, User.candidate_id.in_([c.id for c in candidates])))}
    slips, now = [], clock.now()
    for candidate in candidates:
        if candidate.id in have:
            continue
        code = new_code()
        user = existing.get(candidate.id) or _new_user(candidate)
        if user.id is None:
            db.session.add(user)
            db.session.flush()
        account = PortalAccount(candidate_id=candidate.id, school_id=candidate.school_id, user_id=user.id,
                                code_hash=code_hash(code), code_issued_at=now)
        db.session.add(account)
        db.session.flush()
        audit.record(actor, "portal.account_create", account, after={"id_number": idcard.mask(candidate.id_number)})
        slips.append(Slip(candidate, code))
    if not slips:
        raise DomainError("所选考生都已开通账号；如需重新发放激活码，请使用「重新生成激活码」。")
    return slips


def reissue_codes(actor: Any, candidate_ids: Iterable[int]) -> list[Slip]:
    """New one-time codes for the chosen candidates' accounts (also to reset a forgotten password).

    The old password and every session of the account end: the slip may have been asked for
    because someone else knows the password, and the candidate sets a new one with the code."""
    permissions.require(actor, "portal.accounts")
    candidates = {c.id: c for c in _candidates(actor, candidate_ids)}
    accounts = db.session.scalars(select(PortalAccount).where(PortalAccount.candidate_id.in_(candidates))
                                  .options(joinedload(PortalAccount.user)))
    slips, now = [], clock.now()
    for account in accounts:
        code = new_code()
        account.code_hash, account.code_issued_at, account.activated_at = code_hash(code), now, None
        account.user.password_hash = _unusable_password_hash()
        account.user.session_version += 1
        audit.record(actor, "portal.code_reissue", account)
        slips.append(Slip(candidates[account.candidate_id], code))
    if not slips:
        raise DomainError("所选考生还没有开通账号，请先开通。")
    slips.sort(key=lambda s: (s.candidate.class_name, s.candidate.name, s.candidate.id))
    return slips


SLIP_HEADERS = ["姓名", "班级", "学号", "证件号码", "激活码", "激活网址", "说明"]


def slips_workbook(slips: list[Slip], activate_url: str) -> bytes:
    """Activation slips (激活通知单) as a sheet: ID numbers masked except the last four."""
    note = "用证件号码和激活码激活一次并设置密码，之后用证件号码和密码登录；激活码只能使用一次。"
    rows = [[s.candidate.name, s.candidate.class_name, s.candidate.student_number,
             idcard.mask_keep_last4(s.candidate.id_number), code_for_slip(s.code), activate_url, note] for s in slips]
    buffer = io.BytesIO()
    write_table(buffer, "考生账号激活通知单", SLIP_HEADERS, rows, widths=[12, 14, 14, 22, 14, 40, 60])
    return buffer.getvalue()


# ---- the candidate's side -----------------------------------------------------------------

_DUMMY = secrets.token_hex(32)


def _accounts_of(id_number: str) -> list[PortalAccount]:
    number = idcard.normalise(id_number)[:30]
    if not number:
        return []
    return list(db.session.scalars(
        select(PortalAccount).join(Candidate, Candidate.id == PortalAccount.candidate_id)
        .where(Candidate.id_number == number, Candidate.hidden.is_(False)).order_by(PortalAccount.id)))


def activate(id_number: str, code: str, password: str, confirm: str) -> User:
    """The candidate's first sign-in: ID number and one-time code, then a password of their own."""
    if password != confirm:
        raise DomainError("两次输入的密码不一致", field="confirm")
    given = code_hash(code)
    account = next((a for a in _accounts_of(id_number)
                    if a.code_hash and hmac.compare_digest(a.code_hash, given)), None)
    if account is None:
        hmac.compare_digest(given, _DUMMY)
        raise DomainError(GENERIC_ACTIVATION_ERROR)
    user = account.user
    if not user.active:
        raise DomainError(GENERIC_ACTIVATION_ERROR)
    # The code is spent by a conditional update, so two activations racing with one code
    # cannot both set a password.
    spent = db.session.execute(
        update(PortalAccount).where(PortalAccount.id == account.id, PortalAccount.code_hash == given)
        .values(code_hash=None, activated_at=clock.now()).execution_options(synchronize_session=False)).rowcount
    if not spent:
        raise DomainError(GENERIC_ACTIVATION_ERROR)
    db.session.refresh(account)
    auth.set_first_password(user, password)
    audit.record(user, "portal.activate", account)
    return user


def authenticate(id_number: str, password: str) -> User | None:
    """The active, activated candidate account with this ID number and password, else None."""
    for account in _accounts_of(id_number):
        user = account.user
        if account.activated_at and user.active and user.check_password(password):
            user.last_login_at = clock.now()
            audit.record(user, "user.sign_in", user)
            return user
    check_password_hash(auth._DUMMY_HASH, password)  # the same time for an unknown number
    return None


@dataclass
class PortalHome:
    candidate: Candidate
    registrations: list[Registration]


def home(actor: Any) -> PortalHome:
    """What the portal shows a candidate: their data, photo, verification, registrations."""
    permissions.require(actor, "portal.view")
    # What the page reads of them comes in the same queries (3 instead of one per plan,
    # level, certificate and site): the portal's home is the busiest page of the ticket week.
    candidate = permissions.get_for(actor, Candidate, actor.candidate_id, options=(joinedload(Candidate.school),))
    registrations = list(db.session.scalars(
        select(Registration).where(permissions.scope_clause(actor, Registration))
        .options(joinedload(Registration.plan), joinedload(Registration.site), joinedload(Registration.payment_order),
                 joinedload(Registration.certificate_level).joinedload(CertificateLevel.certificate))
        .order_by(Registration.id.desc())))
    return PortalHome(candidate, registrations)


def count_accounts(actor: Any) -> dict[str, int]:
    permissions.require(actor, "portal.accounts")
    rows = db.session.execute(
        select(PortalAccount.activated_at.is_not(None), func.count())
        .where(permissions.scope_clause(actor, PortalAccount)).group_by(PortalAccount.activated_at.is_not(None)))
    counts = {"pending": 0, "active": 0}
    for active, n in rows:
        counts["active" if active else "pending"] += n
    return counts
