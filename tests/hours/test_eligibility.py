"""Eligibility at registration (issue 14 item 2): registering for 中级 or 高级 checks the person's
verified 督导 and 实践 hours against the level's requirement; 拒绝 refuses naming the missing hours,
提醒 registers and warns. The org sets the requirement per level."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from examadmin.catalog.models import Level
from examadmin.core.audit import AuditLog
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.hours import requirements
from examadmin.hours.models import HoursRequirement, RequirementMode
from examadmin.hours.states import HoursState
from examadmin.registrations import services as registrations
from examadmin.registrations.importer import import_rows as import_registrations
from examadmin.registrations.models import Registration
from tests.conftest import login_as
from tests.hours.factories import add_hours, holder
from tests.registrations.factories import ready_school, verified
from tests.registrations.helpers import row, write_sheet
from tests.sites.factories import level_of, make_user

J, M = Level.JUNIOR, Level.MIDDLE


def register(school, candidates, level=M, warnings=None):
    return registrations.register_candidates(school.user, school.plan.id, school.sites[level].id,
                                             [c.id for c in candidates], warnings=warnings)


def social(school, **kw):
    return verified(school.user, kind="社会考生", **kw)


def registered(school) -> int:
    return db.session.scalar(select(func.count()).select_from(Registration)
                             .where(Registration.school_id == school.school_id))


def set_mode(level: Level, mode: RequirementMode, supervision=None, practice=None):
    current = requirements.requirement_for(level_of(level))
    return requirements.save_requirement(make_user("org"), level_of(level).id,
                                         supervision if supervision is not None else current.min_supervision,
                                         practice if practice is not None else current.min_practice, mode.value)


def test_middle_level_is_refused_without_verified_hours_naming_what_is_missing():
    school = ready_school()
    person = social(school, name="王督导")
    add_hours(person, "督导", "20")
    add_hours(person, "实践", "125")
    add_hours(person, "督导", "100", state=HoursState.PENDING)  # only verified hours count
    with pytest.raises(DomainError) as refused:
        register(school, [person])
    assert "王督导" in refused.value.message
    assert "督导学时已核验 20 小时，中级报考要求 50 小时，尚差 30 小时" in refused.value.message
    assert "实践学时" not in refused.value.message
    assert registered(school) == 0


def test_both_kinds_missing_are_both_named_and_halves_are_shown():
    school = ready_school()
    person = social(school)
    add_hours(person, "督导", "49.5")
    with pytest.raises(DomainError) as refused:
        register(school, [person])
    assert "督导学时已核验 49.5 小时，中级报考要求 50 小时，尚差 0.5 小时" in refused.value.message
    assert "实践学时已核验 0 小时，中级报考要求 125 小时，尚差 125 小时" in refused.value.message


def test_enough_verified_hours_register_and_hours_follow_the_person_across_schools():
    school = ready_school()
    person = social(school)
    elsewhere, _ = holder(number=person.id_number)  # the same person's record at another school
    add_hours(elsewhere, "督导", "50")
    add_hours(person, "实践", "125")
    assert len(register(school, [person])) == 1


def test_the_junior_level_asks_no_hours():
    school = ready_school()
    assert len(register(school, [verified(school.user)], level=J)) == 1


def test_warn_mode_registers_and_returns_the_warning():
    school = ready_school()
    person = social(school, name="赵提醒")
    set_mode(M, RequirementMode.WARN)
    warnings: list[str] = []
    assert len(register(school, [person], warnings=warnings)) == 1
    assert len(warnings) == 1 and "赵提醒" in warnings[0]
    assert "督导学时已核验 0 小时，中级报考要求 50 小时，尚差 50 小时" in warnings[0] and "仍可报考" in warnings[0]


def test_a_zero_requirement_asks_nothing():
    school = ready_school()
    set_mode(M, RequirementMode.REFUSE, supervision=0, practice=0)
    assert len(register(school, [social(school)])) == 1


def test_the_registration_import_reports_refusals_and_warnings_by_row(tmp_path):
    school = ready_school()
    short, ready = social(school, name="差学时"), social(school, name="够学时")
    add_hours(ready, "督导", "50")
    add_hours(ready, "实践", "125")
    path = write_sheet(tmp_path / "m.xlsx", [row(ready, school.sites[M]), row(short, school.sites[M])])
    report = import_registrations(school.user, school.school_id, school.plan.id, path, file_name="m.xlsx")
    assert not report.imported and registered(school) == 0
    assert [(p.row, p.column) for p in report.errors] == [(3, "证件号码")]
    assert "差学时" in report.errors[0].message and "尚差 50 小时" in report.errors[0].message
    set_mode(M, RequirementMode.WARN)
    warned = import_registrations(school.user, school.school_id, school.plan.id, path, file_name="m.xlsx")
    assert warned.imported and warned.created == 2 and not warned.errors
    assert [(w.row, w.column) for w in warned.warnings] == [(3, "证件号码")]
    assert warned.as_dict()["warnings"][0]["row"] == 3


def test_the_registration_page_shows_the_warning(client):
    school = ready_school()
    person = social(school, name="页面提醒")
    set_mode(M, RequirementMode.WARN)
    db.session.commit()
    login_as(client, school.user)
    page = client.post("/registrations/new", data={
        "plan_id": school.plan.id, "site_id": school.sites[M].id, "ids": [person.id], "submit": "1"},
        follow_redirects=True).get_data(as_text=True)
    assert "已报考 1 名考生" in page and "页面提醒" in page and "尚差 50 小时" in page
    # the warning is not only a one-time flash: the registration's history keeps it
    registration = db.session.scalar(select(Registration).where(Registration.candidate_id == person.id))
    detail = client.get(f"/registrations/{registration.id}").get_data(as_text=True)
    assert "报考提醒" in detail and "督导学时已核验 0 小时，中级报考要求 50 小时，尚差 50 小时" in detail
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "registration.create",
                                                     AuditLog.entity_id == registration.id))
    assert "尚差 50 小时" in entry.after["warning"]


# ---- the org's settings ------------------------------------------------------------------------

def test_defaults_follow_the_standard_until_the_org_saves():
    assert [(r.level.level, r.min_supervision, r.min_practice, r.mode, r.saved)
            for r in requirements.list_requirements(make_user("org"))][:3] == [
        (J, 0, 0, RequirementMode.REFUSE, False), (M, 50, 125, RequirementMode.REFUSE, False),
        (Level.SENIOR, 100, 250, RequirementMode.REFUSE, False)]


def test_the_org_saves_a_requirement_through_the_page_and_it_is_audited(client):
    org = make_user("org")
    login_as(client, org)
    page = client.get("/hours/requirements").get_data(as_text=True)
    assert "报考学时要求" in page and "证书标准" in page
    senior = level_of(Level.SENIOR)
    response = client.post("/hours/requirements", data={"level_id": senior.id, "min_supervision": "80",
                                                         "min_practice": "200", "mode": "提醒"})
    assert response.status_code == 302
    saved = db.session.scalar(select(HoursRequirement).where(HoursRequirement.certificate_level_id == senior.id))
    assert (saved.min_supervision, saved.min_practice, saved.mode) == (80, 200, RequirementMode.WARN)
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "hours_requirement.save"))
    assert entry.before["min_supervision"] == 100 and entry.after["min_supervision"] == 80
    bad = client.post("/hours/requirements", data={"level_id": senior.id, "min_supervision": "-5",
                                                    "min_practice": "200", "mode": "提醒"}).get_data(as_text=True)
    assert f"{senior.label}的督导学时要求「-5」无效：请填写 0 到 10000 之间的整数小时数" in bad
    assert "留空则按证书标准（100 小时）" in bad
    odd = client.post("/hours/requirements", data={"level_id": senior.id, "min_supervision": "5",
                                                    "min_practice": "200", "mode": "随便"}).get_data(as_text=True)
    assert f"请选择{senior.label}未达要求时的处理方式" in odd
    assert client.post("/hours/requirements", data={"level_id": "99999999", "min_supervision": "5",
                                                     "min_practice": "1", "mode": "提醒"}).status_code == 404


def test_only_the_org_sets_requirements(client):
    login_as(client, make_user("school"))
    assert client.get("/hours/requirements").status_code == 403
    with pytest.raises(Exception) as refused:
        requirements.save_requirement(make_user("province"), level_of(M).id, 1, 1, "拒绝")
    assert getattr(refused.value, "code", None) == 403


def test_a_refused_requirement_keeps_what_was_typed_and_names_the_level(client):
    """The refused row shows the typed values (not the stored ones) and its error under the field."""
    login_as(client, make_user("org"))
    senior = level_of(Level.SENIOR)
    page = client.post("/hours/requirements", data={"level_id": senior.id, "min_supervision": "80",
                                                     "min_practice": "2.5", "mode": "提醒"}).get_data(as_text=True)
    import re

    row = re.search(rf'<tr data-testid="requirement-{senior.id}".*?</tr>', page, re.S).group(0)
    assert 'name="min_supervision" value="80"' in row and 'name="min_practice" value="2.5"' in row
    assert 'value="提醒" selected' in row and "is-invalid" in row
    assert f"{senior.label}的实践学时要求「2.5」无效" in row
    assert db.session.scalar(select(HoursRequirement)) is None  # nothing saved


def test_an_empty_requirement_means_the_standard(client):
    org = make_user("org")
    login_as(client, org)
    middle = level_of(M)
    assert client.post("/hours/requirements", data={"level_id": middle.id, "min_supervision": "",
                                                     "min_practice": "60", "mode": "拒绝"}).status_code == 302
    saved = requirements.requirement_for(middle)
    assert (saved.min_supervision, saved.min_practice, saved.saved) == (50, 60, True)  # empty: the standard's 50
    page = client.get("/hours/requirements").get_data(as_text=True)
    assert "按证书标准（50）" in page
    # both empty with 拒绝: back to the standard, no row left
    response = client.post("/hours/requirements", data={"level_id": middle.id, "min_supervision": " ",
                                                         "min_practice": "", "mode": "拒绝"})
    assert response.status_code == 302
    assert db.session.scalar(select(HoursRequirement)) is None
    back = requirements.requirement_for(middle)
    assert (back.min_supervision, back.min_practice, back.saved) == (50, 125, False)
    assert "按证书标准" in client.get(response.headers["Location"]).get_data(as_text=True)
