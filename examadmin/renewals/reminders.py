"""Renewal reminders: when the window opens and one month before expiry, once each per certificate and cycle.

A reminder is a row (RenewalReminder, unique per certificate, kind and cycle), shown to the
holder in the portal as a notice, and an e-mail to the address the holder gave (candidates
carry no e-mail of their own; see HolderContact). E-mail goes through a `Notifier`: SMTP when
SMTP_HOST is set, else the outbox table that the sysadmin reads. The daily Huey task and
`examadmin renewals remind` both call `send_due_reminders`; the unique row makes a second
run (or two runs at once) send nothing twice.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..catalog.models import CertificateLevel
from ..certificates.models import CertificateRecord
from ..certificates.states import CertificateState
from ..core import clock
from ..extensions import db
from .models import HolderContact, OutboxMessage, RenewalApplication, RenewalReminder
from .states import RenewalState, Validity
from .validity import add_months, cycles

log = logging.getLogger(__name__)

WINDOW, MONTH = "window", "month"
#: the holder's page, as the menu names it, and its path (the e-mail links PUBLIC_BASE_URL + path)
MENU_NAME = "证书有效期与再登记"
PORTAL_PATH = "/renewals/mine"
#: an application in these states answers the reminder: it is no longer shown
SETTLED = (RenewalState.CITY_REVIEW, RenewalState.PROVINCE_REVIEW, RenewalState.APPROVED)
KIND_LABELS = {WINDOW: "再登记窗口已开放", MONTH: "有效期届满前一个月"}
#: records read per batch while scanning
BATCH = 1000


class Notifier(Protocol):
    def send(self, to: str, subject: str, body: str) -> None:
        """Deliver one message; raise on failure."""


class SmtpNotifier:
    """E-mail through the SMTP server of the settings (SMTP_HOST, SMTP_PORT, SMTP_USER, ...)."""

    def __init__(self, config: dict[str, Any]):
        self.host, self.port = config["SMTP_HOST"], int(config.get("SMTP_PORT") or 587)
        self.user, self.password = config.get("SMTP_USER") or "", config.get("SMTP_PASSWORD") or ""
        self.sender = config.get("SMTP_FROM") or "noreply@localhost"
        self.security = config.get("SMTP_SECURITY") or "starttls"

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message.set_content(body)
        if self.security == "ssl":
            server = smtplib.SMTP_SSL(self.host, self.port, timeout=30, context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=30)
        with server:
            if self.security == "starttls":
                server.starttls(context=ssl.create_default_context())
            if self.user:
                server.login(self.user, self.password)
            server.send_message(message)


class OutboxNotifier:
    """No SMTP server: keep what would have been sent in the outbox table (same transaction)."""

    def send(self, to: str, subject: str, body: str) -> None:
        db.session.add(OutboxMessage(to_address=to[:200], subject=subject[:200], body=body))


def get_notifier() -> Notifier:
    config = current_app.config
    return SmtpNotifier(config) if config.get("SMTP_HOST") else OutboxNotifier()


def mask_email(address: str) -> str:
    """z***@example.com: the mailbox hidden but its first character, the domain kept."""
    if not address or "@" not in address:
        return "*" * len(address or "")
    local, domain = address.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


@dataclass
class Outcome:
    reminded: int = 0
    emailed: int = 0
    no_address: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"reminded": self.reminded, "emailed": self.emailed, "no_address": self.no_address,
                "failed": self.failed}


def _message(record: CertificateRecord, kind: str, cycle) -> tuple[str, str]:
    level = record.certificate_level
    if kind == WINDOW:
        subject = f"【再登记提醒】您的{level.label}可申请再登记"
        lead = (f"您的{level.certificate.name}（{level.level.value}，证书编号 {record.number}）有效期至 "
                f"{cycle.valid_until:%Y-%m-%d}，再登记申请已开放。")
    else:
        subject = f"【再登记提醒】您的{level.label}一个月后到期"
        lead = (f"您的{level.certificate.name}（{level.level.value}，证书编号 {record.number}）将于 "
                f"{cycle.valid_until:%Y-%m-%d} 到期，请尽快完成再登记。")
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    where = f"\n办理地址：{base}{PORTAL_PATH}" if base else ""
    body = (f"{record.name}：\n\n{lead}\n再登记需本周期已核验的继续教育学时 {cycle.policy.hours_required} 学时。"
            f"请登录考生服务平台，在“{MENU_NAME}”中查看学时并提交申请。{where}\n逾期未再登记的，需 "
            f"{cycle.policy.late_hours_required} 学时并提交情况说明方可补办。\n\n本邮件由系统自动发送，请勿回复。")
    return subject, body


def _due_kinds(cycle, today: date) -> list[str]:
    if cycle.state != Validity.DUE:
        return []
    kinds = [WINDOW]
    if today >= cycle.month_before:
        kinds.append(MONTH)
    return kinds


def _shortest_gap_months() -> int:
    from .models import RenewalPolicy
    from .validity import DEFAULT_POLICY

    gaps = [12 * DEFAULT_POLICY.validity_years - DEFAULT_POLICY.window_months]
    gaps += [12 * years - window for years, window in db.session.execute(
        select(RenewalPolicy.validity_years, RenewalPolicy.window_months)).all()]
    return max(min(gaps), 0)


#: a reminder whose e-mail is being sent (committed before the send; left so if the run died)
CLAIMED = "发送中（若长时间如此，发送时中断，未重发）"


def send_due_reminders(today: date | None = None, notifier: Notifier | None = None) -> Outcome:
    """Remind every holder whose window opened or whose expiry is a month away, once each.
    Commits each reminder on its own (claimed before its e-mail, marked after): a job, not a service."""
    today = today or clock.now().date()
    notifier = notifier or get_notifier()
    outcome = Outcome()
    # Only certificates old enough for a window to have opened: the shortest span from issue to
    # window of any policy (33 months by default), so the scan never reads the fresh ones.
    latest_issue = add_months(today, -_shortest_gap_months())
    last_id = 0
    while True:
        records = db.session.scalars(
            select(CertificateRecord)
            .options(joinedload(CertificateRecord.certificate_level).joinedload(CertificateLevel.certificate))
            .where(CertificateRecord.state == CertificateState.ISSUED, CertificateRecord.issue_date <= latest_issue,
                   CertificateRecord.id > last_id)
            .order_by(CertificateRecord.id).limit(BATCH)).all()
        if not records:
            break
        last_id = records[-1].id
        found = cycles(list(records), today)
        due = [(r, found[r.id], kind) for r in records if r.id in found for kind in _due_kinds(found[r.id], today)]
        if not due:
            continue
        ids = [r.id for r, _, _ in due]
        sent = set(db.session.execute(select(RenewalReminder.record_id, RenewalReminder.kind,
                                             RenewalReminder.cycle_expiry)
                                      .where(RenewalReminder.record_id.in_(ids))).all())
        applied = set(db.session.scalars(select(RenewalApplication.record_id).where(
            RenewalApplication.record_id.in_(ids),
            RenewalApplication.state.in_(SETTLED))))
        addresses = dict(db.session.execute(select(HolderContact.candidate_id, HolderContact.email).where(
            HolderContact.candidate_id.in_({r.candidate_id for r, _, _ in due}))).all())
        for record, cycle, kind in due:
            if (record.id, kind, cycle.valid_until) in sent:
                continue
            if kind == MONTH and record.id in applied:
                continue  # the holder has applied: no need to press them
            _remind(record, cycle, kind, addresses.get(record.candidate_id) or "", notifier, outcome)
    return outcome


def _remind(record, cycle, kind: str, address: str, notifier: Notifier, outcome: Outcome) -> None:
    subject, body = _message(record, kind, cycle)
    reminder = RenewalReminder(record_id=record.id, candidate_id=record.candidate_id, school_id=record.school_id,
                               kind=kind, cycle_expiry=cycle.valid_until, message=subject.split("】", 1)[-1])
    try:
        with db.session.begin_nested():  # a concurrent run wrote it first: nothing more to do
            db.session.add(reminder)
            db.session.flush()
    except IntegrityError:
        return
    outcome.reminded += 1
    if not address:
        reminder.email_state = "未登记邮箱"
        outcome.no_address += 1
        db.session.commit()
        return
    # The claim is committed before the e-mail goes out, one reminder per transaction: a run that
    # dies while sending leaves "发送中" (sent at most once), never a rolled-back row sent again tomorrow.
    reminder.email_state = CLAIMED
    db.session.commit()
    try:
        notifier.send(address, subject, body)
    except Exception as exc:  # the notice stands; the failure is written down, not retried
        log.warning("reminder e-mail for record %s failed: %s", record.id, type(exc).__name__)
        reminder.email_state = f"发送失败：{type(exc).__name__}"[:200]
        outcome.failed += 1
        db.session.commit()
        return
    reminder.email_state = "已存入发件箱" if isinstance(notifier, OutboxNotifier) else "已发送"
    outcome.emailed += 1
    db.session.commit()


def notices(actor: Any, limit: int = 10) -> list[RenewalReminder]:
    """The holder's reminders that are still true today, newest first: the portal's notices.

    A reminder says the window is open for the cycle ending on its `cycle_expiry`; it is shown only
    while that cycle is the current one, its window is open (待再登记) and no application of that
    cycle is in review or approved. Read on every page view, like the validity itself."""
    from ..core import permissions
    from .validity import cycles

    if not permissions.can(actor, "renewals.apply"):
        return []
    rows = list(db.session.scalars(
        permissions.scoped(actor, select(RenewalReminder))
        .options(joinedload(RenewalReminder.record).joinedload(CertificateRecord.certificate_level)
                 .joinedload(CertificateLevel.certificate))
        .order_by(RenewalReminder.created_at.desc(), RenewalReminder.id.desc()).limit(50)))
    if not rows:
        return []
    current = cycles(list({r.record_id: r.record for r in rows}.values()))
    settled = set(db.session.execute(
        select(RenewalApplication.record_id, RenewalApplication.cycle_expiry).where(
            RenewalApplication.record_id.in_({r.record_id for r in rows}),
            RenewalApplication.state.in_(SETTLED))).all())
    shown, seen = [], set()
    for row in rows:
        now = current.get(row.record_id)
        if (now is None or now.state != Validity.DUE or now.valid_until != row.cycle_expiry
                or (row.record_id, row.cycle_expiry) in settled or row.record_id in seen):
            continue
        seen.add(row.record_id)  # the newest true reminder per certificate is enough
        shown.append(row)
    return shown[:limit]


def outbox(actor: Any):
    """The outbox, newest first, for the sysadmin."""
    from ..core import permissions

    permissions.require(actor, "renewals.outbox")
    return permissions.scoped(actor, select(OutboxMessage)).order_by(OutboxMessage.created_at.desc(),
                                                                     OutboxMessage.id.desc())


def save_contact(actor: Any, email: str) -> HolderContact:
    """The holder's e-mail address for reminders (empty: portal notices only)."""
    import re

    from ..core import audit, permissions
    from ..core.errors import DomainError

    permissions.require(actor, "renewals.apply")
    email = (email or "").strip()
    if len(email) > 200 or (email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)):
        raise DomainError("邮箱地址格式不正确，如 name@example.com", field="email")
    contact = db.session.scalar(select(HolderContact).where(HolderContact.candidate_id == actor.candidate_id))
    if contact is None:
        contact = HolderContact(candidate_id=actor.candidate_id, school_id=actor.school_id)
        db.session.add(contact)
    had = bool(contact.email)
    contact.email, contact.updated_at = email, clock.now()
    db.session.flush()
    audit.record(actor, "holder_contact.update", contact, before={"email": "已登记" if had else ""},
                 after={"email": mask_email(email) if email else ""})
    return contact


def contact_of(actor: Any) -> str:
    if not getattr(actor, "candidate_id", None):
        return ""
    return db.session.scalar(select(HolderContact.email).where(HolderContact.candidate_id == actor.candidate_id)) or ""


def portal_notices(actor: Any) -> list[tuple[str, str]]:
    """The reminders as the portal's home page shows them (registered in portal.services.NOTICE_SOURCES)."""
    from flask import url_for

    return [(notice_text(n), url_for("renewals.mine")) for n in notices(actor, limit=5)]


def notice_text(reminder: RenewalReminder) -> str:
    """"2028-10-15 · 您的…（初级）可申请再登记（有效期至 2029-01-14）": the message names the certificate once."""
    return f"{reminder.created_at:%Y-%m-%d} · {reminder.message}（有效期至 {reminder.cycle_expiry:%Y-%m-%d}）"


def _register() -> None:
    from ..portal import services as portal

    if portal_notices not in portal.NOTICE_SOURCES:
        portal.NOTICE_SOURCES.append(portal_notices)


_register()
