"""Spreadsheets: writing exports and templates, reading uploaded sheets safely."""
from __future__ import annotations

import posixpath
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO, Iterable, Sequence

import xlsxwriter
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from python_calamine import CalamineWorkbook

from . import sandbox


#: a text beginning with one of these would run as a formula once the sheet is edited or saved as CSV
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """OWASP's CSV-injection advice: a text that a spreadsheet would take for a formula gets a
    leading single quote, so that it stays text when the export is edited or saved as CSV."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def put_text(cell, value: str) -> None:
    """An openpyxl cell that holds `value` as text, even when it starts with "=": openpyxl would
    store such a string as a live formula, which Excel runs on opening (a template's names and
    drop-down values are users' text). Unlike `safe_text` the value stays exactly as typed,
    so a drop-down choice still matches on import. Control characters, which openpyxl refuses
    (a stored name with a bell in it made the score template answer 500), are left out."""
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.data_type = "s"


def write_table(path: str | Path | BinaryIO, sheet: str, headers: Sequence[str], rows: Iterable[Sequence],
                widths: Sequence[int] | None = None) -> int:
    """Write one sheet with a bold, frozen header row; constant memory for large exports.

    Every cell is written as text or number as given: ID numbers must arrive as text so
    that Excel does not round them to 15 digits. Texts pass through `safe_text` (every export
    writes here, so no user-supplied text becomes a formula).
    """
    return write_sheets(path, [(sheet, headers, rows, widths)])[0]


def write_sheets(path: str | Path | BinaryIO,
                 sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence], Sequence[int] | None]]) -> list[int]:
    """Several sheets (name, headers, rows, widths) in one workbook, each as `write_table` writes
    one, in order (constant memory writes a sheet's rows in turn); the row count of each."""
    target = path if hasattr(path, "write") else str(path)  # a path or an in-memory buffer
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False, "strings_to_urls": False})
    try:
        bold = workbook.add_format({"bold": True, "bg_color": "#E9ECEF", "border": 1})
        counts = []
        for sheet, headers, rows, widths in sheets:
            ws = workbook.add_worksheet(sheet)
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
            counts.append(count)
        return counts
    finally:
        workbook.close()


# ---- reading uploads ------------------------------------------------------------------
#
# An uploaded sheet is hostile until read. python-calamine builds a dense range over the
# first and last cells that hold a value: a 2 KB .xlsx with values in A1 and XFD1048576 asks
# for 17 billion cells (512 GB) and Rust aborts the whole process. So the real extent of
# the first sheet is learnt first by streaming its XML (the <dimension> it declares may
# lie), and the whole read, extent included, runs in a child process with a memory cap and
# a time limit (core.sandbox): a file that still gets past the checks costs a refusal, not
# the web process or the job worker.

ZIP_MAGIC = b"PK\x03\x04"
#: the compound-file signature: legacy .xls, or an .xlsx saved with a password to open
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MB = 1024 * 1024
#: the widest first sheet read; the template has 12 columns, a school's own sheet a few more
MAX_COLUMNS = 100
#: the most sheet XML streamed to learn the extent (a legit 50,000-row sheet is ~40 MB)
MAX_SHEET_XML_BYTES = 512 * MB
#: workbook.xml and its relationships name the sheets; more than this is not a workbook
MAX_WORKBOOK_PART_BYTES = 8 * MB
#: the memory (beyond the child's start) and time a read may take
READ_MEMORY_MB = 1024
READ_SECONDS = 60
_CHUNK = MB


def _tag_pattern(prefixed: bool, quoted: bool) -> re.Pattern:
    """A <row> or <c> start tag: its name, the r="B12" written first as Excel writes it
    (letters, digits), and the rest of its attributes.

    With `prefixed`, also <x:c> (the prefix costs the scan at every "<", so it is used only
    where such a tag may be); with `quoted`, attribute values may hold a ">" (legal XML).
    """
    prefix = rb"(?:[A-Za-z_][\w.\-]*:)?" if prefixed else b""
    rest = rb"""((?:[^>"']+|"[^"]*"|'[^']*')*)""" if quoted else rb"([^>]*)"
    return re.compile(b"<" + prefix + rb"""(row|c)\b(?:\s+r="([A-Za-z]*)([0-9]*)")?""" + rest + b">")


_TAGS = {(prefixed, quoted): _tag_pattern(prefixed, quoted) for prefixed in (False, True) for quoted in (False, True)}
#: how a prefixed <x:c> or <x:row> tag must go on; none in a chunk: no prefixed tag there
_PREFIXED = re.compile(rb":(?:c[\s>/]|row)")
_GT_IN_VALUE = re.compile(rb"""=\s*(?:"[^"]*>|'[^']*>)""")
#: any r attribute in the rest of a tag: another r (hostile), or one not written as Excel does
_R_IN_REST = re.compile(rb"r\s*=")
#: an r="B12" attribute, however written (every one in a tag counts)
_REF = re.compile(rb"""(?:^|[\s:])r\s*=\s*["']?\s*([A-Za-z]*)\s*([0-9]*)""")
_FIRST_SHEET = re.compile(rb"""<(?:[A-Za-z_][\w.\-]*:)?sheet\b((?:[^>"']+|"[^"]*"|'[^']*')*)>""")
_RELATIONSHIP = re.compile(rb"""<(?:[A-Za-z_][\w.\-]*:)?Relationship\b((?:[^>"']+|"[^"]*"|'[^']*')*)>""")
_ATTR = re.compile(rb"""([\w:.\-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


class SheetError(ValueError):
    """The upload cannot be read as a sheet; the message says why, in Chinese."""


def column_number(letters: str | bytes) -> int:
    """A1-style column letters as a number: A = 1, XFD = 16384."""
    number = 0
    for char in letters.upper() if isinstance(letters, str) else letters.upper().decode("ascii"):
        number = number * 26 + ord(char) - 64
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass
class SheetExtent:
    """The last row and column (1-based) of a cell that holds something; 0 when empty."""
    rows: int = 0
    columns: int = 0


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_WORKBOOK_PART_BYTES:
        return None
    with archive.open(info) as part:
        return part.read(MAX_WORKBOOK_PART_BYTES)


def _attributes(text: bytes) -> list[tuple[bytes, bytes]]:
    return [(key, double or single) for key, double, single in _ATTR.findall(text)]


def _first_sheet_parts(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The zip members of the workbook's first sheet, as Excel and calamine find it
    (xl/workbook.xml, then its relationships); every worksheet when that cannot be told."""
    workbook = _read_part(archive, "xl/workbook.xml")
    rels = _read_part(archive, "xl/_rels/workbook.xml.rels")
    target = None
    if workbook and rels:
        sheet = _FIRST_SHEET.search(workbook)
        rel_id = next((value for key, value in _attributes(sheet.group(1)) if key == b"id" or key.endswith(b":id")),
                      None) if sheet else None
        if rel_id:
            for match in _RELATIONSHIP.finditer(rels):
                attrs = dict(_attributes(match.group(1)))
                if attrs.get(b"Id") == rel_id and attrs.get(b"Target"):
                    raw = attrs[b"Target"].decode("utf-8", "replace").replace("\\", "/")
                    target = posixpath.normpath(raw.lstrip("/") if raw.startswith("/") else "xl/" + raw)
                    break
    infos = archive.infolist()
    if target:
        found = [i for i in infos if i.filename == target]  # every copy: a zip may hold two
        if found:
            return found
    return [i for i in infos if "worksheets/" in i.filename.lower() and not i.is_dir()]


def sheet_extent(path: str | Path, *, max_rows: int | None = None, max_columns: int | None = None,
                 file_label: str = "文件") -> SheetExtent:
    """The real extent of the first sheet of an .xlsx, streamed from its XML in bounded
    memory without building any range. With limits, stops at the first cell beyond them.

    Counts cells that hold a value or a formula; cells that only carry formatting (a column
    formatted down to row 1,048,576) do not count, as calamine does not read them. Rows and
    cells without an `r` attribute are placed where a reader would place them.
    """
    extent = SheetExtent()
    row_limit = None if max_rows is None else max_rows + 1  # the header row on top
    try:
        with zipfile.ZipFile(path) as archive:
            for info in _first_sheet_parts(archive):
                if info.file_size > MAX_SHEET_XML_BYTES:
                    raise SheetError(f"{file_label}的工作表内容过大（解压后 {info.file_size // MB} MB，"
                                     f"上限 {MAX_SHEET_XML_BYTES // MB} MB），请拆分后分批导入")
                with archive.open(info) as stream:
                    _scan(stream, extent, row_limit, max_columns, file_label)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise SheetError(f"{file_label}无法读取（文件已损坏或不是 Excel 表格）：请用 Excel 打开后另存为 .xlsx 再上传") from exc
    return extent


def _scan(stream, extent: SheetExtent, row_limit: int | None, max_columns: int | None, file_label: str) -> None:
    row = column = 0
    numbers: dict[bytes, int] = {}  # column letters seen -> number (a sheet repeats a few)
    carry = b""
    while True:
        chunk = stream.read(_CHUNK)
        data = carry + chunk
        if chunk:
            # The last tag waits for the next chunk: it may be cut (a ">" inside a value
            # does not prove it is whole).
            cut = data.rfind(b"<")
            data, carry = (data[:cut], data[cut:]) if cut >= 0 else (data, b"")
            if len(carry) > _CHUNK:
                raise SheetError(f"{file_label}的工作表内容异常（单个标签过长），无法读取")
        tags = _TAGS[_PREFIXED.search(data) is not None, _GT_IN_VALUE.search(data) is not None].findall(data)
        for name, letters, digits, rest in tags:
            if _R_IN_REST.search(rest):  # every reference counts; the largest of each wins
                refs = _REF.findall(rest) + ([(letters, digits)] if letters or digits else [])
                letters = max(((len(l), l.upper()) for l, _ in refs if l), default=(0, b""))[1]
                number = max((int(d) for _, d in refs if d), default=None)
            else:
                number = int(digits) if digits else None
            if name == b"row":
                row = number if number is not None else row + 1
                column = 0
                continue
            if letters:
                found = numbers.get(letters)
                if found is None:
                    found = numbers[letters] = column_number(letters)
                column = found
            else:
                column += 1
            if rest.endswith(b"/"):  # <c r="B2" s="1"/>: formatting only, no value
                continue
            cell_row = number if number is not None else row
            if cell_row > extent.rows:
                extent.rows = cell_row
                if row_limit is not None and cell_row > row_limit:
                    _check_extent(cell_row, column, row_limit, max_columns, file_label)
            if column > extent.columns:
                extent.columns = column
                if max_columns is not None and column > max_columns:
                    _check_extent(cell_row, column, row_limit, max_columns, file_label)
        if not chunk:
            return


def _check_extent(cell_row, column, row_limit, max_columns, file_label) -> None:
    if max_columns is not None and column > max_columns:
        raise SheetError(f"{file_label}的第一个工作表在第 {column_letters(column)} 列（第 {column} 列）还有内容，"
                         f"超过上限 {max_columns} 列：请删除表格右侧多余的内容（或只把需要的列复制到新表格）后再上传")
    if row_limit is not None and cell_row > row_limit:
        raise SheetError(f"{file_label}的数据超过单次导入上限 {row_limit - 1} 行（第 {cell_row} 行还有内容），"
                         "请删除表格下方多余的内容，或拆分后分批导入")


def read_first_sheet(path: str | Path, *, max_rows: int, max_columns: int = MAX_COLUMNS,
                     file_label: str = "文件", memory_mb: int = READ_MEMORY_MB,
                     seconds: float = READ_SECONDS) -> list[list]:
    """All rows of the first sheet of an .xlsx, .xls or .ods (python-calamine: the fastest
    reader here), refusing what is not a sheet, is encrypted, too long or too wide.

    The read runs in a child process capped at `memory_mb` and `seconds` (core.sandbox).
    """
    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if not (magic.startswith(ZIP_MAGIC) or magic == OLE2_MAGIC):
        raise SheetError(f"{file_label}不是 Excel 表格（支持 .xlsx、.xls、.ods），请用系统提供的模板填写后上传")
    try:
        return sandbox.run(_read_first_sheet_here, str(path), max_rows, max_columns, file_label,
                           memory_mb=memory_mb, seconds=seconds)
    except sandbox.SandboxError as exc:
        if exc.reason == "time":
            raise SheetError(f"{file_label}读取超时（超过 {seconds:g} 秒），文件可能内容异常："
                             "请用 Excel 打开后另存为新的 .xlsx，删除多余内容后再上传") from exc
        raise SheetError(f"{file_label}无法读取：读取时超出内存上限（{memory_mb} MB）或读取程序异常退出，"
                         "文件可能内容异常或已损坏。请用 Excel 打开后另存为新的 .xlsx，删除多余内容后再上传") from exc


def _read_first_sheet_here(path: str, max_rows: int, max_columns: int, file_label: str) -> list[list]:
    """The read itself (in the sandbox's child): the real extent first, then calamine."""
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                is_xlsx = any(n == "xl/workbook.xml" for n in archive.namelist())
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise SheetError(f"{file_label}无法读取（文件已损坏或不是 Excel 表格）：请用 Excel 打开后另存为 .xlsx 再上传") from exc
        if is_xlsx:
            sheet_extent(path, max_rows=max_rows, max_columns=max_columns, file_label=file_label)
    try:
        workbook = CalamineWorkbook.from_path(path)
    except Exception as exc:  # calamine raises its own errors and plain ones for broken files
        if magic == OLE2_MAGIC:
            raise SheetError(f"{file_label}设置了打开密码或已损坏：请在 Excel 中取消密码，另存为 .xlsx 后再上传") from exc
        raise SheetError(f"{file_label}无法读取（文件已损坏或不是 Excel 表格）：请用 Excel 打开后另存为 .xlsx 再上传") from exc
    try:
        if not workbook.sheet_names:
            raise SheetError(f"{file_label}中没有工作表")
        sheet = workbook.get_sheet_by_index(0)
        # .xls and .ods were not measured before: the child's memory cap guarded this read.
        if sheet.total_height - 1 > max_rows:
            raise SheetError(f"{file_label}有 {sheet.total_height - 1} 行数据，超过单次导入上限 {max_rows} 行，请拆分后分批导入")
        if sheet.total_width > max_columns:
            raise SheetError(f"{file_label}的第一个工作表有 {sheet.total_width} 列，超过上限 {max_columns} 列："
                             "请删除表格右侧多余的内容后再上传")
        return sheet.to_python(skip_empty_area=False, nrows=max_rows + 1)
    except SheetError:
        raise
    except Exception as exc:  # calamine's own message is English and technical: not for users
        raise SheetError(f"{file_label}无法读取（工作表内容已损坏或格式不受支持）：请用 Excel 打开后另存为 .xlsx 再上传") from exc
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


def plain_text(value) -> str:
    """`cell_text` without control and format characters (a bell, right-to-left overrides,
    zero-width spaces): in a name or an address they only disguise what is shown, and some
    cannot be written into a spreadsheet. Line breaks and tabs become spaces."""
    kept = (" " if ch.isspace() else ch for ch in cell_text(value)
            if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))
    return "".join(kept).strip()


#: how many rows from the top may hold a title above a sheet's header row
HEADER_SEARCH_ROWS = 5


def header_key(text) -> str:
    """A header cell as compared: no spaces, stars, brackets or 必填 (templates mark required columns)."""
    return re.sub(r"[\s*＊（）()必填]", "", cell_text(text))


def find_header(rows: list[list], aliases: dict[str, str], required: tuple[str, ...], labels: dict[str, str],
                template: str) -> tuple[int, dict[str, int]]:
    """The header row's index and field -> column index, found by header text in any order within
    the first rows; unknown columns (序号…) are ignored. `template` names the template to use."""
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns: dict[str, int] = {}
        for col, text in enumerate(row):
            name = aliases.get(header_key(text))
            if name and name not in columns:
                columns[name] = col
        if all(name in columns for name in required):
            return index, columns
    missing = "、".join(labels[n] for n in required)
    raise SheetError(f"找不到表头：前 {HEADER_SEARCH_ROWS} 行中应有「{missing}」列，请使用系统提供的{template}")
