"""批量导入报考 (issue 9 item 1, 7 and "Bad input"): every row checked first, each bad row
reported with its reason; by default nothing is registered when any row is wrong."""
from __future__ import annotations

import io
import json

from openpyxl import load_workbook
from sqlalchemy import func, select

from examadmin.candidates.states import CandidateState
from examadmin.catalog.models import Level
from examadmin.extensions import db
from examadmin.pilots.models import ApplicationLine
from examadmin.registrations.importer import import_rows
from examadmin.registrations.models import Registration
from examadmin.sites import services as sites
from tests.conftest import login_as
from tests.hours.factories import enough_hours
from tests.registrations.factories import ready_school, verified
from tests.registrations.helpers import row, write_sheet
from tests.sites.factories import make_user

J, M = Level.JUNIOR, Level.MIDDLE


def count(school) -> int:
    return db.session.scalar(select(func.count()).select_from(Registration)
                             .where(Registration.school_id == school.school_id))


def used(line) -> int:
    return db.session.scalar(select(ApplicationLine.used).where(ApplicationLine.id == line.id))


def test_a_good_file_registers_every_row(tmp_path):
    school = ready_school()
    a, b = verified(school.user), verified(school.user, major_name="护理")
    social = verified(school.user, kind="社会考生")
    enough_hours(social)  # 中级 asks verified supervision and practice hours (tests/hours)
    path = write_sheet(tmp_path / "ok.xlsx", [row(a, school.sites[J]), row(b, school.sites[J]),
                                              row(social, school.sites[M])])
    report = import_rows(school.user, school.school_id, school.plan.id, path, file_name="ok.xlsx")
    assert report.imported and report.created == 3 and not report.errors, report.as_dict()
    assert count(school) == 3
    assert used(school.lines["心理健康教育"]) == 1 and used(school.lines["护理"]) == 1


def test_a_name_written_with_spaces_is_the_same_name(tmp_path):
    school = ready_school()
    a = verified(school.user, name="赵强")
    path = write_sheet(tmp_path / "spaced.xlsx", [row(a, school.sites[J], 姓名=" 赵 强 ")])
    report = import_rows(school.user, school.school_id, school.plan.id, path, file_name="spaced.xlsx")
    assert report.imported and report.created == 1, report.as_dict()


def test_every_bad_row_is_reported_and_nothing_registered_by_default(tmp_path):
    school, other = ready_school(), ready_school()
    good = verified(school.user, name="好学生")
    pending = verified(school.user, name="待认证", state=CandidateState.PENDING)
    dup = verified(school.user, name="重复生")
    already = verified(school.user, name="已报考")
    import_rows(school.user, school.school_id, school.plan.id,
                write_sheet(tmp_path / "first.xlsx", [row(already, school.sites[J])]))
    disabled_school = ready_school(plan=school.plan)
    sites.disable_site(make_user("org"), disabled_school.sites[J].id, "停用")
    off = verified(disabled_school.user, name="停用站点生")
    rows = [
        row(good, school.sites[J]),                                                # 2: fine
        row(good, school.sites[J], 证件号码="110101199003077777"),                   # 3: unknown number
        row(pending, school.sites[J]),                                             # 4: not verified
        row(good, school.sites[J], 等级="特级"),                                     # 5: no such level
        row(good, other.sites[J]),                                                 # 6: another school's site
        row(dup, school.sites[J]), row(dup, school.sites[J]),                      # 7, 8: duplicate in file
        row(already, school.sites[J]),                                             # 9: already registered
        row(good, school.sites[M], 姓名="别人"),                                      # 10: name differs
        row(good, school.sites[J], 是否补考="也许"),                                   # 11: bad retake mark
        row(good, school.sites[M], 等级="初级"),                                      # 12: site of another level
    ]
    report = import_rows(school.user, school.school_id, school.plan.id, write_sheet(tmp_path / "bad.xlsx", rows))
    assert not report.imported and report.created == 0
    by_row = {}
    for p in report.errors:
        by_row.setdefault(p.row, []).append(p.message)
    assert 2 not in by_row
    assert "本校没有证件号码为" in by_row[3][0]
    assert "信息准确" in by_row[4][0] and "待认证" in by_row[4][0]
    assert "等级「特级」无效" in by_row[5][0]
    assert "本校没有名为" in by_row[6][0]
    assert 7 not in by_row and "第 7 行已出现过" in by_row[8][0] and "重复生" in by_row[8][0]
    assert "已在本校报考" in by_row[9][0]
    assert "姓名与系统中不一致" in by_row[10][0]
    assert "是否补考" in by_row[11][0]
    assert "不能报考初级" in by_row[12][0]
    assert count(school) == 1 and used(school.lines["心理健康教育"]) == 1  # only the earlier one

    # the other school's disabled site: refused with the site's state
    report = import_rows(disabled_school.user, disabled_school.school_id, school.plan.id,
                         write_sheet(tmp_path / "off.xlsx", [row(off, disabled_school.sites[J])]))
    assert not report.imported and "已停用" in report.errors[0].message


def test_valid_only_registers_the_good_rows_and_reports_the_rest(tmp_path):
    school = ready_school()
    good, pending = verified(school.user), verified(school.user, state=CandidateState.PENDING)
    path = write_sheet(tmp_path / "mixed.xlsx", [row(good, school.sites[J]), row(pending, school.sites[J])])
    report = import_rows(school.user, school.school_id, school.plan.id, path, valid_only=True)
    assert report.imported and report.created == 1 and [p.row for p in report.errors] == [3]
    assert count(school) == 1


def test_a_file_beyond_the_remaining_places_refuses_the_rows_beyond_by_name(tmp_path):
    school = ready_school({"心理健康教育": 2})
    people = [verified(school.user, name=n) for n in ("一号", "二号", "三号", "四号")]
    path = write_sheet(tmp_path / "many.xlsx", [row(p, school.sites[J]) for p in people])
    report = import_rows(school.user, school.school_id, school.plan.id, path)
    assert not report.imported and [p.row for p in report.errors] == [4, 5]
    assert "三号" in report.errors[0].message and "指标已用完" in report.errors[0].message
    assert count(school) == 0 and used(school.lines["心理健康教育"]) == 0
    report = import_rows(school.user, school.school_id, school.plan.id, path, valid_only=True)
    assert report.created == 2 and used(school.lines["心理健康教育"]) == 2


def test_an_id_typed_as_a_number_is_refused(tmp_path):
    school = ready_school()
    good = verified(school.user)
    path = write_sheet(tmp_path / "num.xlsx", [row(good, school.sites[J], 证件号码="")],
                       raw_cells={(1, 0): 4.20111197701242e+17})
    report = import_rows(school.user, school.school_id, school.plan.id, path)
    assert not report.imported and "数字" in report.errors[0].message


def test_a_file_that_is_not_a_sheet_or_has_no_header_is_refused_whole(tmp_path):
    school = ready_school()
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a sheet")
    import pytest

    from examadmin.core.errors import DomainError

    with pytest.raises(DomainError) as exc:
        import_rows(school.user, school.school_id, school.plan.id, junk, file_name="junk.xlsx")
    assert "不是 Excel 表格" in exc.value.message


def test_the_template_has_the_columns_and_the_plans_levels_and_schools_sites_as_drop_downs(client):
    school = ready_school()
    db.session.commit()
    login_as(client, school.user)
    response = client.get(f"/registrations/template.xlsx?plan_id={school.plan.id}")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook["报考信息"]
    assert [c.value for c in sheet[1]] == ["证件号码", "姓名", "等级", "考核站点", "是否补考"]
    options = workbook["下拉选项"]
    assert [options["A1"].value, options["A2"].value] == ["初级", "中级"]
    assert {options["B1"].value, options["B2"].value} == {s.name for s in school.sites.values()}
    targets = {str(v.sqref).split(":")[0] for v in sheet.data_validations.dataValidation}
    assert {"C2", "D2", "E2"} <= targets
    assert sheet["A2"].number_format == "@"
    assert client.get("/registrations/template.xlsx?plan_id=abc").status_code == 302


def test_the_import_page_runs_a_job_and_shows_each_error(client, tmp_path):
    school = ready_school()
    good, pending = verified(school.user), verified(school.user, name="页面待认证", state=CandidateState.PENDING)
    path = write_sheet(tmp_path / "page.xlsx", [row(good, school.sites[J]), row(pending, school.sites[J])])
    db.session.commit()
    login_as(client, school.user)
    with open(path, "rb") as fh:
        response = client.post("/registrations/import", data={"plan_id": str(school.plan.id), "file": (fh, "page.xlsx")},
                               content_type="multipart/form-data", follow_redirects=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "未报考任何考生" in body and "页面待认证" in body
    assert count(school) == 0
    download = body.split('data-testid="error-download"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    with client.get(download) as answer:
        marked = load_workbook(io.BytesIO(answer.data)).active
    rows = list(marked.values)
    assert rows[0][-1] == "错误说明" and not rows[1][-1] and "信息准确" in rows[2][-1]
    with open(path, "rb") as fh:
        response = client.post("/registrations/import", data={"plan_id": str(school.plan.id), "valid_only": "y",
                                                               "file": (fh, "page.xlsx")},
                               content_type="multipart/form-data", follow_redirects=True)
    assert "已导入" in response.get_data(as_text=True) and count(school) == 1


def test_cli_import_prints_the_candidate_import_shape_and_exit_codes(cli, tmp_path):
    school = ready_school()
    good, pending = verified(school.user), verified(school.user, state=CandidateState.PENDING)
    code = school.user.school.code
    path = write_sheet(tmp_path / "cli.xlsx", [row(good, school.sites[J]), row(pending, school.sites[J])])
    base = ["registrations", "import", "--school", code, "--plan", str(school.plan.id)]
    result = cli.invoke(args=[*base, "--valid-only", "--json", str(path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"rows", "created", "updated", "unchanged", "skipped_blank", "imported", "errors",
                         "warnings"}
    assert (data["rows"], data["created"], data["imported"]) == (2, 1, True)
    assert [e["row"] for e in data["errors"]] == [3] and set(data["errors"][0]) == {"row", "column", "message"}
    assert count(school) == 1
    # the rest refuses (the CLI rolls back, so these come last)
    assert cli.invoke(args=["registrations", "import", str(path)]).exit_code == 2
    result = cli.invoke(args=["registrations", "import", "--school", code, "--plan", "999999", str(path)])
    assert result.exit_code == 1 and "考试计划" in result.output
    result = cli.invoke(args=[*base, "--json", str(path)])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["imported"] is False and [e["row"] for e in data["errors"]] == [2, 3]
    assert "已在本校报考" in data["errors"][0]["message"]


def test_a_file_that_is_not_a_sheet_ends_the_job_not_imported_with_the_reason(client, tmp_path):
    """The user's file is refused as 未导入 on the page and in the job list; 失败 (the sysadmin's
    to-do) is for the system's faults."""
    from examadmin.core.jobs import Job, JobState

    school = ready_school()
    db.session.commit()
    login_as(client, school.user)
    response = client.post("/registrations/import", data={"plan_id": str(school.plan.id),
                                                           "file": (io.BytesIO(b"%PDF-1.4 junk"), "名单.xlsx")},
                           content_type="multipart/form-data", follow_redirects=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "未导入：「名单.xlsx」不是 Excel 表格" in body
    job = db.session.scalar(select(Job).where(Job.kind == "registration_import").order_by(Job.id.desc()))
    assert job.state == JobState.DONE and job.outcome == "未导入" and job.error is None
    assert "未导入" in client.get("/jobs/").get_data(as_text=True)
    assert count(school) == 0


def test_a_site_name_that_looks_like_a_formula_stays_text_in_the_templates_drop_down(client):
    """openpyxl stores a string starting with "=" as a live formula, which Excel runs on opening."""
    import zipfile

    school = ready_school()
    site = school.sites[J]
    site.name = '=HYPERLINK("http://x","站点")'
    db.session.commit()
    login_as(client, school.user)
    data = client.get(f"/registrations/template.xlsx?plan_id={school.plan.id}").data
    options = load_workbook(io.BytesIO(data))["下拉选项"]
    assert site.name in {options["B1"].value, options["B2"].value}  # exactly as typed, to match on import
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        sheets = [package.read(n).decode() for n in package.namelist() if n.startswith("xl/worksheets/")]
    assert not any("<f>" in xml for xml in sheets)


def _closed_window(school, monkeypatch) -> str:
    from datetime import timedelta

    from examadmin.core import clock

    moment = school.plan.registration_end + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: moment)
    plan = school.plan
    return f"报考期间：{plan.registration_start:%Y-%m-%d %H:%M} 至 {plan.registration_end:%Y-%m-%d %H:%M}"


def test_an_import_after_the_registration_window_is_refused_with_the_window(tmp_path, monkeypatch):
    import pytest

    from examadmin.core.errors import DomainError

    school = ready_school()
    student = verified(school.user, name="迟到生")
    path = write_sheet(tmp_path / "late.xlsx", [row(student, school.sites[J])])
    window = _closed_window(school, monkeypatch)
    with pytest.raises(DomainError) as exc:
        import_rows(school.user, school.school_id, school.plan.id, path, file_name="late.xlsx")
    assert window in exc.value.message and "不能报考" in exc.value.message
    assert count(school) == 0 and used(school.lines["心理健康教育"]) == 0


def test_the_cli_import_after_the_window_exits_1_with_the_window_in_its_json(cli, tmp_path, monkeypatch):
    school = ready_school()
    student = verified(school.user, name="迟到生")
    path = write_sheet(tmp_path / "late.xlsx", [row(student, school.sites[J])])
    window = _closed_window(school, monkeypatch)
    result = cli.invoke(args=["registrations", "import", "--school", school.user.school.code,
                              "--plan", str(school.plan.id), "--json", str(path)])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["imported"] is False and window in data["errors"][0]["message"]


def test_a_refused_import_offers_to_register_the_valid_rows_from_the_kept_file(client, tmp_path):
    from examadmin.core.jobs import Job

    school = ready_school()
    good, pending = verified(school.user, name="正确行"), verified(school.user, name="错误行", state=CandidateState.PENDING)
    path = write_sheet(tmp_path / "二班.xlsx", [row(good, school.sites[J]), row(pending, school.sites[J])])
    db.session.commit()
    login_as(client, school.user)
    with open(path, "rb") as fh:
        response = client.post("/registrations/import", data={"plan_id": str(school.plan.id), "file": (fh, "二班.xlsx")},
                               content_type="multipart/form-data")
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/registrations/import/{job_id}").get_data(as_text=True)
    assert "只导入正确的行（1 行，使用已上传的文件）" in page and count(school) == 0

    # another school cannot run it on this job
    other = ready_school(plan=school.plan)
    login_as(client, other.user)
    assert client.post(f"/registrations/import/{job_id}/valid-only").status_code == 404
    login_as(client, school.user)

    again = client.post(f"/registrations/import/{job_id}/valid-only")
    assert again.status_code == 302
    new_id = int(again.headers["Location"].rsplit("/", 1)[1])
    new, old = db.session.get(Job, new_id), db.session.get(Job, job_id)
    assert new_id != job_id and new.input_key == old.input_key and new.input_name == "二班.xlsx"
    assert new.params["valid_only"] is True and new.params["plan_id"] == school.plan.id
    assert count(school) == 1 and used(school.lines["心理健康教育"]) == 1
    page = client.get(f"/registrations/import/{new_id}").get_data(as_text=True)
    assert "已导入" in page and "只导入正确的行（" not in page
    refused = client.post(f"/registrations/import/{new_id}/valid-only", follow_redirects=True)
    assert refused.status_code == 200 and "只有因错误未导入的文件" in refused.get_data(as_text=True)
    assert count(school) == 1


def test_a_file_with_only_bad_rows_offers_no_valid_only_registration(client, tmp_path):
    school = ready_school()
    pending = verified(school.user, state=CandidateState.PENDING)
    path = write_sheet(tmp_path / "bad.xlsx", [row(pending, school.sites[J])])
    db.session.commit()
    login_as(client, school.user)
    with open(path, "rb") as fh:
        response = client.post("/registrations/import", data={"plan_id": str(school.plan.id), "file": (fh, "bad.xlsx")},
                               content_type="multipart/form-data")
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert "只导入正确的行（" not in client.get(f"/registrations/import/{job_id}").get_data(as_text=True)
    refused = client.post(f"/registrations/import/{job_id}/valid-only", follow_redirects=True)
    assert "没有正确的行可以导入" in refused.get_data(as_text=True)


def _same_named_site_of_another_certificate(school):
    """A second certificate whose name differs only by 职业技能等级证书, so that the school's 初级 site
    for it gets the very name of its 初级 site for the plan's certificate (sites.site_name)."""
    from examadmin.catalog import services as catalog
    from examadmin.core.auth import SYSTEM
    from tests.conftest import the_certificate
    from tests.sites.factories import make_site

    other = catalog.save_certificate(SYSTEM, {"code": "T-R8", "org_name": "某组织",
                                              "name": the_certificate().name.removesuffix("职业技能等级证书")})
    catalog.add_level(SYSTEM, other.id, "初级")
    foreign = make_site(school.user, certificate=other)
    assert foreign.name == school.sites[J].name and foreign.id != school.sites[J].id
    return foreign


def test_an_import_row_names_the_site_of_the_plans_certificate_where_names_repeat(tmp_path):
    school = ready_school()
    foreign = _same_named_site_of_another_certificate(school)
    student = verified(school.user, name="同名站点生")
    report = import_rows(school.user, school.school_id, school.plan.id,
                         write_sheet(tmp_path / "same.xlsx", [row(student, school.sites[J])]))
    assert report.imported and report.created == 1, report.as_dict()
    registration = db.session.scalar(select(Registration).where(Registration.candidate_id == student.id))
    assert registration.site_id == school.sites[J].id != foreign.id


def test_the_register_form_and_the_template_offer_only_sites_of_the_plans_certificates(client):
    school = ready_school()
    foreign = _same_named_site_of_another_certificate(school)
    db.session.commit()
    login_as(client, school.user)
    page = client.get("/registrations/new").get_data(as_text=True)
    assert f'value="{school.sites[J].id}"' in page and f'value="{foreign.id}"' not in page
    listing = client.get(f"/registrations/?plan_id={school.plan.id}").get_data(as_text=True)
    assert f'value="{school.sites[J].id}"' in listing and f'value="{foreign.id}"' not in listing
    with client.get(f"/registrations/template.xlsx?plan_id={school.plan.id}") as answer:
        book = load_workbook(io.BytesIO(answer.data))
    names = [c for sheet in book.worksheets for r in sheet.iter_rows(values_only=True) for c in r
             if c == school.sites[J].name]
    assert len(names) == 1  # listed once in the drop-down's source, not once per certificate
