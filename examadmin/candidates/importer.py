"""Importing candidates from a sheet: every row is checked before anything is written.

The sheet is read with python-calamine; columns are found by their header, in any order,
with the common aliases. By default a file with any bad row imports nothing; with
`valid_only` the good rows go in and the bad ones are reported. A row whose ID number the
school already has updates what is still editable, so importing a file twice adds nothing.
Writes are set-based: one INSERT ... RETURNING for new rows, one executemany UPDATE, and
the audit records in one INSERT.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from flask import current_app
from sqlalchemy import insert, select, update

from ..catalog.models import School
from ..core import audit, clock, idcard, permissions
from ..core.audit import AuditLog
from ..core.errors import DomainError
from ..core.jobs import InputRefused
from ..core.unique import unique_writes
from ..core.excel import SheetError, cell_text, find_header, read_first_sheet, write_table
from ..extensions import db
from .fields import EDITABLE_WHEN_LOCKED, LABELS, SchoolContext, check_fields
from .models import Candidate
from .services import FIELDS, hidden_message

HEADER_ALIASES = {
    "姓名": "name", "考生姓名": "name",
    "证件类型": "id_type",
    "证件号码": "id_number", "身份证号": "id_number", "身份证号码": "id_number", "证件号": "id_number",
    "性别": "gender", "民族": "ethnicity",
    "手机号码": "phone", "手机": "phone", "手机号": "phone", "联系电话": "phone",
    "考生类型": "kind", "专业代码": "major_code", "专业名称": "major_name", "专业": "major_name",
    "班级": "class_name", "学号": "student_number", "入学年份": "enrolment_year", "出生日期": "birth_date",
}
REQUIRED_COLUMNS = ("name", "id_number")


@dataclass
class Problem:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_blank: int = 0
    imported: bool = False
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "skipped_blank": self.skipped_blank, "imported": self.imported,
                "errors": [p.as_dict() for p in self.errors], "warnings": [p.as_dict() for p in self.warnings]}


def find_columns(rows: list[list]) -> tuple[int, dict[str, int]]:
    """The header row's index and field -> column index (core.excel.find_header)."""
    return find_header(rows, HEADER_ALIASES, REQUIRED_COLUMNS, LABELS, "模板")


def read_sheet(path: str | Path, file_name: str = "", *, max_rows: int | None = None) -> list[list]:
    """The uploaded sheet's rows, read within the configured limits (in a child process)."""
    config = current_app.config
    return read_first_sheet(path, max_rows=max_rows or config["MAX_IMPORT_ROWS"],
                            max_columns=config["MAX_IMPORT_COLUMNS"], memory_mb=config["SHEET_READ_MEMORY_MB"],
                            seconds=config["SHEET_READ_SECONDS"],
                            file_label=f"「{file_name}」" if file_name else "文件")


@dataclass
class _Row:
    number: int
    values: dict[str, Any]
    existing_id: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)


def import_rows(actor: Any, school_id: int, path: str | Path, *, valid_only: bool = False,
                file_name: str = "", progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Check every row of the sheet, then write all (or, if asked, only the valid) rows."""
    permissions.require(actor, "candidates.manage")
    school = permissions.get_for(actor, School, school_id)
    if actor.school_id not in (None, school.id):
        raise permissions.NotInScope()
    try:
        rows = read_sheet(path, file_name)
        header_index, columns = find_columns(rows)
    except SheetError as exc:
        raise InputRefused(str(exc)) from exc
    report = ImportReport()
    ctx = SchoolContext(school)
    existing = _existing_candidates(school.id)
    seen: dict[tuple, int] = {}
    good: list[_Row] = []
    data_rows = rows[header_index + 1:]
    for offset, cells in enumerate(data_rows):
        number = header_index + 2 + offset  # the row number Excel shows
        if progress and offset % 500 == 0:
            progress(offset, len(data_rows))
        raw = {name: (cells[col] if col < len(cells) else None) for name, col in columns.items()}
        if all(cell_text(v) == "" for v in raw.values()):
            report.skipped_blank += 1
            continue
        report.rows += 1
        problems = _check_row(ctx, raw, number, existing, seen, report)
        if problems is not None:
            good.append(problems)
    if report.errors and not valid_only:
        return report
    _write(actor, school, good, report, file_name)
    return report


def _check_row(ctx, raw, number, existing, seen, report) -> _Row | None:
    checked = check_fields(ctx, raw)
    errors = [Problem(number, LABELS.get(f, f), m) for f, m in checked.errors]
    values = checked.values
    key = (values.get("id_type"), values.get("id_number"))
    if values.get("id_number"):
        if key in seen:
            errors.append(Problem(number, "证件号码", f"与第 {seen[key]} 行的证件号码重复（第 {seen[key]} 行和第 {number} 行）"))
        else:
            seen[key] = number
    row = _Row(number, values)
    found = existing.get(key)
    if found is not None and not errors:
        if found["hidden"]:
            errors.append(Problem(number, "证件号码", hidden_message(values["id_number"])))
        else:
            row.existing_id = found["id"]
            editable = EDITABLE_WHEN_LOCKED if found["locked"] else tuple(k for k in values if k != "id_type")
            if found["locked"] and values["name"] != found["name"]:
                errors.append(Problem(number, "姓名", f"该考生信息已认证，姓名已锁定（系统中为「{found['name']}」），"
                                                    "如需修改请提交信息更正申请"))
            row.changes = {k: values[k] for k in editable if values[k] != found[k]}
    report.warnings.extend(Problem(number, LABELS.get(f, f), m) for f, m in checked.warnings)
    if errors:
        report.errors.extend(errors)
        return None
    return row


def _existing_candidates(school_id: int) -> dict[tuple, dict]:
    columns = [Candidate.id, Candidate.hidden, Candidate.state, *(getattr(Candidate, f) for f in FIELDS)]
    result = {}
    for row in db.session.execute(select(*columns).where(Candidate.school_id == school_id)).mappings():
        data = dict(row)
        data["locked"] = data["state"].value == "信息准确"
        result[(data["id_type"], data["id_number"])] = data
    return result


def _refuse_added_meanwhile(school: School, new: list[_Row]) -> None:
    """A row checked as new whose number someone else added while the import ran."""
    taken = _existing_candidates(school.id)
    for r in new:
        if (r.values["id_type"], r.values["id_number"]) in taken:
            raise DomainError(f"第 {r.number} 行：导入期间本校刚刚添加了证件号码为 {idcard.mask(r.values['id_number'])} "
                              "的考生，本次没有导入任何数据；请重新导入本文件（该行将更新已有考生）")


def _write(actor, school: School, rows: list[_Row], report: ImportReport, file_name: str) -> None:
    now = clock.now()
    new = [r for r in rows if r.existing_id is None]
    changed = [r for r in rows if r.existing_id is not None and r.changes]
    report.unchanged = sum(1 for r in rows if r.existing_id is not None and not r.changes)
    created_ids: list[tuple[int, str]] = []
    if new:
        # sort_by_parameter_order: the returned ids come back in the order of the rows given.
        with unique_writes(lambda: _refuse_added_meanwhile(school, new)):
            created_ids = [tuple(row) for row in db.session.execute(
                insert(Candidate).returning(Candidate.id, Candidate.name, sort_by_parameter_order=True),
                [{**r.values, "school_id": school.id, "created_at": now, "updated_at": now} for r in new],
            )]
    if changed:
        db.session.execute(update(Candidate), [{"id": r.existing_id, **r.changes, "updated_at": now}
                                               for r in changed])
    report.created, report.updated = len(new), len(changed)
    report.imported = bool(new or changed) or not report.errors
    _audit(actor, school, new, created_ids, changed, report, file_name, now)


def _audit(actor, school, new, created_ids, changed, report, file_name, now) -> None:
    """One audit record per created or changed candidate, and one for the import, in bulk."""
    scope = {"school_id": school.id, "city_id": school.city_id, "province_id": school.province_id}
    base = {"at": now, "actor_id": getattr(actor, "id", None), "actor_name": getattr(actor, "name", "系统"),
            "actor_role": str(actor.role), "entity_type": "candidate", "ip": "", **scope}
    records = []
    for (cid, name), row in zip(created_ids, new):
        records.append({**base, "action": "candidate.create", "entity_id": cid, "entity_label": name,
                        "before": None, "after": audit._plain({**row.values, "source": file_name or "导入"})})
    for row in changed:
        records.append({**base, "action": "candidate.update", "entity_id": row.existing_id,
                        "entity_label": row.values["name"], "before": None,
                        "after": audit._plain({**row.changes, "source": file_name or "导入"})})
    if records:
        db.session.execute(insert(AuditLog), records)
    audit.record(actor, "candidate.import", school, after={
        "file": file_name, "rows": report.rows, "created": report.created, "updated": report.updated,
        "unchanged": report.unchanged, "errors": len(report.errors)})


def error_workbook(path: str | Path, target: str | Path, errors: list[dict], max_rows: int,
                   file_name: str = "") -> None:
    """The uploaded sheet again, with a 错误说明 column on each row that has problems."""
    try:  # the second read of the same untrusted file: the same limits, the same child process
        rows = read_sheet(path, file_name, max_rows=max_rows)
    except SheetError as exc:
        raise DomainError(str(exc)) from exc
    by_row: dict[int, list[str]] = {}
    for problem in errors:
        by_row.setdefault(problem["row"], []).append(f"{problem['column']}：{problem['message']}")
    width = max((len(r) for r in rows), default=0)
    header_index, _ = find_columns(rows)
    out = []
    for index, cells in enumerate(rows):
        padded = [cell_text(c) for c in cells] + [""] * (width - len(cells))
        if index == header_index:
            padded.append("错误说明")
        else:
            padded.append("；".join(by_row.get(index + 1, [])))
        out.append(padded)
    header = out[header_index] if out else ["错误说明"]
    write_table(target, "导入结果", header, out[header_index + 1:])

