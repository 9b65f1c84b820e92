"""The demo after issue: one certificate revoked, paper sent, the first one verifiable; idempotent."""
from __future__ import annotations

from sqlalchemy import select

from examadmin.certificates import demo, verification
from examadmin.certificates.models import Verification
from examadmin.certificates.states import CertificateState, PaperState
from examadmin.catalog.models import School
from examadmin.core.auth import User
from examadmin.extensions import db
from tests.conftest import make_school, make_user

from .factories_issued import make_plan_and_site, make_record


def _demo_school_and_org():
    school = db.session.scalar(select(School).where(School.code == demo.DEMO_SCHOOL)) or make_school()
    school.code = demo.DEMO_SCHOOL
    if db.session.scalar(select(User).where(User.username == "org")) is None:
        make_user("org", username="org")
    return school


def test_nothing_issued_means_nothing_done():
    _demo_school_and_org()
    assert demo.load_demo() == {}


def test_demo_revokes_one_ships_paper_and_is_idempotent():
    school = _demo_school_and_org()
    plan, site, _ = make_plan_and_site(make_user("school", school=school))
    records = [make_record(plan, site) for _ in range(3)]
    done = demo.load_demo()
    assert done["revoked"] == 1 and done["paper_batches"] == 1
    db.session.expire_all()
    assert records[-1].state == CertificateState.REVOKED
    assert all(r.paper_batch.state == PaperState.SHIPPED for r in records[:-1])
    assert verification.verify_by_number(done["try_number"], done["try_id_number"]).status == verification.VALID
    assert db.session.scalar(select(Verification).where(Verification.record_id == records[0].id)) is not None
    again = demo.load_demo()
    assert again["revoked"] == 0 and again["paper_batches"] == 0
    assert sum(r.state == CertificateState.REVOKED for r in records) == 1
