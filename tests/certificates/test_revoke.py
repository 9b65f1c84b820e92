"""Revocation (撤销): the org, with a reason; the number is never reused."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Forbidden, NotFound

from examadmin.certificates import revocation, verification
from examadmin.certificates.models import CertificateRecord
from examadmin.certificates.states import CertificateState
from examadmin.core.audit import AuditLog
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from tests.conftest import login_as, make_user

from .factories_issued import make_plan_and_site, make_record


@pytest.fixture
def issued():
    plan, site, _ = make_plan_and_site()
    return make_record(plan, site)


def test_org_revokes_with_a_reason_and_it_is_audited(issued):
    org = make_user("org")
    revocation.revoke(org, issued.id, "  冒名顶替考试  ")
    assert issued.state == CertificateState.REVOKED
    assert issued.revoke_reason == "冒名顶替考试"
    assert issued.revoked_at is not None
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "certificate.revoke"))
    assert entry is not None and "冒名顶替考试" in str(entry.after)


def test_a_reason_is_required_and_bounded(issued):
    org = make_user("org")
    with pytest.raises(DomainError, match="请填写撤销原因"):
        revocation.revoke(org, issued.id, "   ")
    with pytest.raises(DomainError, match="不能超过"):
        revocation.revoke(org, issued.id, "理" * 501)
    assert issued.state == CertificateState.ISSUED


@pytest.mark.parametrize("state", [CertificateState.ORG_SIGNING, CertificateState.READY,
                                   CertificateState.GENERATING, CertificateState.REVOKED])
def test_only_an_issued_certificate_can_be_revoked(state):
    plan, site, _ = make_plan_and_site()
    record = make_record(plan, site, state=state)
    with pytest.raises(DomainError, match="不能执行「撤销」"):
        revocation.revoke(make_user("org"), record.id, "原因")


@pytest.mark.parametrize("role", ["school", "province", "city", "candidate", "sysadmin"])
def test_only_the_org_revokes(role, issued):
    user = make_user(role, school=issued.school) if role in ("school", "candidate") else make_user(role)
    with pytest.raises(Forbidden):
        revocation.revoke(user, issued.id, "原因")


def test_an_unknown_record_is_404(issued):
    with pytest.raises(NotFound):
        revocation.revoke(make_user("org"), 2 ** 70, "原因")


def test_the_revoked_number_is_never_reused(issued):
    org = make_user("org")
    revocation.revoke(org, issued.id, "原因")
    plan, site, _ = make_plan_and_site()
    other = make_record(plan, site)
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.execute(update(CertificateRecord).where(CertificateRecord.id == other.id)
                               .values(number=issued.number))
    db.session.expire_all()
    assert db.session.scalar(select(CertificateRecord.number).where(CertificateRecord.id == issued.id)) == issued.number


def test_revoke_through_the_page_and_the_public_sees_it(app, client, issued):
    org_client = app.test_client()
    login_as(org_client, make_user("org"))
    page = org_client.get(f"/certificates/{issued.id}/history").get_data(as_text=True)
    assert "撤销证书" in page
    response = org_client.post(f"/certificates/{issued.id}/revoke", data={"reason": ""}, follow_redirects=True)
    assert "请填写撤销原因" in response.get_data(as_text=True)
    response = org_client.post(f"/certificates/{issued.id}/revoke", data={"reason": "证书信息造假"},
                               follow_redirects=True)
    assert "证书已撤销" in response.get_data(as_text=True)
    public = client.get(f"/certificates/v/{issued.verify_code}").get_data(as_text=True)
    assert "已撤销" in public
    assert verification.verify_by_number(issued.number, issued.id_number).status == verification.REVOKED

    school_client = app.test_client()
    login_as(school_client, make_user("school", school=issued.school))
    page = school_client.get(f"/certificates/{issued.id}/history").get_data(as_text=True)
    assert "撤销证书" not in page and "证书信息造假" in page
    assert school_client.post(f"/certificates/{issued.id}/revoke", data={"reason": "x"}).status_code == 403
