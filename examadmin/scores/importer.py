"""Importing scores from a sheet keyed by admission ticket number; the template per plan.

Columns 准考证号, 科目, 成绩, 缺考, 违纪, found by their header in any order. Every row is
checked first; by default a file with any bad row imports nothing, with `valid_only` the
good rows go in and the bad ones are reported (the shape of the candidates import).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from flask import current_app
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from sqlalchemy import select

from ..candidates.importer import Problem
from ..candidates.models import Candidate
from ..core import audit, permissions
from ..core.errors import DomainError
from ..core.jobs import InputRefused
from ..core.excel import SheetError, cell_text, find_header, put_text, read_first_sheet
from ..exams.models import ExamPlan, ExamSession, Subject
from ..extensions import db
from ..registrations.models import Registration
from ..scheduling.models import AdmissionTicket, Seat
from .services import Change, _existing, _write, check_entry, refusals, require_reason, stage_of

HEADERS = ["准考证号", "姓名", "科目", "成绩", "缺考", "违纪"]
HEADER_ALIASES = {"准考证号": "ticket", "准考证": "ticket", "科目": "subject", "考试科目": "subject",
                  "成绩": "score", "分数": "score", "科目成绩": "score", "缺考": "absent", "违纪": "violation"}
REQUIRED = ("ticket", "subject", "score")
LABELS = {"ticket": "准考证号", "subject": "科目", "score": "成绩", "absent": "缺考", "violation": "违纪"}
YES = {"是", "√", "✓", "Y", "YES", "1", "TRUE", "缺考", "违纪"}
NO = {"", "否", "N", "NO", "0", "FALSE", "×"}


@dataclass
class ImportReport:
    rows: int = 0
    #: rows whose score or marks differ from what was stored, and were written
    changed: int = 0
    unchanged: int = 0
    #: blank rows and rows left unfilled (no score, no mark)
    skipped_blank: int = 0
    imported: bool = False
    errors: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "changed": self.changed, "unchanged": self.unchanged,
                "skipped_blank": self.skipped_blank, "imported": self.imported,
                "errors": [p.as_dict() for p in self.errors]}


def find_columns(rows: list[list]) -> tuple[int, dict[str, int]]:
    """The header row's index and field -> column index (core.excel.find_header)."""
    return find_header(rows, HEADER_ALIASES, REQUIRED, LABELS, "成绩模板")


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = cell_text(value).strip().upper()
    if text.endswith(".0"):
        text = text[:-2]
    if text in YES:
        return True
    if text in NO:
        return False
    raise DomainError(f"「{cell_text(value)[:10]}」无法识别，请填写“是”或留空")


def _not_filled(raw: dict[str, Any]) -> bool:
    """A template row left as handed out: no score typed and neither 缺考 nor 违纪 marked.

    Such a row is skipped like a blank one, so that a template filled in part (a room, a day)
    can be imported; a typed score, even a bad one, or an unreadable mark is checked as usual."""
    if cell_text(raw.get("score")).strip():
        return False
    try:
        return not _flag(raw.get("absent")) and not _flag(raw.get("violation"))
    except DomainError:
        return False


def _plan_seats(plan_id: int) -> dict[str, dict]:
    """ticket number -> its registration and the subjects it sits ({name: (subject, school_id)})."""
    seats: dict[str, dict] = {}
    rows = db.session.execute(
        select(AdmissionTicket.ticket_number, Seat.registration_id, Seat.school_id, Subject, Candidate.name)
        .join(Seat, Seat.registration_id == AdmissionTicket.registration_id)
        .join(Subject, Subject.id == Seat.subject_id)
        .join(Registration, Registration.id == Seat.registration_id)
        .join(Candidate, Candidate.id == Registration.candidate_id)
        .where(AdmissionTicket.plan_id == plan_id)).all()
    for ticket, reg_id, school_id, subject, name in rows:
        entry = seats.setdefault(ticket, {"registration_id": reg_id, "school_id": school_id, "name": name,
                                          "subjects": {}})
        entry["subjects"][subject.name] = subject
    return seats


def import_rows(actor: Any, plan_id: Any, path: str | Path, *, valid_only: bool = False, reason: str = "",
                file_name: str = "", progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Check every row of the sheet, then write all (or, if asked, only the valid) rows."""
    permissions.require(actor, "scores.enter")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    reason = require_reason(stage_of(plan.id), reason)
    try:
        rows = read_first_sheet(path, max_rows=current_app.config["MAX_IMPORT_ROWS"],
                                file_label=f"「{file_name}」" if file_name else "文件")
        header_index, columns = find_columns(rows)
    except SheetError as exc:
        raise InputRefused(str(exc)) from exc
    seats = _plan_seats(plan.id)
    report = ImportReport()
    seen: dict[tuple[str, str], int] = {}
    changes: list[Change] = []
    numbers: list[int] = []
    data_rows = rows[header_index + 1:]
    for offset, cells in enumerate(data_rows):
        number = header_index + 2 + offset
        if progress and offset % 500 == 0:
            progress(offset, len(data_rows))
        raw = {name: (cells[col] if col < len(cells) else None) for name, col in columns.items()}
        if all(cell_text(v) == "" for v in raw.values()) or _not_filled(raw):
            report.skipped_blank += 1
            continue
        report.rows += 1
        change = _check_row(raw, number, seats, seen, report)
        if change is not None:
            changes.append(change)
            numbers.append(number)
    # Rows that may not change now (exam not over, certificate made) are row errors like the others.
    existing = _existing(plan.id, [(c.registration_id, c.subject_id) for c in changes])
    refused = refusals(plan.id, changes, existing)
    if refused:
        for index, message in refused.items():
            report.errors.append(Problem(numbers[index], "成绩", message))
        report.errors.sort(key=lambda p: p.row)
        changes = [c for i, c in enumerate(changes) if i not in refused]
    if report.errors and not valid_only:
        return report
    report.changed = _write(actor, plan.id, changes, existing, reason=reason, source=file_name or "导入")
    report.unchanged = len(changes) - report.changed
    report.imported = bool(report.changed) or not report.errors
    audit.record(actor, "score.import", plan, after={
        "file": file_name, "rows": report.rows, "changed": report.changed, "errors": len(report.errors),
        **({"reason": reason} if reason else {})})
    return report


def _check_row(raw, number, seats, seen, report) -> Change | None:
    errors = []
    ticket = cell_text(raw.get("ticket")).strip()
    subject_name = cell_text(raw.get("subject")).strip()
    found = seats.get(ticket) if ticket else None
    subject = None
    if not ticket:
        errors.append(Problem(number, "准考证号", "请填写准考证号"))
    elif found is None:
        errors.append(Problem(number, "准考证号", f"准考证号「{ticket[:30]}」不属于本考试计划"))
    if not subject_name:
        errors.append(Problem(number, "科目", "请填写科目"))
    elif found is not None:
        subject = found["subjects"].get(subject_name)
        if subject is None:
            held = "、".join(found["subjects"]) or "无"
            errors.append(Problem(number, "科目", f"该考生报考的等级没有科目「{subject_name[:30]}」（应为：{held}）"))
    flags = {}
    for name in ("absent", "violation"):
        try:
            flags[name] = _flag(raw.get(name))
        except DomainError as exc:
            errors.append(Problem(number, LABELS[name], exc.message))
    value = None
    if subject is not None and len(flags) == 2:
        try:
            value, _, _ = check_entry(subject, raw.get("score"), flags["absent"], flags["violation"])
        except DomainError as exc:
            errors.append(Problem(number, "成绩", exc.message))
    if ticket and subject_name:
        key = (ticket, subject_name)
        if key in seen:
            errors.append(Problem(number, "准考证号", f"准考证号「{ticket[:30]}」的科目「{subject_name[:30]}」"
                                                   f"与第 {seen[key]} 行重复"))
        else:
            seen[key] = number
    if errors:
        report.errors.extend(errors)
        return None
    return Change(found["registration_id"], subject.id, found["school_id"], value, flags["absent"],
                  flags["violation"], f"{found['name']} {subject.name}")


def build_template(actor: Any, plan_id: Any) -> tuple[ExamPlan, bytes]:
    """The plan's sheet: one row per ticket number and subject, scores to fill in."""
    permissions.require(actor, "scores.enter")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "科目成绩"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="E9ECEF")
    for col, (title, width) in enumerate(zip(HEADERS, [24, 12, 24, 10, 8, 8]), start=1):
        cell = sheet.cell(row=1, column=col, value=title)
        cell.font, cell.fill = bold, fill
        sheet.column_dimensions[chr(64 + col)].width = width
    sheet.freeze_panes = "A2"
    rows = db.session.execute(
        select(AdmissionTicket.ticket_number, Candidate.name, Subject.name, Seat.absent)
        .join(Seat, Seat.registration_id == AdmissionTicket.registration_id)
        .join(Subject, Subject.id == Seat.subject_id)
        .join(ExamSession, ExamSession.id == Seat.session_id)
        .join(Registration, Registration.id == Seat.registration_id)
        .join(Candidate, Candidate.id == Registration.candidate_id)
        .where(AdmissionTicket.plan_id == plan.id)
        .order_by(ExamSession.date, ExamSession.start_time, AdmissionTicket.ticket_number)).all()
    for index, (ticket, name, subject, absent) in enumerate(rows, start=2):
        sheet.cell(row=index, column=1, value=ticket).number_format = "@"
        put_text(sheet.cell(row=index, column=2), name)
        put_text(sheet.cell(row=index, column=3), subject)
        if absent:
            sheet.cell(row=index, column=5, value="是")
    guide = workbook.create_sheet("填写说明")
    guide.column_dimensions["A"].width = 110
    for row, text in enumerate([
        "填写说明",
        "1. 每行是一名考生的一个科目，以准考证号和科目对应；姓名列仅供核对，不导入。",
        "2. 成绩为 0 到该科目满分之间的数字，最多一位小数。",
        "3. 缺考、违纪填“是”或留空；缺考的科目不填成绩。签到时已标记缺考的考生已预先填好。",
        "4. 既未填成绩、也未标记缺考或违纪的行不导入（跳过），可以分批填写、分批导入。",
        "5. 导入时先检查所有行：默认只要有一行有误就全部不导入，并逐行列出错误。",
        "6. 成绩公示开始后再导入，须填写修改原因，每项修改都会记入成绩的修改记录。",
        f"本模板适用于：{plan.name}",
    ], start=1):
        guide.cell(row=row, column=1, value=text).alignment = Alignment(wrap_text=True)
    guide["A1"].font = Font(bold=True, size=14)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return plan, buffer.getvalue()
