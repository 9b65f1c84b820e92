"""The demo's `candidate` account is a portal account, opened by school1 and activated."""
from __future__ import annotations

from sqlalchemy import select

from examadmin.core.auth import User
from examadmin.extensions import db
from examadmin.portal import services
from examadmin.portal.models import PortalAccount


def test_the_demo_candidate_is_an_activated_portal_account(cli):
    assert cli.invoke(args=["demo"]).exit_code == 0
    user = db.session.scalar(select(User).where(User.username == "candidate"))
    account = db.session.scalar(select(PortalAccount).where(PortalAccount.candidate_id == user.candidate_id))
    assert account.activated_at is not None and account.user_id == user.id
    assert services.authenticate(account.candidate.id_number, "demo1234").id == user.id
    school1 = db.session.scalar(select(User).where(User.username == "school1"))
    # the accounts page counts it as 已激活, with the renewals demo's second holder (short of hours)
    assert services.count_accounts(school1)["active"] == 2
    assert cli.invoke(args=["demo"]).exit_code == 0  # idempotent
