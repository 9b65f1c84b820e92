"""批量导入学时: training providers' Excel lists (证件号码, 姓名, 类别, 日期, 机构, 学时).

The same rules as the holder's own entry (`services.check_entry`, the day's total) and the shape
of the other imports: every row is checked first; by default a file with any bad row imports
nothing, with `valid_only` the good rows go in and the bad ones are reported. The org matches
ID numbers against every school's candidates, a school only against its own. Imported rows arrive
已核验: the importer is a verifier (the org, or the holder's school) and the provider's list is
the evidence. A row already imported (same person, kind, date, provider and hours) is counted
unchanged, so importing a file twice adds nothing.
"""
from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from flask import current_app
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import insert, select

from ..candidates.fields import person_name
from ..candidates.importer import ImportReport, Problem
from ..candidates.models import Candidate
from ..candidates.states import CandidateState
from ..catalog.models import School
from ..core import audit, clock, idcard, permissions
from ..core.errors import DomainError
from ..core.jobs import InputRefused
from ..core.excel import SheetError, cell_text, find_header, read_first_sheet, write_table
from ..core.roles import Role
from ..extensions import db
from .models import HoursKind, HoursRecord, HoursSource
from .services import (CYCLE_SOURCES, MAX_PER_DAY, check_dated, cycle_spans, day_total_message, day_totals,
                       lock_persons, parse_date, parse_hours, parse_kind, parse_provider)
from .states import HoursState

HEADERS = ["证件号码", "姓名", "类别", "日期", "机构", "学时"]
HEADER_ALIASES = {
    "证件号码": "id_number", "身份证号": "id_number", "身份证号码": "id_number", "证件号": "id_number",
    "姓名": "name", "持证人姓名": "name",
    "类别": "kind", "学时类别": "kind",
    "日期": "date", "培训日期": "date",
    "机构": "provider", "培训机构": "provider", "机构名称": "provider",
    "学时": "hours", "学时数": "hours", "小时": "hours",
}
LABELS = {"id_number": "证件号码", "name": "姓名", "kind": "类别", "date": "日期", "provider": "机构", "hours": "学时"}
REQUIRED = ("id_number", "name", "kind", "date", "provider", "hours")


def find_columns(rows: list[list]) -> tuple[int, dict[str, int]]:
    """The header row's index and field -> column index (core.excel.find_header)."""
    return find_header(rows, HEADER_ALIASES, REQUIRED, LABELS, "学时导入模板")


def _people(actor: Any, numbers: set[str]) -> dict[str, Candidate]:
    """ID number -> the candidate record the hours are matched to: the school's own, or for the org
    the person's most recent visible candidate record (the holder's current school)."""
    found: dict[str, Candidate] = {}
    ordered = sorted(numbers)
    for start in range(0, len(ordered), 900):
        query = (select(Candidate).where(Candidate.id_number.in_(ordered[start:start + 900]),
                                         Candidate.hidden.is_(False), permissions.scope_clause(actor, Candidate))
                 .order_by(Candidate.id))
        if actor.role == Role.SCHOOL:  # a school vouches only for candidates whose identity is 信息准确
            query = query.where(Candidate.state == CandidateState.ACCURATE)
        for candidate in db.session.scalars(query):
            found[candidate.id_number] = candidate  # the latest record wins
    return found


def import_rows(actor: Any, path: str | Path, *, valid_only: bool = False, file_name: str = "",
                progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Check every row of the sheet, then write all (or, if asked, only the valid) rows as 已核验."""
    permissions.require(actor, "hours.import")
    if actor.role == Role.SCHOOL and not actor.school_id:
        raise DomainError("只有院校或评价组织用户可以导入学时")
    config = current_app.config
    try:
        rows = read_first_sheet(path, max_rows=config["MAX_IMPORT_ROWS"], max_columns=config["MAX_IMPORT_COLUMNS"],
                                memory_mb=config["SHEET_READ_MEMORY_MB"], seconds=config["SHEET_READ_SECONDS"],
                                file_label=f"「{file_name}」" if file_name else "文件")
        header_index, columns = find_columns(rows)
    except SheetError as exc:
        raise InputRefused(str(exc)) from exc
    report = ImportReport()
    data_rows = rows[header_index + 1:]
    raws: list[tuple[int, dict]] = []
    for offset, cells in enumerate(data_rows):
        raw = {name: (cells[col] if col < len(cells) else None) for name, col in columns.items()}
        if all(cell_text(v) == "" for v in raw.values()):
            report.skipped_blank += 1
            continue
        report.rows += 1
        raws.append((header_index + 2 + offset, raw))
    numbers = {idcard.normalise(cell_text(raw["id_number"])) for _, raw in raws
               if not isinstance(raw["id_number"], float)}
    people = _people(actor, numbers)
    checked: list[dict] = []
    for index, (number, raw) in enumerate(raws):
        if progress and index % 500 == 0:
            progress(index, len(raws))
        row = _check_row(number, raw, people, report)
        if row is not None:
            checked.append(row)
    checked = _check_dates(checked, report)
    new = _drop_already_imported(checked, report)
    _check_day_totals(new, report)
    if report.errors and not valid_only:
        report.errors.sort(key=lambda p: p.row or 0)
        return report
    good = [r for r in new if not r.get("refused")]
    report.errors.sort(key=lambda p: p.row or 0)
    _write(actor, good)
    report.created = len(good)
    report.imported = bool(good) or not report.errors
    audit.record(actor, "hours_record.import", db.session.get(School, actor.school_id) if actor.school_id else None,
                 after={"file": file_name, "rows": report.rows, "created": report.created,
                        "unchanged": report.unchanged, "errors": len(report.errors)})
    return report


def _check_row(number: int, raw: dict, people: dict[str, Candidate], report: ImportReport) -> dict | None:
    errors: list[Problem] = []
    candidate = None
    id_raw = raw.get("id_number")
    if isinstance(id_raw, float):
        errors.append(Problem(number, "证件号码", "证件号码被保存成了数字，后几位已丢失：请把该列设为文本格式后重新填写"))
    else:
        id_number = idcard.normalise(cell_text(id_raw))
        name = person_name(raw.get("name"))  # 赵 强 in a sheet is 赵强
        if not id_number:
            errors.append(Problem(number, "证件号码", "请填写证件号码"))
        else:
            candidate = people.get(id_number)
            if candidate is None:
                errors.append(Problem(number, "证件号码", f"系统中没有证件号码为 {idcard.mask(id_number)} 的考生"
                                                        "（或不在您的管理范围内）"))
            elif not name:
                errors.append(Problem(number, "姓名", "请填写姓名"))
                candidate = None
            elif name != person_name(candidate.name):
                errors.append(Problem(number, "姓名", f"姓名「{name[:20]}」与系统中不一致"
                                                    f"（证件号码 {idcard.mask(id_number)} 在系统中为「{candidate.name}」）"))
                candidate = None
    values: dict[str, Any] = {}
    for field, parse in (("kind", parse_kind), ("date", parse_date), ("provider", parse_provider),
                         ("hours", parse_hours)):
        try:
            values[field] = parse(raw.get(field))
        except DomainError as exc:
            errors.append(Problem(number, LABELS[field], exc.message))
    if errors:
        report.errors.extend(errors)
        return None
    return {"row": number, "candidate": candidate, **values}


def _check_dates(rows: list[dict], report: ImportReport) -> list[dict]:
    """The date rule of each row's kind (services.check_dated): 继续教育 in the person's current cycle
    (their certificates' cycles fetched once for the whole file), 督导 and 实践 not too old."""
    spans = cycle_spans([(r["candidate"].id_type, r["candidate"].id_number) for r in rows
                         if r["kind"] == HoursKind.CONTINUING]) if CYCLE_SOURCES else None
    kept = []
    for r in rows:
        person = (r["candidate"].id_type, r["candidate"].id_number)
        try:
            check_dated(r["kind"], r["date"], None if spans is None else spans.get(person, []), own=False)
        except DomainError as exc:
            report.errors.append(Problem(r["row"], "日期", exc.message))
            continue
        kept.append(r)
    return kept


def _drop_already_imported(rows: list[dict], report: ImportReport) -> list[dict]:
    """Rows already stored from an import are unchanged; a row repeated within the file is an error."""
    if not rows:
        return []
    numbers = sorted({r["candidate"].id_number for r in rows})
    stored: set[tuple] = set()
    for start in range(0, len(numbers), 900):
        for rec in db.session.execute(select(
                HoursRecord.id_type, HoursRecord.id_number, HoursRecord.kind, HoursRecord.date,
                HoursRecord.provider, HoursRecord.hours).where(
                HoursRecord.id_number.in_(numbers[start:start + 900]), HoursRecord.source == HoursSource.IMPORT)):
            stored.add((rec[0], rec[1], rec[2], rec[3], rec[4], Decimal(rec[5]).quantize(Decimal("0.1"))))
    seen: dict[tuple, int] = {}
    new = []
    for r in rows:
        c = r["candidate"]
        key = (c.id_type, c.id_number, r["kind"], r["date"], r["provider"], r["hours"])
        if key in seen:
            report.errors.append(Problem(r["row"], "证件号码", f"与第 {seen[key]} 行重复（同一人、类别、日期、机构和学时）"))
            continue
        seen[key] = r["row"]
        if key in stored:
            report.unchanged += 1
            continue
        new.append(r)
    return new


def _check_day_totals(rows: list[dict], report: ImportReport) -> None:
    """No person over 24 hours in a day: what is stored plus the file's rows, in the file's order."""
    persons = [(r["candidate"].id_type, r["candidate"].id_number) for r in rows]
    lock_persons(persons)  # no parallel entry of these persons between this check and the write
    totals = day_totals(persons, [r["date"] for r in rows])
    for r, person in zip(rows, persons):
        key = (person, r["date"])
        already = totals.get(key, Decimal(0))
        if already + r["hours"] > MAX_PER_DAY:
            report.errors.append(Problem(r["row"], "学时", day_total_message(r["date"], already, r["hours"])))
            r["refused"] = True
        else:
            totals[key] = already + r["hours"]


def _write(actor: Any, rows: list[dict]) -> None:
    if not rows:
        return
    now = clock.now()
    actor_id = getattr(actor, "id", None)
    db.session.execute(insert(HoursRecord.__table__), [{
        "id_type": r["candidate"].id_type, "id_number": r["candidate"].id_number, "candidate_id": r["candidate"].id,
        "school_id": r["candidate"].school_id, "kind": r["kind"], "date": r["date"], "provider": r["provider"],
        "hours": r["hours"], "evidence_key": None, "evidence_filename": None, "source": HoursSource.IMPORT,
        "state": HoursState.VERIFIED, "reviewer_id": actor_id, "reviewed_at": now, "return_reason": "",
        "created_at": now, "created_by_id": actor_id,
    } for r in rows])


def build_template() -> bytes:
    """The providers' sheet: the six columns, text-formatted ID numbers, a drop-down for 类别."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "学时"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="E9ECEF")
    for col, (title, width) in enumerate(zip(HEADERS, [22, 10, 10, 12, 30, 8]), start=1):
        cell = sheet.cell(row=1, column=col, value=title)
        cell.font, cell.fill = bold, fill
        sheet.column_dimensions[chr(64 + col)].width = width
    sheet.freeze_panes = "A2"
    for row in range(2, 2002):
        sheet[f"A{row}"].number_format = "@"
        sheet[f"D{row}"].number_format = "yyyy-mm-dd"
    kinds = DataValidation(type="list", formula1='"' + ",".join(k.value for k in HoursKind) + '"', allow_blank=False,
                           showErrorMessage=True, errorTitle="类别无效", error="请选择继续教育、督导或实践")
    sheet.add_data_validation(kinds)
    kinds.add("C2:C2001")
    guide = workbook.create_sheet("填写说明")
    guide.column_dimensions["A"].width = 110
    for row, text in enumerate([
        "填写说明",
        "1. 每行是一名持证人在一天内的一条学时；证件号码和姓名须与系统中的考生一致。",
        "2. 证件号码列已设为文本格式，请勿改成数字（18 位号码的后几位会丢失）。",
        "3. 类别为继续教育、督导或实践；日期如 2026-03-01，不能晚于今天。继续教育学时用于证书再登记，"
        "日期须在持证人已发放证书的当前有效期内；督导、实践学时不能早于 5 年前。",
        "4. 学时大于 0，最多一位小数；同一人同一天合计不超过 24 小时。",
        "5. 导入时先检查所有行：默认只要有一行有误就全部不导入，并逐行列出错误；也可以选择「只导入正确的行」。",
        "6. 导入的学时直接记为「已核验」（机构名单即证明材料）；同一文件再次导入不会重复记录。",
    ], start=1):
        guide.cell(row=row, column=1, value=text).alignment = Alignment(wrap_text=True)
    guide["A1"].font = Font(bold=True, size=14)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def error_workbook(path: str | Path, target: str | Path, errors: list[dict], max_rows: int) -> None:
    """The uploaded sheet again, with a 错误说明 column on each row that has problems."""
    rows = read_first_sheet(path, max_rows=max_rows)
    by_row: dict[int, list[str]] = {}
    for problem in errors:
        by_row.setdefault(problem["row"], []).append(f"{problem['column']}：{problem['message']}")
    width = max((len(r) for r in rows), default=0)
    header_index, columns = find_columns(rows)
    out = []
    id_column = columns["id_number"]
    for index, cells in enumerate(rows):
        padded = [_as_written(c, index > header_index and col != id_column) for col, c in enumerate(cells)]
        padded += [""] * (width - len(cells))
        padded.append("错误说明" if index == header_index else "；".join(by_row.get(index + 1, [])))
        out.append(padded)
    write_table(target, "导入结果", out[header_index], out[header_index + 1:])


def _as_written(value: Any, keep_number: bool) -> Any:
    """A cell of the marked sheet: a number stays a number (hours -2 is not the text '-2, which
    core.excel would guard as a formula); the ID number column stays text (a number there has already
    lost its last digits, and the row says so)."""
    if keep_number and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value) if float(value).is_integer() else value
    return cell_text(value)
