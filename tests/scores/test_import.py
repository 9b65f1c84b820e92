"""Importing scores by ticket number: each bad row reported; nothing imported when any is wrong."""
from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.scores import importer, services
from examadmin.scores.models import Result, Score
from examadmin.scores.states import PublicationStage
from tests.scores.factories import make_scored_setup, set_stage

HEADER = ["准考证号", "科目", "成绩", "缺考", "违纪"]


def sheet(tmp_path, rows, header=HEADER, name="scores.xlsx"):
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(list(row))
    path = tmp_path / name
    wb.save(path)
    return path


def count_scores() -> int:
    return db.session.scalar(select(func.count(Score.id)))


def test_a_good_sheet_imports_and_computes_results(tmp_path):
    s = make_scored_setup(people=2, subjects=2)
    a, b = s.registrations
    sa, sb = (x.name for x in s.subjects)
    path = sheet(tmp_path, [(s.ticket(a), sa, 80, "", ""), (s.ticket(a), sb, "61.5", None, None),
                            (s.ticket(b), sa, None, "是", ""), (s.ticket(b), sb, 90, "", "是")])
    report = importer.import_rows(s.org, s.plan.id, path, file_name="scores.xlsx")
    assert report.errors == [] and report.imported and report.changed == 4
    passed = dict(db.session.execute(select(Result.registration_id, Result.passed)).all())
    assert passed == {a.id: True, b.id: False}
    again = importer.import_rows(s.org, s.plan.id, path)
    assert again.changed == 0 and again.unchanged == 4 and again.imported


def test_every_bad_row_is_reported_by_row_and_nothing_is_imported(tmp_path):
    s = make_scored_setup(people=2, subjects=2)
    a, b = s.registrations
    sa, sb = (x.name for x in s.subjects)
    path = sheet(tmp_path, [
        (s.ticket(a), sa, 80, "", ""),                  # 2: good
        ("20990000000000", sa, 80, "", ""),             # 3: unknown ticket
        (s.ticket(a), "不存在的科目", 80, "", ""),        # 4: subject the level does not hold
        (s.ticket(b), sa, 101, "", ""),                 # 5: out of range
        (s.ticket(b), sb, "70.25", "", ""),             # 6: two decimals
        (s.ticket(a), sb, "七十", "", ""),               # 7: not a number
        (s.ticket(b), sa, 70, "是", ""),                 # 8: a score with 缺考
        (s.ticket(a), sa, 81, "", ""),                  # 9: the ticket twice for one subject
    ])
    report = importer.import_rows(s.org, s.plan.id, path)
    by_row: dict[int, list] = {}
    for p in report.errors:
        by_row.setdefault(p.row, []).append((p.column, p.message))
    said = lambda row, text: any(text in m for _, m in by_row[row])  # noqa: E731
    assert sorted(by_row) == [3, 4, 5, 6, 7, 8, 9]
    assert said(3, "不属于本考试计划")
    assert by_row[4] == [("科目", by_row[4][0][1])] and said(4, "没有科目")
    assert said(5, "满分") and said(6, "一位小数") and said(7, "不是数字")
    assert said(8, "不能同时填写成绩") and said(9, "与第 2 行重复")
    assert not report.imported and count_scores() == 0
    valid = importer.import_rows(s.org, s.plan.id, path, valid_only=True)
    assert valid.imported and valid.changed == 1 and count_scores() == 1


def test_importing_past_display_needs_a_reason(tmp_path):
    s = make_scored_setup(people=1, subjects=1)
    path = sheet(tmp_path, [(s.ticket(s.registrations[0]), s.subjects[0].name, 70, "", "")])
    set_stage(s.plan.id, PublicationStage.FINAL)
    with pytest.raises(DomainError, match="修改原因"):
        importer.import_rows(s.org, s.plan.id, path)
    assert count_scores() == 0
    report = importer.import_rows(s.org, s.plan.id, path, reason="阅卷复核")
    assert report.imported
    score = db.session.scalar(select(Score))
    assert services.score_history(s.org, score)[-1].after["reason"] == "阅卷复核"


def test_a_sheet_without_the_headers_or_not_a_sheet_is_a_message(tmp_path):
    s = make_scored_setup(people=1, subjects=1)
    with pytest.raises(DomainError, match="找不到表头"):
        importer.import_rows(s.org, s.plan.id, sheet(tmp_path, [("x",)], header=["姓名"]))
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a sheet")
    with pytest.raises(DomainError, match="不是 Excel"):
        importer.import_rows(s.org, s.plan.id, junk)


def test_a_name_that_looks_like_a_formula_stays_text_in_the_template():
    """openpyxl stores a string starting with "=" as a live formula, which Excel runs on opening."""
    import zipfile

    s = make_scored_setup(people=1, subjects=1)
    s.registrations[0].candidate.name = '=HYPERLINK("http://evil","x")'
    db.session.flush()
    _, data = importer.build_template(s.org, s.plan.id)
    assert load_workbook(io.BytesIO(data)).active["B2"].value == '=HYPERLINK("http://evil","x")'
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        sheets = [package.read(n).decode() for n in package.namelist() if n.startswith("xl/worksheets/")]
    assert not any("<f>" in xml for xml in sheets)


def test_a_stored_name_with_a_control_character_does_not_break_the_template():
    """openpyxl refuses control characters; a name stored with a bell made the template a 500."""
    s = make_scored_setup(people=1, subjects=1)
    s.registrations[0].candidate.name = "吴\x07桐"
    db.session.flush()
    _, data = importer.build_template(s.org, s.plan.id)
    assert load_workbook(io.BytesIO(data)).active["B2"].value == "吴桐"


def test_the_template_lists_every_ticket_and_subject_with_absentees_pre_marked(tmp_path):
    s = make_scored_setup(people=2, subjects=2)
    s.seat(s.registrations[0], s.subjects[0]).absent = True
    _, data = importer.build_template(s.org, s.plan.id)
    ws = load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0][:6]) == importer.HEADERS
    assert len(rows) == 1 + 4
    assert {(r[0], r[2]) for r in rows[1:]} == {(s.ticket(r), x.name) for r in s.registrations for x in s.subjects}
    marked = [r for r in rows[1:] if r[4] == "是"]
    assert [(m[0], m[2]) for m in marked] == [(s.ticket(s.registrations[0]), s.subjects[0].name)]
    # the filled-in template imports as it is, once the scores are typed
    filled = [(r[0], r[2], None if r[4] == "是" else 75, r[4] or "", "") for r in rows[1:]]
    report = importer.import_rows(s.org, s.plan.id, sheet(tmp_path, filled))
    assert report.imported and report.changed == 4


def test_a_template_filled_in_part_imports_the_filled_rows_and_skips_the_rest(tmp_path):
    s = make_scored_setup(people=3, subjects=2)
    a, b, c = s.registrations
    first = s.subjects[0].name
    _, data = importer.build_template(s.org, s.plan.id)
    book = load_workbook(io.BytesIO(data))
    rows = list(book.active.iter_rows(min_row=2))
    assert len(rows) == 6
    # the org fills in the first subject of a and b only (a 缺考), and types 否 into one more row
    for row in rows:
        ticket, subject = row[0].value, row[2].value
        if (ticket, subject) == (s.ticket(a), first):
            row[3].value = 80
        elif (ticket, subject) == (s.ticket(b), first):
            row[4].value = "是"
        elif ticket == s.ticket(c) and subject == first:
            row[3].value, row[4].value = "  ", "否"
    path = tmp_path / "part.xlsx"
    book.save(path)
    report = importer.import_rows(s.org, s.plan.id, path)
    assert report.errors == [] and report.imported
    assert report.rows == 2 and report.changed == 2 and report.skipped_blank == 4
    assert count_scores() == 2
    # the result stays open while a subject has neither score nor mark
    assert db.session.scalar(select(Result.passed).where(Result.registration_id == a.id)) is None


@pytest.mark.parametrize("score, absent, message", [
    ("八十", "", "不是数字"), ("101", "", "满分"), ("", "也许", "无法识别"), ("", "缺", "无法识别"),
])
def test_a_typed_but_bad_value_in_an_unfilled_row_is_still_an_error(tmp_path, score, absent, message):
    s = make_scored_setup(people=1, subjects=2)
    reg = s.registrations[0]
    sa, sb = (x.name for x in s.subjects)
    path = sheet(tmp_path, [(s.ticket(reg), sa, 70, "", ""), (s.ticket(reg), sb, score, absent, "")])
    report = importer.import_rows(s.org, s.plan.id, path)
    assert [p.row for p in report.errors] == [3] and message in report.errors[0].message
    assert not report.imported and count_scores() == 0


def test_cli_import_json_and_exit_codes(tmp_path, cli):
    s = make_scored_setup(people=1, subjects=1)
    reg, subject = s.registrations[0], s.subjects[0]
    db.session.commit()
    bad = sheet(tmp_path, [(s.ticket(reg), subject.name, 170, "", "")], name="bad.xlsx")
    result = cli.invoke(args=["scores", "import", "--plan", str(s.plan.id), "--json", str(bad)])
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["imported"] is False and out["errors"][0]["row"] == 2 and out["errors"][0]["column"] == "成绩"
    good = sheet(tmp_path, [(s.ticket(reg), subject.name, 70.5, "", "")], name="good.xlsx")
    result = cli.invoke(args=["scores", "import", "--plan", str(s.plan.id), "--json", str(good)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"rows": 1, "changed": 1, "unchanged": 0, "skipped_blank": 0,
                                         "imported": True, "errors": []}
    assert db.session.scalar(select(Score.score)) == Decimal("70.5")
    unknown = cli.invoke(args=["scores", "import", "--plan", "999999", "--json", str(good)])
    assert unknown.exit_code == 1 and "找不到" in json.loads(unknown.stdout)["errors"][0]["message"]


def test_cli_publish_display_then_final(cli):
    s = make_scored_setup(people=1, subjects=1)
    db.session.commit()
    refused = cli.invoke(args=["scores", "publish", "--plan", str(s.plan.id), "--stage", "display", "--json"])
    assert refused.exit_code == 1 and "未登记" in json.loads(refused.stdout)["error"]
    room = s.seat(s.registrations[0], s.subjects[0]).room_id
    seat_id = services.entry_grid(s.org, s.plan.id, room)[2][0].seat_id
    services.save_grid(s.org, s.plan.id, room, {seat_id: {"score": "30"}})
    db.session.commit()
    shown = cli.invoke(args=["scores", "publish", "--plan", str(s.plan.id), "--stage", "display", "--days", "1",
                             "--json"])
    assert shown.exit_code == 0, shown.output
    out = json.loads(shown.stdout)
    assert out["stage"] == "成绩公示中" and out["failed"] == 1
    early = cli.invoke(args=["scores", "publish", "--plan", str(s.plan.id), "--stage", "final"])
    assert early.exit_code == 1 and "公示期内不能发布" in early.stderr
