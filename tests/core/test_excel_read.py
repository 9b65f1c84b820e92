"""Reading uploaded sheets: the real extent first (streamed, the declared one may lie), then
the read in a child process, so that no file can take the process down (issue 8 item 1)."""
from __future__ import annotations

import os
import zipfile

import pytest

from examadmin.core import excel
from examadmin.core.excel import SheetError, read_first_sheet, sheet_extent
from tests.hostile_files import MAIN, cell, far_corner_xlsx, row, sheet_xml, table_rows, write_xlsx

HEADERS = ["姓名", "证件号码"]


@pytest.mark.parametrize("dimension", [None, "A1:B3"], ids=["no-dimension", "false-dimension"])
def test_the_far_corner_file_is_refused_as_too_wide_before_any_dense_read(tmp_path, dimension):
    path = far_corner_xlsx(tmp_path / "hostile.xlsx", dimension)
    assert path.stat().st_size < 2000
    assert sheet_extent(path) == excel.SheetExtent(rows=1048576, columns=16384)
    with pytest.raises(SheetError) as refused:
        read_first_sheet(path, max_rows=50000, file_label="「hostile.xlsx」")
    assert "「hostile.xlsx」" in str(refused.value) and "XFD" in str(refused.value) and "100 列" in str(refused.value)


def test_a_value_far_down_is_refused_as_too_long(tmp_path):
    path = write_xlsx(tmp_path / "long.xlsx", [sheet_xml(
        table_rows(HEADERS, [["甲", "1"]]) + [row(1048576, cell("A1048576", "x"))], "A1:B2")])
    with pytest.raises(SheetError, match="超过单次导入上限 50000 行（第 1048576 行还有内容）"):
        read_first_sheet(path, max_rows=50000)


def test_cells_that_only_carry_formatting_far_away_do_not_count(tmp_path):
    # A user formatted the sheet down to the last row (Ctrl+End lands on row 1,048,576).
    rows = table_rows(HEADERS, [["甲", "1"], ["乙", "2"]])
    rows.append(row(1048576, cell("XFD1048576", style_only=True), attrs=' s="1" customFormat="1"'))
    path = write_xlsx(tmp_path / "formatted.xlsx", [sheet_xml(rows, "A1:XFD1048576")])
    assert sheet_extent(path) == excel.SheetExtent(rows=3, columns=2)
    assert read_first_sheet(path, max_rows=50000) == [HEADERS, ["甲", "1"], ["乙", "2"]]


def test_rows_and_cells_without_a_reference_are_placed_where_a_reader_puts_them(tmp_path):
    wide = write_xlsx(tmp_path / "wide.xlsx", [sheet_xml([row(None, *(cell(None) for _ in range(150)))])])
    assert sheet_extent(wide) == excel.SheetExtent(rows=1, columns=150)
    with pytest.raises(SheetError, match="第 CW 列（第 101 列）"):
        read_first_sheet(wide, max_rows=50000)
    tall = write_xlsx(tmp_path / "tall.xlsx", [sheet_xml([row(1, cell(None)), row(1048575), row(None, cell(None))])])
    assert sheet_extent(tall) == excel.SheetExtent(rows=1048576, columns=1)


def test_a_tag_with_two_references_counts_the_larger(tmp_path):
    hostile = '<c x:r="A1" r="XFD1048576"><v>1</v></c>'
    path = write_xlsx(tmp_path / "two.xlsx", [sheet_xml([row(1, cell("A1")), f'<row r="2">{hostile}</row>'])])
    assert sheet_extent(path).columns == 16384


def test_the_first_sheet_is_the_one_the_workbook_lists_first(tmp_path):
    harmless = sheet_xml(table_rows(HEADERS, [["甲", "1"]]))
    hostile = sheet_xml([row(1, cell("A1")), row(1048576, cell("XFD1048576"))])
    path = write_xlsx(tmp_path / "order.xlsx", [harmless, hostile], first=1)  # sheet2.xml comes first
    with pytest.raises(SheetError, match="XFD"):
        read_first_sheet(path, max_rows=50000)


def test_a_sheet_within_the_limits_reads_as_before(tmp_path):
    data = [[f"学生{i}", str(i)] for i in range(200)]
    path = write_xlsx(tmp_path / "ok.xlsx", [sheet_xml(table_rows(HEADERS, data))])
    assert read_first_sheet(path, max_rows=200) == [HEADERS, *data]
    with pytest.raises(SheetError, match="超过单次导入上限 199 行"):
        read_first_sheet(path, max_rows=199)


def test_a_read_that_gets_past_the_checks_cannot_take_this_process_down(tmp_path, monkeypatch):
    # As if the extent check missed a case: calamine then asks for 512 GB and Rust aborts,
    # in the child. This process answers with a message and carries on.
    monkeypatch.setattr(excel, "sheet_extent", lambda *a, **k: excel.SheetExtent())
    path = far_corner_xlsx(tmp_path / "hostile.xlsx")
    with pytest.raises(SheetError) as refused:
        read_first_sheet(path, max_rows=50000, file_label="「hostile.xlsx」")
    assert "「hostile.xlsx」无法读取" in str(refused.value) and "内存上限" in str(refused.value)
    assert read_first_sheet(write_xlsx(tmp_path / "ok.xlsx", [sheet_xml(table_rows(HEADERS, []))]),
                            max_rows=10) == [HEADERS]


def _slow_read(*args):
    import time
    time.sleep(30)


def test_a_read_that_runs_too_long_is_stopped_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setattr(excel, "_read_first_sheet_here", _slow_read)
    path = write_xlsx(tmp_path / "slow.xlsx", [sheet_xml(table_rows(HEADERS, []))])
    with pytest.raises(SheetError, match="「slow.xlsx」读取超时（超过 1 秒）"):
        read_first_sheet(path, max_rows=10, file_label="「slow.xlsx」", seconds=1)
    assert os.getpid()  # still here


def test_a_reference_hidden_behind_a_quoted_angle_bracket_is_still_found(tmp_path):
    # ">" is legal inside an attribute value; a scanner that ends the tag there misses r.
    hostile = '<c foo=">" r="XFD1048576"><v>1</v></c>'
    path = write_xlsx(tmp_path / "gt.xlsx", [sheet_xml([row(1, cell("A1")), f'<row r="2">{hostile}</row>'])])
    assert sheet_extent(path).columns == 16384


def test_the_first_sheet_is_found_by_its_relationship_whatever_its_name_says(tmp_path):
    harmless = sheet_xml(table_rows(HEADERS, [["甲", "1"]]))
    hostile = sheet_xml([row(1, cell("A1")), row(1048576, cell("XFD1048576"))])
    path = write_xlsx(tmp_path / "names.xlsx", [harmless, hostile], first=1)
    with zipfile.ZipFile(path) as archive:
        parts = {i.filename: archive.read(i) for i in archive.infolist()}
    # a sheet name that looks like an attribute pointing at the harmless sheet
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b'name="S2"', b"name='x r:id=\"rId1\"'")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(SheetError, match="XFD"):
        read_first_sheet(path, max_rows=50000)


def test_prefixed_tags_are_read_like_plain_ones(tmp_path):
    xml = (f'<?xml version="1.0"?><x:worksheet xmlns:x="{MAIN}"><x:sheetData><x:row r="1">'
           '<x:c r="A1" t="inlineStr"><x:is><x:t>a</x:t></x:is></x:c></x:row>'
           '<x:row r="7"><x:c r="XFD7"><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>')
    assert sheet_extent(write_xlsx(tmp_path / "prefixed.xlsx", [xml])) == excel.SheetExtent(rows=7, columns=16384)
