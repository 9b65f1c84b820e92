"""The demo's `candidate` account as the portal knows it: opened by school1 and activated, so
the candidate accounts page (考生账号) shows 陈同学 as 已激活 and the candidate can also sign in
at /portal/login with ID number and password. Through the portal's own services; idempotent."""
from __future__ import annotations

from sqlalchemy import select

from ..core.auth import User, find_user
from ..extensions import db
from . import services
from .models import PortalAccount

#: the demo password, the same as every demo account's
DEMO_PASSWORD = "demo1234"


def load_demo() -> dict[str, int]:
    school_user = find_user("school1")
    account_user = db.session.scalar(select(User).where(User.username == "candidate"))
    if school_user is None or account_user is None or account_user.candidate_id is None:
        return {}
    if db.session.scalar(select(PortalAccount.id).where(PortalAccount.candidate_id == account_user.candidate_id)):
        return {"activated": 0}
    (slip,) = services.open_accounts(school_user, [account_user.candidate_id])
    services.activate(slip.candidate.id_number, slip.code, DEMO_PASSWORD, DEMO_PASSWORD)
    return {"activated": 1}
