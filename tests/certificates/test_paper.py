"""Paper certificates: the org records 印制中 and 已寄出 per school batch; the school sees its own."""
from __future__ import annotations

import pytest
from werkzeug.exceptions import Forbidden

from examadmin.certificates import paper
from examadmin.certificates.states import CertificateState, PaperState
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from tests.conftest import login_as, make_user

from .factories_issued import make_plan_and_site, make_record


@pytest.fixture
def setup():
    plan, site, school_user = make_plan_and_site()
    issued = [make_record(plan, site) for _ in range(3)]
    waiting = make_record(plan, site, state=CertificateState.READY)
    return plan, site, school_user, issued, waiting


def test_a_batch_takes_the_issued_certificates_of_the_school_and_plan(setup):
    plan, site, _, issued, waiting = setup
    org = make_user("org")
    batch = paper.start_printing(org, plan.id, site.school_id)
    assert batch.state == PaperState.PRINTING
    db.session.expire_all()
    assert all(r.paper_batch_id == batch.id for r in issued)
    assert waiting.paper_batch_id is None
    with pytest.raises(DomainError, match="没有待印制"):
        paper.start_printing(org, plan.id, site.school_id)
    # a certificate issued later goes into a new batch
    later = make_record(plan, site)
    second = paper.start_printing(org, plan.id, site.school_id)
    db.session.expire_all()
    assert later.paper_batch_id == second.id != batch.id


def test_ship_records_carrier_and_tracking_and_moves_once(setup):
    plan, site, _, _, _ = setup
    org = make_user("org")
    batch = paper.start_printing(org, plan.id, site.school_id)
    with pytest.raises(DomainError, match="快递公司"):
        paper.ship(org, batch.id, "", "SF1234567890")
    with pytest.raises(DomainError, match="快递单号"):
        paper.ship(org, batch.id, "顺丰速运", "12")
    with pytest.raises(DomainError, match="快递单号"):
        paper.ship(org, batch.id, "顺丰速运", "SF<script>")
    assert batch.state == PaperState.PRINTING
    paper.ship(org, batch.id, "顺丰速运", "SF1234567890")
    assert (batch.state, batch.carrier, batch.tracking_number) == (PaperState.SHIPPED, "顺丰速运", "SF1234567890")
    assert batch.shipped_at is not None
    with pytest.raises(DomainError, match="不能执行「寄出」"):
        paper.ship(org, batch.id, "顺丰速运", "SF0000000000")


@pytest.mark.parametrize("role", ["school", "province", "sysadmin"])
def test_only_the_org_records_paper(role, setup):
    plan, site, school_user, _, _ = setup
    user = school_user if role == "school" else make_user(role)
    with pytest.raises(Forbidden):
        paper.start_printing(user, plan.id, site.school_id)


def test_the_school_sees_its_own_batches_on_its_list(app, setup):
    plan, site, school_user, _, _ = setup
    org = make_user("org")
    batch = paper.start_printing(org, plan.id, site.school_id)
    paper.ship(org, batch.id, "中国邮政EMS", "EMS987654321")
    other_plan, other_site, other_user = make_plan_and_site()
    make_record(other_plan, other_site)
    other_batch = paper.start_printing(org, other_plan.id, other_site.school_id)

    school = app.test_client()
    login_as(school, school_user)
    page = school.get("/certificates/paper").get_data(as_text=True)
    assert "已寄出" in page and "EMS987654321" in page
    assert f"paper-state-{other_batch.id}" not in page
    assert "登记寄出" not in page and "登记印制中" not in page
    assert school.post("/certificates/paper/start", data={"plan_id": plan.id, "school_id": site.school_id}).status_code == 403


def test_the_org_page_starts_and_ships(app, setup):
    plan, site, _, issued, _ = setup
    org = app.test_client()
    login_as(org, make_user("org"))
    page = org.get("/certificates/paper").get_data(as_text=True)
    assert f"paper-start-{site.school_id}" in page
    page = org.post("/certificates/paper/start", data={"plan_id": plan.id, "school_id": site.school_id},
                    follow_redirects=True).get_data(as_text=True)
    assert "已登记印制" in page and "印制中" in page
    db.session.expire_all()
    batch_id = issued[0].paper_batch_id
    assert org.post("/certificates/paper/start", data={"plan_id": "x", "school_id": ""},
                    follow_redirects=True).status_code == 200
    page = org.post(f"/certificates/paper/{batch_id}/ship", data={"carrier": "顺丰速运", "tracking_number": "1"},
                    follow_redirects=True).get_data(as_text=True)
    assert "快递单号应为" in page
    page = org.post(f"/certificates/paper/{batch_id}/ship",
                    data={"carrier": "顺丰速运", "tracking_number": "SF1234567890"},
                    follow_redirects=True).get_data(as_text=True)
    assert "已登记寄出" in page and "SF1234567890" in page
