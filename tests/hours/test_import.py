"""批量导入学时 (issue 14 item 1, "Bad input"): providers' lists, every row checked first; unknown
ID numbers, name mismatch, bad kind or date reported by row and nothing imported by default."""
from __future__ import annotations

import io
import json
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.hours.importer import import_rows
from examadmin.hours.models import HoursRecord, HoursSource
from examadmin.hours.states import HoursState
from tests.conftest import login_as
from tests.hostile_files import far_corner_xlsx
from tests.hours.factories import days_ago, holder, write_hours_sheet
from tests.sites.factories import make_user


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(HoursRecord))


def line(candidate, kind="实践", day=None, provider="中国心理学会继续教育部", hours=6, name=None):
    return [candidate.id_number, name or candidate.name, kind, (day or days_ago(5)).isoformat(), provider, hours]


def test_a_good_file_from_the_org_imports_every_row_as_verified(tmp_path):
    a, _ = holder()
    b, _ = holder()
    org = make_user("org")
    path = write_hours_sheet(tmp_path / "ok.xlsx", [line(a), line(b, "督导", hours=2.5), line(a, "实践", hours=8)])
    report = import_rows(org, path, file_name="ok.xlsx")
    assert report.imported and report.created == 3 and not report.errors, report.as_dict()
    records = db.session.scalars(select(HoursRecord).order_by(HoursRecord.id)).all()
    assert {r.state for r in records} == {HoursState.VERIFIED} and {r.source for r in records} == {HoursSource.IMPORT}
    assert records[1].hours == Decimal("2.5") and records[1].school_id == b.school_id
    assert records[0].reviewer_id == org.id and records[0].evidence_key is None
    # the same file again adds nothing
    again = import_rows(org, path, file_name="ok.xlsx")
    assert again.imported and again.created == 0 and again.unchanged == 3 and count() == 3


def test_bad_rows_are_reported_by_row_and_nothing_is_imported(tmp_path):
    a, _ = holder()
    b, _ = holder()
    path = write_hours_sheet(tmp_path / "bad.xlsx", [
        line(a),
        ["110101199001011237", "无名氏", "继续教育", days_ago(3).isoformat(), "机构", 2],
        line(b, name="李四"),
        line(a, kind="读书"),
        line(a, day=days_ago(-3)),
        [a.id_number, a.name, "督导", "2026-13-45", "机构", 2],
        line(b, hours=0),
        line(b, hours=2.25),
    ])
    report = import_rows(make_user("org"), path)
    assert not report.imported and count() == 0
    problems = {(p.row, p.column): p.message for p in report.errors}
    assert "没有证件号码为 110101********1237" in problems[(3, "证件号码")]
    assert "姓名「李四」与系统中不一致" in problems[(4, "姓名")]
    assert "学时类别「读书」无效" in problems[(5, "类别")]
    assert "晚于今天" in problems[(6, "日期")]
    assert "无效" in problems[(7, "日期")]
    assert "须大于 0" in problems[(8, "学时")]
    assert "最多保留一位小数" in problems[(9, "学时")]
    assert (2, "证件号码") not in problems
    # with valid_only the good row goes in
    kept = import_rows(make_user("org"), path, valid_only=True)
    assert kept.imported and kept.created == 1 and count() == 1


def test_the_days_total_counts_stored_hours_and_the_files_rows(tmp_path):
    a, _ = holder()
    day = days_ago(4)
    import_rows(make_user("org"), write_hours_sheet(tmp_path / "one.xlsx", [line(a, day=day, hours=20)]))
    path = write_hours_sheet(tmp_path / "two.xlsx", [line(a, "督导", day=day, hours=3),
                                                     line(a, "实践", day=day, hours=2)])
    report = import_rows(make_user("org"), path)
    assert not report.imported and [(p.row, p.column) for p in report.errors] == [(3, "学时")]
    assert "已记录 23.0 小时，加上本条 2.0 小时共 25.0 小时" in report.errors[0].message


def test_a_repeated_row_in_the_file_is_an_error(tmp_path):
    a, _ = holder()
    report = import_rows(make_user("org"), write_hours_sheet(tmp_path / "dup.xlsx", [line(a), line(a)]))
    assert not report.imported and "与第 2 行重复" in report.errors[0].message


def test_an_id_number_typed_as_a_number_is_refused(tmp_path):
    a, _ = holder()
    path = write_hours_sheet(tmp_path / "num.xlsx", [[float(a.id_number[:17]) * 10] + line(a)[1:]])
    report = import_rows(make_user("org"), path)
    assert "被保存成了数字" in report.errors[0].message


def test_a_school_imports_only_for_its_own_candidates(tmp_path):
    school = make_user("school")
    own, _ = holder(school)
    other, _ = holder()
    path = write_hours_sheet(tmp_path / "s.xlsx", [line(own), line(other)])
    report = import_rows(school, path)
    assert not report.imported and [(p.row, p.column) for p in report.errors] == [(3, "证件号码")]
    assert import_rows(school, path, valid_only=True).created == 1
    assert db.session.scalar(select(HoursRecord.school_id)) == school.school_id


def test_provinces_and_candidates_may_not_import(tmp_path):
    path = write_hours_sheet(tmp_path / "x.xlsx", [])
    for user in (make_user("province"), holder()[1]):
        with pytest.raises(Exception) as refused:
            import_rows(user, path)
        assert getattr(refused.value, "code", None) == 403


def test_a_sheet_without_the_columns_is_refused(tmp_path):
    path = write_hours_sheet(tmp_path / "h.xlsx", [["1"]], headers=("证件号码", "姓名"))
    with pytest.raises(DomainError, match="找不到表头"):
        import_rows(make_user("org"), path)


@pytest.mark.parametrize("dimension", [None, "A1:B3"], ids=["no-dimension", "false-dimension"])
def test_a_hostile_sheet_is_refused_by_the_existing_checks(tmp_path, dimension):
    path = far_corner_xlsx(tmp_path / "学时.xlsx", dimension)
    with pytest.raises(DomainError) as refused:
        import_rows(make_user("org"), path, file_name="学时.xlsx")
    assert "「学时.xlsx」" in refused.value.message and "XFD" in refused.value.message
    assert count() == 0


def test_not_a_sheet_is_refused(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"%PDF-1.4 not a sheet")
    with pytest.raises(DomainError, match="不是 Excel 表格"):
        import_rows(make_user("org"), path)


def test_the_import_page_runs_the_job_and_offers_the_marked_sheet(client, tmp_path):
    a, _ = holder()
    org = make_user("org")
    login_as(client, org)
    path = write_hours_sheet(tmp_path / "web.xlsx", [line(a), line(a, kind="读书")])
    with open(path, "rb") as fh:
        response = client.post("/hours/import", data={"file": (fh, "web.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "未导入任何数据" in page and "读书" in page and "下载标注了错误的表格" in page
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    download = client.get(f"/jobs/{job_id}/download")
    rows = list(openpyxl.load_workbook(io.BytesIO(download.data)).active.iter_rows(values_only=True))
    download.close()
    assert rows[0][-1] == "错误说明" and "读书" in rows[2][-1]
    assert count() == 0


def test_the_template_has_the_six_columns_and_a_kind_drop_down(client):
    login_as(client, make_user("school"))
    response = client.get("/hours/import/template")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book.active
    assert [c.value for c in sheet[1]] == ["证件号码", "姓名", "类别", "日期", "机构", "学时"]
    assert sheet["A2"].number_format == "@"
    assert any("继续教育,督导,实践" in (v.formula1 or "") for v in sheet.data_validations.dataValidation)


def test_cli_import_json_and_exit_codes(cli, tmp_path):
    a, _ = holder()
    db.session.commit()
    good = write_hours_sheet(tmp_path / "ok.xlsx", [line(a)])
    result = cli.invoke(args=["hours", "import", "--json", str(good)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["rows"], data["created"], data["imported"]) == (1, 1, True)
    assert set(data) >= {"rows", "created", "updated", "unchanged", "skipped_blank", "imported", "errors", "warnings"}
    bad = write_hours_sheet(tmp_path / "bad.xlsx", [line(a, kind="读书")])
    refused = cli.invoke(args=["hours", "import", "--json", str(bad)])
    assert refused.exit_code == 1 and json.loads(refused.output)["errors"][0] == {
        "row": 2, "column": "类别", "message": "学时类别「读书」无效，应为继续教育、督导或实践"}
    nobody = cli.invoke(args=["hours", "import", "--as", "nobody-here", str(good)])
    assert nobody.exit_code == 1 and "找不到用户" in nobody.output
    assert cli.invoke(args=["hours", "import"]).exit_code == 2


def test_date_cells_and_numeric_hours_as_excel_keeps_them_are_read(tmp_path):
    a, _ = holder()
    day = days_ago(6)
    path = write_hours_sheet(tmp_path / "cells.xlsx", [[a.id_number, a.name, "实践", day, "社区服务站", 7.5],
                                                       [a.id_number, a.name, "督导", "2026/1/5", "社区服务站", 2]])
    report = import_rows(make_user("org"), path)
    assert report.imported and report.created == 2, report.as_dict()
    stored = {r.kind.value: (r.date, r.hours) for r in db.session.scalars(select(HoursRecord))}
    assert stored["实践"] == (day, Decimal("7.5"))
    assert stored["督导"][0].isoformat() == "2026-01-05"


def _upload(client, path, name):
    with open(path, "rb") as fh:
        response = client.post("/hours/import", data={"file": (fh, name)}, content_type="multipart/form-data")
    assert response.status_code == 302
    return response.headers["Location"], int(response.headers["Location"].rsplit("/", 1)[1])


def test_a_non_excel_upload_is_the_imports_refusal_not_a_failed_job(client, tmp_path):
    """A user's bad file ends 未导入 with the reason; 失败 (the sysadmin's to-do) is for the system's faults."""
    from examadmin.core.jobs import Job, JobState

    login_as(client, make_user("org"))
    path = tmp_path / "名单.xlsx"
    path.write_bytes(b"%PDF-1.4 not a sheet at all")
    location, job_id = _upload(client, path, "名单.xlsx")
    job = db.session.get(Job, job_id)
    db.session.refresh(job)
    assert job.state == JobState.DONE and job.error is None
    assert job.outcome == "未导入" and job.outcome_level == "danger"
    page = client.get(location).get_data(as_text=True)
    assert "未导入：" in page and "不是 Excel 表格" in page
    assert count() == 0


def test_the_summary_and_the_marked_sheet_read_as_written(client, tmp_path):
    """No stray space after 已导入：; a numeric cell of the upload stays a number in the marked sheet
    (no apostrophe before -2), the ID number column stays text."""
    a, _ = holder()
    login_as(client, make_user("org"))
    good = write_hours_sheet(tmp_path / "ok.xlsx", [line(a, "督导", hours=3)])
    location, _ = _upload(client, good, "ok.xlsx")
    page = client.get(location).get_data(as_text=True)
    assert "已导入：共 1 行" in page
    bad = write_hours_sheet(tmp_path / "bad.xlsx", [line(a, "实践", hours=-2), line(a, "实践", hours=2.5, day=days_ago(7))])
    _, job_id = _upload(client, bad, "bad.xlsx")
    download = client.get(f"/jobs/{job_id}/download")
    sheet = openpyxl.load_workbook(io.BytesIO(download.data)).active
    download.close()
    hours_cells = [sheet.cell(row=r, column=6) for r in (2, 3)]
    assert [c.value for c in hours_cells] == [-2, 2.5]
    assert all(c.data_type == "n" for c in hours_cells)
    assert sheet.cell(row=2, column=1).value == a.id_number and sheet.cell(row=2, column=1).data_type == "s"
    assert "学时须大于 0" in sheet.cell(row=2, column=7).value
