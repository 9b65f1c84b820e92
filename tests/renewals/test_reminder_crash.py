"""Security review (issue 14): a reminder run that dies while sending e-mail must not send the same
reminders again next day. Each reminder is claimed (committed) before its e-mail goes out.

Commits for real (no_db_fixture): the point is what stays after the run's session is rolled back."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from examadmin.extensions import db
from examadmin.renewals import reminders
from examadmin.renewals.models import RenewalReminder
from tests.renewals.factories import make_holder

pytestmark = pytest.mark.no_db_fixture
ISSUED = date(2026, 1, 15)


class Crash(BaseException):
    """The process dies (killed worker, lost connection) in the middle of sending."""


def test_a_run_that_dies_while_sending_does_not_send_again(app):
    with app.app_context():
        first, second = make_holder(ISSUED), make_holder(ISSUED)
        for holder, address in ((first, "first@example.com"), (second, "second@example.com")):
            reminders.save_contact(holder.user, address)
        record_ids = {first.record.id, second.record.id}
        db.session.commit()
        db.session.remove()

    sent: list[str] = []

    class DiesOnSecond:
        def send(self, to, subject, body):
            sent.append(to)
            if len(sent) == 2:
                raise Crash()

    with app.app_context():
        with pytest.raises(Crash):
            try:
                reminders.send_due_reminders(date(2028, 11, 1), DiesOnSecond())
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
        db.session.remove()

    class Records:
        def send(self, to, subject, body):
            sent.append(to)

    with app.app_context():
        reminders.send_due_reminders(date(2028, 11, 2), Records())
        db.session.commit()
        rows = db.session.scalars(select(RenewalReminder).where(RenewalReminder.record_id.in_(record_ids))).all()
        states = sorted(r.email_state for r in rows)
        db.session.remove()
    assert sorted(sent) == ["first@example.com", "second@example.com"], sent  # each once, none again
    assert len(rows) == 2 and "已发送" in states and any(s.startswith("发送中") for s in states), states
