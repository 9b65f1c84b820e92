"""Spreadsheets: writing exports and templates, reading uploaded sheets safely."""
from __future__ import annotations

import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO, Iterable, Sequence

import xlsxwriter
from python_calamine import CalamineWorkbook


#: a text beginning with one of these would run as a formula once the sheet is edited or saved as CSV
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """OWASP's CSV-injection advice: a text that a spreadsheet would take for a formula gets a
    leading single quote, so that it stays text when the export is edited or saved as CSV."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_table(path: str | Path | BinaryIO, sheet: str, headers: Sequence[str], rows: Iterable[Sequence],
                widths: Sequence[int] | None = None) -> int:
    """Write one sheet with a bold, frozen header row; constant memory for large exports.

    Every cell is written as text or number as given: ID numbers must arrive as text so
    that Excel does not round them to 15 digits. Texts pass through `safe_text` (every export
    writes here, so no user-supplied text becomes a formula).
    """
    target = path if hasattr(path, "write") else str(path)  # a path or an in-memory buffer
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_numbers": False,
                                                "strings_to_formulas": False, "strings_to_urls": False})
    try:
        ws = workbook.add_worksheet(sheet)
        bold = workbook.add_format({"bold": True, "bg_color": "#E9ECEF", "border": 1})
        for col, header in enumerate(headers):
            ws.write_string(0, col, safe_text(str(header)), bold)
            ws.set_column(col, col, (widths[col] if widths else max(10, len(header) * 2 + 2)))
        ws.freeze_panes(1, 0)
        count = 0
        for count, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    ws.write_number(count, col, value)
                else:
                    ws.write_string(count, col, safe_text(str(value)))
        return count
    finally:
        workbook.close()


# ---- reading uploads ------------------------------------------------------------------

ZIP_MAGIC = b"PK\x03\x04"
#: the compound-file signature: legacy .xls, or an .xlsx saved with a password to open
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"')


class SheetError(ValueError):
    """The upload cannot be read as a sheet; the message says why, in Chinese."""


def _declared_rows(path: Path) -> int | None:
    """The row count an .xlsx declares for its first sheet, read without parsing it."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
            if not names:
                return None
            with archive.open(sorted(names)[0]) as sheet:
                head = sheet.read(4096)
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
    match = _DIMENSION.search(head)
    return int(match.group(1)) if match else None


def read_first_sheet(path: str | Path, *, max_rows: int, file_label: str = "文件") -> list[list]:
    """All rows of the first sheet of an .xlsx, .xls or .ods (python-calamine: the fastest
    reader here), refusing what is not a sheet, is encrypted or has too many rows."""
    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if not (magic.startswith(ZIP_MAGIC) or magic == OLE2_MAGIC):
        raise SheetError(f"{file_label}不是 Excel 表格（支持 .xlsx、.xls、.ods），请用系统提供的模板填写后上传")
    if magic.startswith(ZIP_MAGIC):
        declared = _declared_rows(path)
        if declared is not None and declared - 1 > max_rows:
            raise SheetError(f"{file_label}有 {declared - 1} 行数据，超过单次导入上限 {max_rows} 行，请拆分后分批导入")
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own errors and plain ones for broken files
        if magic == OLE2_MAGIC:
            raise SheetError(f"{file_label}设置了打开密码或已损坏：请在 Excel 中取消密码，另存为 .xlsx 后再上传") from exc
        raise SheetError(f"{file_label}无法读取（文件已损坏或不是 Excel 表格）：请用 Excel 打开后另存为 .xlsx 再上传") from exc
    try:
        if not workbook.sheet_names:
            raise SheetError(f"{file_label}中没有工作表")
        sheet = workbook.get_sheet_by_index(0)
        if sheet.total_height - 1 > max_rows:
            raise SheetError(f"{file_label}有 {sheet.total_height - 1} 行数据，超过单次导入上限 {max_rows} 行，请拆分后分批导入")
        return sheet.to_python(skip_empty_area=False, nrows=max_rows + 1)
    except SheetError:
        raise
    except Exception as exc:
        raise SheetError(f"{file_label}无法读取：{exc}") from exc
    finally:
        workbook.close()


def cell_text(value) -> str:
    """A cell as text: whole floats without '.0' (calamine returns every number as a float)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (datetime, date)):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()
