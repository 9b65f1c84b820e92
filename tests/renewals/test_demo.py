"""The demo: two holders in their window, one with enough hours and one short; verification still holds."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from examadmin.certificates import verification
from examadmin.core.auth import User
from examadmin.extensions import db
from examadmin.renewals import services
from examadmin.renewals.models import OutboxMessage
from examadmin.renewals.states import Validity


def test_the_demo_has_a_holder_with_enough_hours_and_one_short(cli):
    first = cli.invoke(args=["demo"])
    assert first.exit_code == 0, (first.output, repr(first.exception))
    users = db.session.scalar(select(func.count()).select_from(User))
    assert f"新建账号 {users} 个" in first.output  # holder2 counted too
    enough_user = db.session.scalar(select(User).where(User.username == "candidate"))
    short_user = db.session.scalar(select(User).where(User.username == "holder2"))
    (enough,) = services.my_certificates(enough_user)
    (short,) = services.my_certificates(short_user)
    assert enough.cycle.state == short.cycle.state == Validity.DUE
    assert services.apply_page(enough_user, enough.record.id).hours == Decimal("96.0")
    assert services.apply_page(short_user, short.record.id).hours == Decimal("60.0")
    for holder in (enough, short):  # the number carries the (back-dated) year of issue and still verifies
        assert holder.record.number.startswith(f"{holder.record.issue_date:%Y}")
        by_number = verification.verify_by_number(holder.record.number, holder.record.id_number)
        assert by_number.found and by_number.signature_ok
    answer = verification.verify_by_code(enough.record.verify_code)
    assert answer.status == verification.VALID and answer.signature_ok and answer.valid_until == enough.cycle.valid_until
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
    assert cli.invoke(args=["demo"]).exit_code == 0  # idempotent: nothing sent or added twice
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
    assert services.apply_page(enough_user, enough.record.id).hours == Decimal("96.0")
