"""Exam-site applications, review and the "usable site" check."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from examadmin.catalog import services as catalog
from examadmin.catalog.models import Level
from examadmin.core import audit
from examadmin.core.auth import SYSTEM
from examadmin.core.errors import DomainError
from examadmin.core.permissions import ForbiddenAction, NotInScope
from examadmin.extensions import db
from examadmin.sites import services
from examadmin.sites.models import REQUIRED_FOR_COMPUTER_EXAMS, ExamSite
from examadmin.sites.states import SiteState
from tests.conftest import login_as, the_certificate
from tests.exams.factories import make_subject
from tests.sites.factories import level_of, make_school, make_site, make_user, site_data


def test_a_school_applies_and_the_name_is_generated():
    school = make_school(name="重庆某某职业学院")
    user = make_user("school", school=school)
    site = services.apply_site(user, site_data(Level.JUNIOR, name="手填的名字"))
    assert site.name == "重庆某某职业学院社会心理服务初级"
    assert site.state == SiteState.PENDING and site.school_id == school.id
    entry = audit.history(site)[0]
    assert entry.action == "exam_site.apply" and entry.school_id == school.id


@pytest.mark.parametrize("facility", REQUIRED_FOR_COMPUTER_EXAMS)
def test_a_missing_required_facility_is_refused_by_name(facility):
    labels = {"has_cameras": "监控摄像头", "has_computers": "计算机", "has_network": "网络",
              "has_headsets": "耳机", "has_microphones": "麦克风"}
    with pytest.raises(DomainError, match=f"缺少{labels[facility]}") as exc:
        services.apply_site(make_user("school"), site_data(**{facility: False}))
    assert exc.value.field == facility
    assert db.session.scalar(select(func.count(ExamSite.id))) == 0


def test_seat_partitions_are_optional():
    assert services.apply_site(make_user("school"), site_data(has_partitions=False)).state == SiteState.PENDING


def test_facilities_are_not_required_when_no_subject_of_the_level_is_computer_based():
    make_subject(Level.SENIOR, mode="笔试")
    make_subject(Level.SENIOR, mode="实操")
    bare = {f: False for f in REQUIRED_FOR_COMPUTER_EXAMS}
    site = services.apply_site(make_user("school"), site_data(Level.SENIOR, computer_rooms=0, **bare))
    assert site.state == SiteState.PENDING
    make_subject(Level.SENIOR, mode="机考")  # now the level has a computer-based subject
    with pytest.raises(DomainError, match="缺少监控摄像头"):
        services.update_site(make_user("school", school=site.school), site.id,
                             site_data(Level.SENIOR, computer_rooms=0, **bare))


def test_a_computer_based_level_needs_a_computer_room():
    with pytest.raises(DomainError, match="机房数量至少为 1") as exc:
        services.apply_site(make_user("school"), site_data(computer_rooms=0))
    assert exc.value.field == "computer_rooms"


@pytest.mark.parametrize("overrides,field,message", [
    ({"address": " "}, "address", "请填写站点地址"),
    ({"contact_name": ""}, "contact_name", "请填写联系人"),
    ({"contact_phone": "12345"}, "contact_phone", "联系电话"),
    ({"seats": 0}, "seats", "考位总数应在 1 到 100000 之间"),
    ({"seats": "很多"}, "seats", "请填写考位总数"),
    ({"computer_rooms": -1}, "computer_rooms", "计算机机房数量应在 0 到 500 之间"),
    ({"certificate_level_id": 999999}, "certificate_level_id", "请选择证书与等级"),
])
def test_bad_input_names_the_field(overrides, field, message):
    with pytest.raises(DomainError, match=message) as exc:
        services.apply_site(make_user("school"), site_data(**overrides))
    assert exc.value.field == field


def test_landline_numbers_are_accepted():
    site = services.apply_site(make_user("school"), site_data(contact_phone="023-65001234"))
    assert site.contact_phone == "023-65001234"


def test_one_application_per_school_and_level():
    user = make_user("school")
    services.apply_site(user, site_data(Level.JUNIOR))
    with pytest.raises(DomainError, match="已申报过"):
        services.apply_site(user, site_data(Level.JUNIOR))
    assert services.apply_site(user, site_data(Level.MIDDLE)).state == SiteState.PENDING


def test_a_disabled_certificate_takes_no_applications():
    catalog.set_certificate_enabled(SYSTEM, the_certificate().id, False)
    with pytest.raises(DomainError, match="已停用"):
        services.apply_site(make_user("school"), site_data())


def test_reject_needs_a_reason_and_the_school_resubmits_the_same_record():
    user, org = make_user("school"), make_user("org")
    site = services.apply_site(user, site_data(seats=10))
    with pytest.raises(DomainError, match="请填写驳回原因"):
        services.reject_site(org, site.id, "  ")
    assert site.state == SiteState.PENDING
    services.reject_site(org, site.id, "考位数量不足，请核实")
    assert site.state == SiteState.REJECTED and site.reason == "考位数量不足，请核实"
    with pytest.raises(DomainError, match="不能执行"):
        services.approve_site(org, site.id)
    again = services.update_site(user, site.id, site_data(seats=200))
    assert again.id == site.id and again.state == SiteState.PENDING and again.seats == 200
    assert db.session.scalar(select(func.count(ExamSite.id))) == 1
    assert [e.action for e in audit.history(site)] == [
        "exam_site.apply", "exam_site.reject", "exam_site.update", "exam_site.resubmit"]
    services.approve_site(org, site.id)
    assert site.state == SiteState.APPROVED and site.reason == ""


def test_the_level_stays_what_it_was_applied_for():
    user = make_user("school")
    site = services.apply_site(user, site_data(Level.JUNIOR))
    services.update_site(user, site.id, site_data(Level.SENIOR, address="新地址"))
    assert site.certificate_level.level == Level.JUNIOR and site.address == "新地址"


def test_an_approved_site_is_not_edited_by_the_school():
    site = make_site()
    with pytest.raises(DomainError, match="不能再修改"):
        services.update_site(make_user("school", school=site.school), site.id, site_data())


def test_a_bad_edit_changes_nothing():
    user = make_user("school")
    site = services.apply_site(user, site_data(seats=50))
    services.reject_site(make_user("org"), site.id, "请补充")
    db.session.commit()
    with pytest.raises(DomainError):
        services.update_site(user, site.id, site_data(seats=80, has_network=False))
    db.session.rollback()
    site = db.session.get(ExamSite, site.id)
    assert site.seats == 50 and site.state == SiteState.REJECTED


def test_only_an_approved_enabled_site_is_usable():
    org = make_user("org")
    site = make_site(approved=False)
    for expected in ("待审核",):
        with pytest.raises(DomainError, match=expected):
            services.require_usable_site(site)
    services.approve_site(org, site.id)
    assert services.require_usable_site(site) is site
    with pytest.raises(DomainError, match="请填写停用原因"):
        services.disable_site(org, site.id, "")
    services.disable_site(org, site.id, "监控设备故障")
    with pytest.raises(DomainError, match="已停用"):
        services.require_usable_site(site)
    services.enable_site(org, site.id)
    assert services.require_usable_site(site) is site
    rejected = make_site(approved=False)
    services.reject_site(org, rejected.id, "不符合")
    with pytest.raises(DomainError, match="已驳回"):
        services.require_usable_site(rejected)


def test_roles_that_may_not_review_or_apply():
    site = make_site(approved=False)
    with pytest.raises(ForbiddenAction):
        services.approve_site(make_user("school", school=site.school), site.id)
    with pytest.raises(ForbiddenAction):
        services.approve_site(make_user("province"), site.id)
    with pytest.raises(ForbiddenAction):
        services.apply_site(make_user("org"), site_data())


def test_a_school_cannot_touch_another_schools_site():
    site = make_site(approved=False)
    stranger = make_user("school")
    with pytest.raises(NotInScope):
        services.update_site(stranger, site.id, site_data())
    with pytest.raises(NotInScope):
        services.get_site(stranger, site.id)


def test_the_queue_filters_by_province_state_and_level():
    org = make_user("org")
    cq = make_site(make_user("school", school=make_school("50")), approved=False)
    sc = make_site(make_user("school", school=make_school("51")), Level.MIDDLE)
    rows = lambda **kw: set(db.session.scalars(services.list_sites(org, **kw)))  # noqa: E731
    assert rows() == {cq, sc}
    assert rows(province_id=cq.school.province_id) == {cq}
    assert rows(state="已通过") == {sc}
    assert rows(certificate_level_id=level_of(Level.MIDDLE).id) == {sc}
    assert rows(q=cq.school.code) == {cq}
    with pytest.raises(DomainError, match="状态筛选无效"):
        rows(state="乱写")
    counts = services.count_by_state(org)
    assert counts[SiteState.PENDING] == 1 and counts[SiteState.APPROVED] == 1
    province = make_user("province", province_code="51")
    assert set(db.session.scalars(services.list_sites(province))) == {sc}


# ---- pages ------------------------------------------------------------------------------

def test_school_applies_through_the_form_and_sees_field_errors(client):
    school = make_school(name="表单测试职业学院")
    user = make_user("school", school=school)
    login_as(client, user)
    form = {**site_data(), "has_microphones": ""}
    form = {k: v for k, v in form.items() if v not in (False, "")}
    body = client.post("/sites/new", data=form).get_data(as_text=True)
    assert "缺少麦克风" in body
    assert db.session.scalar(select(func.count(ExamSite.id))) == 0
    form["has_microphones"] = "y"
    response = client.post("/sites/new", data=form)
    assert response.status_code == 302
    site = db.session.scalar(select(ExamSite))
    assert site.name == "表单测试职业学院社会心理服务初级"
    page = client.get(f"/sites/{site.id}").get_data(as_text=True)
    assert "待审核" in page and "申报考核站点" in page


def test_org_rejects_and_approves_through_the_pages(client):
    site = make_site(approved=False)
    db.session.commit()
    login_as(client, make_user("org"))
    queue = client.get("/sites/?state=待审核").get_data(as_text=True)
    assert site.name in queue and "审核" in queue
    refused = client.post(f"/sites/{site.id}/reject", data={"reason": ""}, follow_redirects=True)
    assert "请填写驳回原因" in refused.get_data(as_text=True)
    client.post(f"/sites/{site.id}/reject", data={"reason": "请补充监控说明"})
    assert db.session.get(ExamSite, site.id).state == SiteState.REJECTED
    login_as(client, make_user("school", school=site.school))
    page = client.get(f"/sites/{site.id}").get_data(as_text=True)
    assert "请补充监控说明" in page and "修改并重新提交" in page
    form = {k: v for k, v in site_data().items() if v is not False}
    assert client.post(f"/sites/{site.id}/edit", data=form).status_code == 302
    assert db.session.get(ExamSite, site.id).state == SiteState.PENDING
    login_as(client, make_user("org"))
    client.post(f"/sites/{site.id}/approve")
    assert db.session.get(ExamSite, site.id).state == SiteState.APPROVED
    client.post(f"/sites/{site.id}/disable", data={"reason": "整改"})
    assert db.session.get(ExamSite, site.id).state == SiteState.DISABLED
    client.post(f"/sites/{site.id}/enable")
    assert db.session.get(ExamSite, site.id).state == SiteState.APPROVED


def test_another_schools_site_answers_404(client):
    site = make_site(approved=False)
    db.session.commit()
    login_as(client, make_user("school"))
    assert client.get(f"/sites/{site.id}").status_code == 404
    assert client.get(f"/sites/{site.id}/edit").status_code == 404
    assert site.name not in client.get("/sites/").get_data(as_text=True)


def test_a_school_cannot_review_its_own_site_through_the_pages(client):
    site = make_site(approved=False)
    db.session.commit()
    login_as(client, make_user("school", school=site.school))
    assert client.post(f"/sites/{site.id}/approve").status_code == 403
    assert client.post(f"/sites/{site.id}/reject", data={"reason": "x"}).status_code == 403
    assert db.session.get(ExamSite, site.id).state == SiteState.PENDING
    assert "site-review" not in client.get(f"/sites/{site.id}").get_data(as_text=True)
