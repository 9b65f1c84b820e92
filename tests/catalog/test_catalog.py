"""Master data rules and pages."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from examadmin.catalog import services
from examadmin.catalog.models import Certificate, City, Level, Major, Province, School, SchoolType
from examadmin.config import ROOT
from examadmin.core.auth import SYSTEM
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from tests.conftest import login_as, make_city, make_school, make_user, province, the_certificate


def test_the_schema_made_by_migrations_matches_the_models():
    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    assert compare_metadata(context, db.metadata) == []


def test_reference_data_is_complete():
    names = set(db.session.scalars(select(Province.name)))
    assert len(names) == 32 and {"重庆市", "新疆生产建设兵团", "西藏自治区"} <= names
    certificate = the_certificate()
    assert certificate.name == "社会心理服务职业技能等级证书"
    assert [lv.level for lv in certificate.levels] == [Level.JUNIOR, Level.MIDDLE, Level.SENIOR]
    assert db.session.scalar(select(func.count(Major.id))) == 102


def test_seeding_again_adds_nothing():
    assert services.seed_reference_data(SYSTEM, ROOT / "sample_data") == {"provinces": 0, "majors": 0,
                                                                          "certificates": 0}


@pytest.mark.parametrize("data,message", [
    ({"code": "123", "name": "坏学院", "type": "高职专科院校"}, "10 位数字"),
    ({"code": "5100000000", "name": "", "type": "高职专科院校"}, "请填写院校名称"),
    ({"code": "5100000000", "name": "无类型学院", "type": "大学"}, "请选择院校类型"),
])
def test_school_field_errors(data, message):
    with pytest.raises(DomainError, match=message):
        services.save_school(SYSTEM, {**data, "province_id": province().id})


def test_school_city_must_be_in_its_province():
    sichuan_city = make_city("51")
    with pytest.raises(DomainError, match="不属于重庆市"):
        services.save_school(SYSTEM, {"code": "5100000099", "name": "错省学院", "type": "高职专科院校",
                                      "province_id": province("50").id, "city_id": sichuan_city.id})


def test_school_code_and_name_are_unique():
    school = make_school()
    with pytest.raises(DomainError, match="已被使用"):
        services.save_school(SYSTEM, {"code": school.code, "name": "另一所", "type": "本科院校",
                                      "province_id": school.province_id})
    with pytest.raises(DomainError, match="已存在"):
        services.save_school(SYSTEM, {"code": "5199999999", "name": school.name, "type": "本科院校",
                                      "province_id": school.province_id})


def test_city_code_starts_with_the_province_code():
    with pytest.raises(DomainError, match="以省份代码 50 开头"):
        services.save_city(SYSTEM, {"province_id": province("50").id, "code": "510199", "name": "错码"})


def test_major_is_unique_per_type_version_and_code():
    with pytest.raises(DomainError, match="已有专业代码"):
        services.save_major(SYSTEM, {"school_type": "本科院校", "level": "本科", "catalogue_version": "2020",
                                     "code": "071102", "name": "应用心理学"})


def test_majors_fit_the_school_type():
    rows = services.majors_for_school_type(SchoolType.HIGHER_VOCATIONAL)
    assert rows and all(m.school_type == SchoolType.HIGHER_VOCATIONAL for m in rows)


def test_a_school_user_cannot_change_master_data(client):
    login_as(client, make_user("school"))
    assert client.get("/catalog/schools/new").status_code == 403
    assert client.post("/catalog/certificates/new", data={"code": "X", "name": "x", "org_name": "x"}).status_code == 403
    with pytest.raises(Exception):
        services.save_province(make_user("org"), {"code": "99", "name": "测试省"})


def test_sysadmin_adds_a_school_through_the_form(client):
    login_as(client, make_user("sysadmin"))
    city = make_city("50")
    response = client.post("/catalog/schools/new", data={
        "code": "5150009999", "name": "表单新增学院", "type": "本科层次职业学校",
        "province_id": city.province_id, "city_id": city.id, "address": "重庆"})
    assert response.status_code == 302
    school = db.session.scalar(select(School).where(School.code == "5150009999"))
    assert school.type == SchoolType.VOCATIONAL_BACHELOR and school.city_id == city.id
    assert "表单新增学院" in client.get("/catalog/schools?q=表单").get_data(as_text=True)


def test_an_invalid_form_comes_back_with_errors_and_saves_nothing(client):
    login_as(client, make_user("sysadmin"))
    before = db.session.scalar(select(func.count(School.id)))
    body = client.post("/catalog/schools/new", data={"code": "12", "name": "", "type": "高职专科院校",
                                                     "province_id": ""}).get_data(as_text=True)
    assert "学校标识码为 10 位数字" in body and "请填写院校名称" in body
    assert db.session.scalar(select(func.count(School.id))) == before


def test_org_disables_and_enables_a_certificate(client):
    org = make_user("org")
    login_as(client, org)
    cert = services.save_certificate(SYSTEM, {"code": "T-2", "name": "测试证书二", "org_name": "测试"})
    db.session.commit()
    client.post(f"/catalog/certificates/{cert.id}/state", data={"enabled": "0"})
    assert db.session.get(Certificate, cert.id).enabled is False
    again = client.post(f"/catalog/certificates/{cert.id}/state", data={"enabled": "0"}, follow_redirects=True)
    assert "不能执行「停用」" in again.get_data(as_text=True)
    client.post(f"/catalog/certificates/{cert.id}/state", data={"enabled": "1"})
    assert db.session.get(Certificate, cert.id).enabled is True


def test_the_certificate_list_reads_on_a_phone(client):
    login_as(client, make_user("school"))
    page = client.get("/catalog/certificates").get_data(as_text=True)
    # stacked into labelled lines below 576 px, and scrolling inside its box above: never the page
    assert '<div class="table-responsive bg-white border rounded">' in page
    assert 'table-stack" data-testid="certificates-table"' in page and 'data-label="培训评价组织"' in page


def test_a_level_is_not_added_twice():
    with pytest.raises(DomainError, match="已有初级"):
        services.add_level(SYSTEM, the_certificate().id, "初级")


def test_school_list_pages(client):
    login_as(client, make_user("org"))
    for _ in range(25):
        make_school()
    db.session.commit()
    body = client.get("/catalog/schools").get_data(as_text=True)
    assert "下一页" in body and "第 1 /" in body
    assert client.get("/catalog/schools?page=2").status_code == 200


def test_cli_user_commands(cli):
    school = make_school()
    result = cli.invoke(args=["users", "create", "--username", "clischool", "--name", "命令行老师", "--role",
                              "school", "--school", school.code, "--password", "abc12345"])
    assert result.exit_code == 0, result.output
    assert "已创建用户 clischool" in result.output
    bad = cli.invoke(args=["users", "create", "--username", "clischool", "--name", "重复", "--role", "org",
                           "--password", "abc12345"])
    assert bad.exit_code == 1 and "已被使用" in bad.output
    assert cli.invoke(args=["users", "disable", "clischool"]).exit_code == 0
    reset = cli.invoke(args=["users", "reset-password", "clischool"])
    assert reset.exit_code == 0 and "新密码" in reset.output
    usage = cli.invoke(args=["users", "create", "--username", "x"])
    assert usage.exit_code == 2


def test_demo_is_stable_and_idempotent(cli):
    first = cli.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    second = cli.invoke(args=["demo"])
    assert "新建账号 0 个" in second.output
    school = db.session.scalar(select(School).where(School.code == "5150000001"))
    assert school.type == SchoolType.HIGHER_VOCATIONAL and school.province.name == "重庆市"
    assert {s.code for s in db.session.scalars(select(School).where(School.code.like("515000000%")))} == {
        "5150000001", "5150000002", "5150000003"}
    assert db.session.scalar(select(City).where(City.code == "500106")) is not None


def test_demo_refuses_a_real_deployment(cli):
    make_user("org", username="real_person")
    result = cli.invoke(args=["demo"])
    assert result.exit_code == 1 and "不是演示环境" in result.output
