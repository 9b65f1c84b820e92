"""Reminders: when the window opens and a month before expiry, once each, by the outbox or SMTP; portal notices."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from examadmin.core import clock
from examadmin.extensions import db
from examadmin.renewals import reminders
from examadmin.renewals.models import HolderContact, OutboxMessage, RenewalReminder
from tests.conftest import login_as, make_user
from tests.renewals.factories import make_holder

ISSUED = date(2026, 1, 15)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_window_reminder_is_sent_once_to_the_outbox(monkeypatch):
    holder = make_holder(ISSUED)
    reminders.save_contact(holder.user, "holder@example.com")
    assert reminders.send_due_reminders(date(2028, 10, 14)).reminded == 0  # the day before the window
    outcome = reminders.send_due_reminders(date(2028, 10, 15))
    assert outcome.reminded == 1 and outcome.emailed == 1
    message = db.session.scalar(select(OutboxMessage))
    assert message.to_address == "holder@example.com" and "可申请再登记" in message.subject
    assert "2029-01-14" in message.body
    for day in (date(2028, 10, 16), date(2028, 11, 1)):
        assert reminders.send_due_reminders(day).reminded == 0
    assert count(OutboxMessage) == 1 and count(RenewalReminder) == 1


def test_month_before_expiry_is_a_second_reminder_once():
    holder = make_holder(ISSUED)
    reminders.send_due_reminders(date(2028, 10, 20))
    assert reminders.send_due_reminders(date(2028, 12, 14)).reminded == 0
    assert reminders.send_due_reminders(date(2028, 12, 15)).reminded == 1
    assert reminders.send_due_reminders(date(2028, 12, 20)).reminded == 0
    kinds = db.session.scalars(select(RenewalReminder.kind).where(RenewalReminder.record_id == holder.record.id)).all()
    assert sorted(kinds) == ["month", "window"]
    assert all(r.email_state == "未登记邮箱" for r in db.session.scalars(select(RenewalReminder)))
    assert count(OutboxMessage) == 0  # no address: a portal notice only


def test_no_reminder_outside_the_window_or_for_revoked():
    from examadmin.certificates.states import CertificateState

    make_holder(ISSUED, state=CertificateState.REVOKED)
    make_holder(date(2027, 6, 1))
    assert reminders.send_due_reminders(date(2028, 11, 1)).reminded == 0


class FakeSMTP:
    sent: list = []

    def __init__(self, host, port, timeout=None):
        self.host, self.port = host, port

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self, context=None):
        pass

    def login(self, user, password):
        self.user = user

    def send_message(self, message):
        FakeSMTP.sent.append((self.host, message["To"], message["Subject"]))


def test_with_smtp_configured_the_mail_goes_out_by_smtp(app, monkeypatch):
    holder = make_holder(ISSUED)
    reminders.save_contact(holder.user, "holder@example.com")
    monkeypatch.setattr(reminders.smtplib, "SMTP", FakeSMTP)
    FakeSMTP.sent = []
    monkeypatch.setitem(app.config, "SMTP_HOST", "mail.example.cn")
    assert isinstance(reminders.get_notifier(), reminders.SmtpNotifier)
    assert reminders.send_due_reminders(date(2028, 11, 1)).emailed == 1
    assert FakeSMTP.sent and FakeSMTP.sent[0][:2] == ("mail.example.cn", "holder@example.com")
    assert count(OutboxMessage) == 0
    assert db.session.scalar(select(RenewalReminder.email_state)) == "已发送"


def test_a_failing_smtp_server_leaves_the_notice_and_says_so(app, monkeypatch):
    holder = make_holder(ISSUED)
    reminders.save_contact(holder.user, "holder@example.com")

    class Broken:
        def send(self, *args):
            raise ConnectionRefusedError()

    outcome = reminders.send_due_reminders(date(2028, 11, 1), Broken())
    assert outcome.failed == 1 and count(RenewalReminder) == 1
    assert db.session.scalar(select(RenewalReminder.email_state)).startswith("发送失败")


def test_the_cli_sends_once(cli, monkeypatch):
    holder = make_holder(ISSUED)
    monkeypatch.setattr(clock, "now", lambda: datetime(2028, 11, 1, 9, 0))
    db.session.add(HolderContact(candidate_id=holder.record.candidate_id, school_id=holder.school.id,
                                 email="h@example.com"))
    first = cli.invoke(args=["renewals", "remind", "--date", "2028-11-01", "--json"])
    assert first.exit_code == 0 and json.loads(first.output)["reminded"] == 1
    again = cli.invoke(args=["renewals", "remind", "--date", "2028-11-01", "--json"])
    assert json.loads(again.output)["reminded"] == 0
    bad = cli.invoke(args=["renewals", "remind", "--date", "2028-13-01"])
    assert bad.exit_code == 1 and "格式不正确" in bad.output


def test_the_daily_task_runs_the_same_reminders(monkeypatch):
    from examadmin.renewals import tasks

    make_holder(ISSUED)
    monkeypatch.setattr(clock, "now", lambda: datetime(2028, 11, 1, 8, 0))
    monkeypatch.setattr(db.session, "commit", db.session.flush)  # the test's transaction rolls back
    assert tasks.run_reminders()["reminded"] == 1
    assert tasks.run_reminders()["reminded"] == 0


def test_the_holder_sees_the_notice_in_the_portal(client, monkeypatch):
    holder = make_holder(ISSUED)
    monkeypatch.setattr(clock, "now", lambda: datetime(2028, 11, 1, 9, 0))
    reminders.send_due_reminders()
    login_as(client, holder.user)
    page = client.get("/portal/").get_data(as_text=True)
    assert "可申请再登记" in page and 'data-testid="portal-notice"' in page
    page = client.get("/renewals/mine").get_data(as_text=True)
    assert 'data-testid="renewal-notice"' in page and "待再登记" in page


def test_the_holder_email_is_checked(client):
    from examadmin.core.errors import DomainError

    holder = make_holder(ISSUED)
    with pytest.raises(DomainError, match="邮箱地址格式不正确"):
        reminders.save_contact(holder.user, "not-an-address")


def test_the_outbox_page_masks_addresses_and_is_the_sysadmins(client):
    db.session.add(OutboxMessage(to_address="zhangsan@example.com", subject="【再登记提醒】测试", body="正文"))
    db.session.flush()
    login_as(client, make_user("sysadmin"))
    page = client.get("/renewals/outbox").get_data(as_text=True)
    assert "z***@example.com" in page and "zhangsan@" not in page
    login_as(client, make_user("org"))
    assert client.get("/renewals/outbox").status_code == 403


class Today:
    """A clock the test moves on."""

    def __init__(self, monkeypatch, day: datetime):
        self.day = day
        monkeypatch.setattr(clock, "now", lambda: self.day)


def _texts(client, holder):
    login_as(client, holder.user)
    portal = client.get("/portal/").get_data(as_text=True)
    mine = client.get("/renewals/mine").get_data(as_text=True)
    return portal, mine


def test_a_notice_is_shown_only_while_it_is_true(client, monkeypatch):
    """Window open, no application in review: shown. Submitted, approved, expired: gone."""
    from examadmin.renewals import services
    from tests.renewals.factories import add_hours

    holder = make_holder(ISSUED)
    now = Today(monkeypatch, datetime(2028, 11, 1, 9, 0))
    reminders.send_due_reminders()
    portal, mine = _texts(client, holder)
    label = holder.record.certificate_level.label
    assert portal.count('data-testid="portal-notice"') == 1 and mine.count('data-testid="renewal-notice"') == 1
    assert f"您的{label}可申请再登记（有效期至 2029-01-14）" in portal  # the certificate named once
    assert f"（{label}，有效期至" not in portal and f"（{label}，有效期至" not in mine
    add_hours(holder.record, "95", date(2027, 3, 1))
    application = services.create_application(holder.user, holder.record.id)
    assert 'data-testid="portal-notice"' in _texts(client, holder)[0]  # a draft: still to do
    services.attach(holder.user, application.id, "signed_form", b"%PDF-1.4 signed")
    services.submit_application(holder.user, application.id)
    portal, mine = _texts(client, holder)
    assert 'data-testid="portal-notice"' not in portal and 'data-testid="renewal-notice"' not in mine
    services.pass_to_province(holder.city_user, application.id)
    services.approve_application(holder.province_user, application.id)
    assert 'data-testid="portal-notice"' not in _texts(client, holder)[0]


def test_a_notice_goes_when_the_window_has_passed(client, monkeypatch):
    holder = make_holder(ISSUED)
    now = Today(monkeypatch, datetime(2028, 12, 20, 9, 0))
    reminders.send_due_reminders()
    assert len(reminders.notices(holder.user)) == 1  # one per certificate, though two were sent
    now.day = datetime(2029, 1, 15, 9, 0)  # the day after expiry: 未再登记, the window notice is false
    assert reminders.notices(holder.user) == []
    assert 'data-testid="portal-notice"' not in _texts(client, holder)[0]
    now.day = datetime(2030, 3, 1, 9, 0)  # 已失效
    assert reminders.notices(holder.user) == []


def test_the_cli_refuses_a_future_date_unless_allowed(cli, monkeypatch):
    make_holder(ISSUED)
    monkeypatch.setattr(clock, "now", lambda: datetime(2028, 10, 1, 9, 0))
    refused = cli.invoke(args=["renewals", "remind", "--date", "2028-11-01"])
    assert refused.exit_code == 1 and "晚于今天" in refused.output and "--allow-future" in refused.output
    assert count(RenewalReminder) == 0
    allowed = cli.invoke(args=["renewals", "remind", "--date", "2028-11-01", "--allow-future", "--json"])
    assert allowed.exit_code == 0 and json.loads(allowed.output)["reminded"] == 1


def test_the_email_names_the_menu_and_links_the_portal(app, monkeypatch):
    holder = make_holder(ISSUED)
    reminders.save_contact(holder.user, "holder@example.com")
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://exam.example.cn/")
    reminders.send_due_reminders(date(2028, 10, 15))
    body = db.session.scalar(select(OutboxMessage.body))
    assert "在“证书有效期与再登记”中" in body and "在“再登记”中" not in body
    assert "https://exam.example.cn/renewals/mine" in body
