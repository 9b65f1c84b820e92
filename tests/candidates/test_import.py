"""Importing candidates from Excel: every rule and every bad input of issue 5."""
from __future__ import annotations

import io
import json
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select

from examadmin.candidates import importer, services
from examadmin.candidates.models import Candidate
from examadmin.core import excel, jobs
from examadmin.core.errors import DomainError
from examadmin.core.jobs import Job, JobState
from examadmin.core.storage import get_storage
from examadmin.extensions import db
from tests.candidates.helpers import HEADERS, id_number, student_row, write_sheet
from tests.hostile_files import far_corner_xlsx
from tests.conftest import login_as, make_school, make_user


@pytest.fixture
def school_user():
    return make_user("school")


def run(user, path, **kw):
    return importer.import_rows(user, user.school_id, path, file_name=path.name, **kw)


def count(user) -> int:
    return db.session.scalar(select(func.count(Candidate.id)).where(Candidate.school_id == user.school_id))


def test_a_clean_sheet_imports_every_row_and_derives_birth_date_and_gender(school_user, tmp_path):
    number = id_number(born="20040229", male=False)
    report = run(school_user, write_sheet(tmp_path / "a.xlsx", [student_row("李四", number), student_row("王五")]))
    assert (report.rows, report.created, report.imported, report.errors) == (2, 2, True, [])
    li = db.session.scalar(select(Candidate).where(Candidate.id_number == number))
    assert li.gender == "女" and str(li.birth_date) == "2004-02-29" and li.major.name == "心理健康教育"
    assert li.phone == "13800138000" and li.enrolment_year == 2022


def test_one_bad_row_imports_nothing_and_names_row_and_column(school_user, tmp_path):
    rows = [student_row("甲"), student_row("乙", number="500107200305120011"), student_row("丙")]
    report = run(school_user, write_sheet(tmp_path / "b.xlsx", rows))
    assert not report.imported and count(school_user) == 0
    assert [(e.row, e.column) for e in report.errors] == [(3, "证件号码")]
    assert "校验位" in report.errors[0].message


def test_valid_only_imports_the_good_rows(school_user, tmp_path):
    rows = [student_row("甲"), student_row("乙", 手机号码="123"), student_row("丙")]
    report = run(school_user, write_sheet(tmp_path / "c.xlsx", rows), valid_only=True)
    assert report.imported and report.created == 2 and count(school_user) == 2
    assert report.errors[0].row == 3 and report.errors[0].column == "手机号码"


def test_importing_the_same_file_twice_adds_nothing(school_user, tmp_path):
    path = write_sheet(tmp_path / "d.xlsx", [student_row("甲"), student_row("乙")])
    run(school_user, path)
    again = run(school_user, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2) and count(school_user) == 2


def test_a_known_id_number_updates_the_editable_fields(school_user, tmp_path):
    number = id_number()
    run(school_user, write_sheet(tmp_path / "e1.xlsx", [student_row("甲", number)]))
    report = run(school_user, write_sheet(tmp_path / "e2.xlsx", [student_row("甲", number, 班级="心理2202")]))
    assert report.updated == 1
    assert db.session.scalar(select(Candidate.class_name).where(Candidate.id_number == number)) == "心理2202"


def test_locked_name_cannot_change_through_import(school_user, tmp_path):
    number = id_number()
    run(school_user, write_sheet(tmp_path / "f1.xlsx", [student_row("甲", number)]))
    candidate = db.session.scalar(select(Candidate).where(Candidate.id_number == number))
    candidate.state = candidate.state.__class__.ACCURATE  # locked; the moves are tested with verification
    report = run(school_user, write_sheet(tmp_path / "f2.xlsx", [student_row("甲改", number)]))
    assert not report.imported and "姓名已锁定" in report.errors[0].message


def test_repeated_id_in_the_file_names_both_rows(school_user, tmp_path):
    number = id_number()
    report = run(school_user, write_sheet(tmp_path / "g.xlsx", [student_row("甲", number), student_row("乙"),
                                                                student_row("丙", number)]))
    assert report.errors[0].row == 4 and "第 2 行和第 4 行" in report.errors[0].message


def test_an_id_stored_as_a_number_is_refused_with_advice(school_user, tmp_path):
    path = write_sheet(tmp_path / "h.xlsx", [student_row("甲", number="x")], raw_cells={(1, 2): 4.20111197701242e+17})
    report = run(school_user, path)
    assert "设为「文本」格式" in report.errors[0].message and report.errors[0].column == "证件号码"


def test_gender_that_contradicts_the_id_is_refused(school_user, tmp_path):
    report = run(school_user, write_sheet(tmp_path / "i.xlsx", [student_row("甲", id_number(male=True), 性别="女")]))
    assert report.errors[0].column == "性别" and "与身份证号码不符" in report.errors[0].message


def test_blank_rows_are_skipped_and_unknown_columns_ignored_in_any_order(school_user, tmp_path):
    headers = ["序号", "身份证号码", "姓名", "联系电话", "专业代码", "专业名称", "备注"]
    rows = [{"序号": "1", "身份证号码": id_number(), "姓名": "甲", "联系电话": "13900139000", "专业代码": "570116K",
             "专业名称": "心理健康教育", "备注": "x"}, {}, {"序号": "3", "身份证号码": id_number(), "姓名": "乙",
                                                   "专业代码": "520201", "专业名称": "护理"}]
    report = run(school_user, write_sheet(tmp_path / "j.xlsx", rows, headers))
    assert (report.created, report.skipped_blank, report.errors) == (2, 1, [])


def test_major_outside_the_school_type_is_refused_and_undeclared_major_warns(school_user, tmp_path):
    rows = [student_row("甲", 专业代码="071102", 专业名称="应用心理学"), student_row("乙")]
    report = run(school_user, write_sheet(tmp_path / "k.xlsx", rows), valid_only=True)
    assert report.errors[0].row == 2 and "不在高职专科院校的专业目录中" in report.errors[0].message
    assert report.warnings and "不能使用指标" in report.warnings[0].message and report.warnings[0].row == 3


def test_social_candidates_need_no_major(school_user, tmp_path):
    row = student_row("社会甲", 考生类型="社会考生", 专业代码="", 专业名称="", 班级="", 学号="")
    report = run(school_user, write_sheet(tmp_path / "l.xlsx", [row]))
    assert report.created == 1 and report.warnings == []


def test_a_deleted_candidate_cannot_come_back_in(school_user, tmp_path):
    number = id_number()
    run(school_user, write_sheet(tmp_path / "m1.xlsx", [student_row("甲", number)]))
    services.hide_candidate(school_user, db.session.scalar(select(Candidate.id).where(Candidate.id_number == number)))
    report = run(school_user, write_sheet(tmp_path / "m2.xlsx", [student_row("甲", number)]))
    assert "已被本校删除" in report.errors[0].message and "评价组织" in report.errors[0].message


@pytest.mark.parametrize("content,message", [
    (b"name,id\n\xe5\xbc\xa0,1\n", "不是 Excel 表格"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "设置了打开密码或已损坏"),
    (b"PK\x03\x04broken zip", "无法读取"),
])
def test_files_that_are_not_readable_sheets_get_a_clear_message(school_user, tmp_path, content, message):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(DomainError, match=message):
        run(school_user, path)


def test_a_sheet_over_the_row_limit_is_refused_before_reading(app, school_user, tmp_path):
    path = write_sheet(tmp_path / "big.xlsx", [student_row(f"学生{i}") for i in range(12)])
    app.config["MAX_IMPORT_ROWS"] = 10
    try:
        with pytest.raises(DomainError, match="超过单次导入上限 10 行"):
            run(school_user, path)
    finally:
        app.config["MAX_IMPORT_ROWS"] = 50000
    assert count(school_user) == 0


def test_a_sheet_without_the_headers_is_refused(school_user, tmp_path):
    with pytest.raises(DomainError, match="找不到表头"):
        run(school_user, write_sheet(tmp_path / "n.xlsx", [{"A": "x"}], ["A", "B"]))


def test_import_page_runs_the_job_and_shows_errors_with_download(client, school_user, tmp_path):
    login_as(client, school_user)
    path = write_sheet(tmp_path / "web.xlsx", [student_row("甲"), student_row("乙", 民族="火星族")])
    with open(path, "rb") as fh:
        response = client.post("/candidates/import", data={"file": (fh, "web.xlsx")},
                               content_type="multipart/form-data")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "未导入任何数据" in page and "火星族" in page and "下载标注了错误的表格" in page
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    download = client.get(f"/jobs/{job_id}/download")
    sheet = openpyxl.load_workbook(io.BytesIO(download.data)).active
    download.close()
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-1] == "错误说明" and "火星族" in rows[2][-1] and "火星族" not in (rows[1][-1] or "")
    filtered = client.get(response.headers["Location"] + "?column=民族").get_data(as_text=True)
    assert "火星族" in filtered


def test_template_has_headers_text_id_column_and_drop_downs(client, school_user):
    login_as(client, school_user)
    response = client.get("/candidates/template.xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    response.close()
    sheet = workbook["考生信息"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet["C2"].number_format == "@"
    ranges = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    assert any(r.startswith("B2") for r in ranges) and any(r.startswith("H2") for r in ranges)
    assert "填写说明" in workbook.sheetnames
    majors = [c.value for c in workbook["下拉选项"]["E"] if c.value]
    assert "心理健康教育" in majors and "应用心理学" not in majors  # only majors of the school's type


def test_cli_import_json_and_exit_codes(cli, tmp_path):
    school = make_school()
    good = write_sheet(tmp_path / "ok.xlsx", [student_row("甲")])
    result = cli.invoke(args=["candidates", "import", "--school", school.code, "--json", str(good)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["rows"], data["created"], data["imported"]) == (1, 1, True)
    bad = write_sheet(tmp_path / "bad.xlsx", [student_row("乙", number="123")])
    refused = cli.invoke(args=["candidates", "import", "--school", school.code, "--json", str(bad)])
    assert refused.exit_code == 1 and json.loads(refused.output)["errors"][0]["row"] == 2
    usage = cli.invoke(args=["candidates", "import", str(good)])
    assert usage.exit_code == 2
    unknown = cli.invoke(args=["candidates", "import", "--school", "0000000000", str(good)])
    assert unknown.exit_code == 1 and "找不到学校标识码" in unknown.output


def test_zip_that_is_an_xlsx_in_disguise_is_refused(school_user, tmp_path):
    path = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(DomainError, match="无法读取"):
        run(school_user, path)


# ---- hostile sheets (issue 8 item 1): refused with a message, never a dead process --------

@pytest.mark.parametrize("dimension", [None, "A1:B3"], ids=["no-dimension", "false-dimension"])
def test_the_far_corner_sheet_is_refused_naming_the_file(school_user, tmp_path, dimension):
    path = far_corner_xlsx(tmp_path / "考生.xlsx", dimension)
    with pytest.raises(DomainError) as refused:
        run(school_user, path)
    assert "「考生.xlsx」" in refused.value.message and "XFD" in refused.value.message
    assert count(school_user) == 0


@pytest.mark.parametrize("dimension", [None, "A1:B3"], ids=["no-dimension", "false-dimension"])
def test_the_import_job_ends_not_imported_with_the_reason_and_the_worker_lives_on(school_user, tmp_path, dimension):
    """The user's hostile file is refused as 未导入 with the reason; 失败 is for the system's faults."""
    storage = get_storage()
    key = storage.save(storage.new_key("uploads", ".xlsx"), far_corner_xlsx(tmp_path / "h.xlsx", dimension).read_bytes())
    job = jobs.submit(school_user, "candidate_import", {"school_id": school_user.school_id},
                      input_key=key, input_name="全班.xlsx")
    db.session.commit()
    jobs.dispatch(job)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.state == JobState.DONE and job.error is None and job.outcome == "未导入"
    assert "「全班.xlsx」" in job.result["refused"] and "超过上限 100 列" in job.result["refused"]
    assert job.message.startswith("未导入：")
    good = write_sheet(tmp_path / "ok.xlsx", [student_row("甲")])
    assert run(school_user, good).created == 1  # the same process goes on importing


def test_a_read_that_gets_past_the_checks_fails_in_its_child_with_a_message(school_user, tmp_path, monkeypatch):
    monkeypatch.setattr(excel, "sheet_extent", lambda *a, **k: excel.SheetExtent())  # a check that missed
    with pytest.raises(DomainError) as refused:
        run(school_user, far_corner_xlsx(tmp_path / "坏表.xlsx"))
    assert "「坏表.xlsx」无法读取" in refused.value.message and "内存上限" in refused.value.message


@pytest.mark.parametrize("dimension", [None, "A1:B3"], ids=["no-dimension", "false-dimension"])
def test_the_error_report_reads_the_file_again_within_the_same_limits(tmp_path, app, dimension):
    # The job's second read (the annotated sheet) of a file changed in between, or a first
    # read that passed by chance: a refusal with the file's name, not a crash.
    with pytest.raises(DomainError, match="「考生.xlsx」.*XFD"):
        importer.error_workbook(far_corner_xlsx(tmp_path / "h.xlsx", dimension), tmp_path / "out.xlsx", [],
                                app.config["MAX_IMPORT_ROWS"], "考生.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


def test_the_column_limit_is_a_setting(school_user, tmp_path, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_IMPORT_COLUMNS", 5)
    with pytest.raises(DomainError, match="第 F 列（第 6 列）还有内容，超过上限 5 列"):
        run(school_user, write_sheet(tmp_path / "w.xlsx", [student_row("甲")]))
