"""批量导入报考: a sheet per plan (证件号码, 姓名, 等级, 考核站点, 是否补考), every row checked first.

The rows are resolved to the school's candidates and sites in a few queries, then the same
rules as the list's 报考 action apply (`services.check_entries`). By default a file with any
bad row registers nothing; with `valid_only` the good rows are registered and the bad ones
reported. The report has the shape of the candidate import.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..candidates.fields import person_name
from ..candidates.importer import ImportReport  # the same report as the candidate import
from ..candidates.models import Candidate
from ..catalog.models import CertificateLevel, Level, School
from ..core import audit, idcard, permissions
from ..core.errors import DomainError
from ..core.jobs import InputRefused
from ..core.excel import SheetError, cell_text, find_header, read_first_sheet, write_table
from ..exams.models import ExamPlan
from ..extensions import db
from ..sites.models import ExamSite
from . import services
from .services import Entry

HEADER_ALIASES = {
    "证件号码": "id_number", "身份证号": "id_number", "身份证号码": "id_number", "证件号": "id_number",
    "姓名": "name", "考生姓名": "name",
    "等级": "level", "证书等级": "level", "报考等级": "level",
    "考核站点": "site", "站点": "site", "考点": "site",
    "是否补考": "retake", "补考": "retake",
}
LABELS = {"id_number": "证件号码", "name": "姓名", "level": "等级", "site": "考核站点", "retake": "是否补考"}
REQUIRED_COLUMNS = ("id_number", "name", "level", "site")
YES = {"是", "Y", "YES", "1", "TRUE", "补考"}
NO = {"", "否", "N", "NO", "0", "FALSE"}


def find_columns(rows: list[list]) -> tuple[int, dict[str, int]]:
    """The header row's index and field -> column index (core.excel.find_header)."""
    return find_header(rows, HEADER_ALIASES, REQUIRED_COLUMNS, LABELS, "报考模板")


def import_rows(actor: Any, school_id: int, plan_id: int, path: str | Path, *, valid_only: bool = False,
                file_name: str = "", progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Check every row of the sheet, then register all (or, if asked, only the valid) rows."""
    permissions.require(actor, "registrations.manage")
    school = permissions.get_for(actor, School, school_id)
    if actor.school_id not in (None, school.id):
        raise permissions.NotInScope()
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    services.lapse_before_registering(plan, school)
    services._require_open(plan)
    try:
        rows = read_first_sheet(path, max_rows=current_app.config["MAX_IMPORT_ROWS"],
                                file_label=f"「{file_name}」" if file_name else "文件")
        header_index, columns = find_columns(rows)
    except SheetError as exc:
        raise InputRefused(str(exc)) from exc
    report = ImportReport()
    candidates = _candidates_by_number(school.id)
    sites = _sites_by_name(school.id, plan.certificate_id)
    entries: list[Entry] = []
    data_rows = rows[header_index + 1:]
    for offset, cells in enumerate(data_rows):
        number = header_index + 2 + offset  # the row number Excel shows
        if progress and offset % 1000 == 0:
            progress(offset, len(data_rows))
        raw = {name: (cells[col] if col < len(cells) else None) for name, col in columns.items()}
        if all(cell_text(v) == "" for v in raw.values()):
            report.skipped_blank += 1
            continue
        report.rows += 1
        entries.append(_entry(number, raw, candidates, sites))
    checked = services.check_entries(actor, school, plan, entries)
    report.errors.extend(checked.problems)
    if report.errors and not valid_only:
        report.errors.sort(key=lambda p: p.row or 0)
        return report
    savepoint = db.session.begin_nested()
    ids = services.write_checked(actor, school, checked, source=file_name or "导入")
    report.errors = sorted(checked.problems, key=lambda p: p.row or 0)
    if report.errors and not valid_only:  # a line emptied by another request between check and write
        savepoint.rollback()
        return report
    savepoint.commit()
    report.warnings.extend(checked.warnings)
    report.created = len(ids)
    report.imported = bool(ids) or not report.errors
    audit.record(actor, "registration.import", school, after={
        "plan": plan.name, "file": file_name, "rows": report.rows, "created": report.created,
        "errors": len(report.errors)})
    return report


def _entry(number: int, raw: dict, candidates: dict, sites: dict) -> Entry:
    problems: list[tuple[str, str]] = []
    id_raw = raw.get("id_number")
    candidate = None
    if isinstance(id_raw, float):
        problems.append(("证件号码", "证件号码被保存成了数字，后几位已丢失：请把该列设为文本格式后重新填写"))
    else:
        id_number = idcard.normalise(cell_text(id_raw))
        name = person_name(raw.get("name"))  # 赵 强 in a sheet is 赵强
        if not id_number:
            problems.append(("证件号码", "请填写证件号码"))
        else:
            candidate = candidates.get(id_number)
            if candidate is None:
                problems.append(("证件号码", f"本校没有证件号码为 {idcard.mask(id_number)} 的考生，请先在考生管理中录入并认证"))
            elif name and name != person_name(candidate.name):
                problems.append(("姓名", f"姓名与系统中不一致（证件号码 {idcard.mask(id_number)} 在系统中为「{candidate.name}」）"))
                candidate = None
            elif not name:
                problems.append(("姓名", "请填写姓名"))
                candidate = None
    level_text = cell_text(raw.get("level"))
    level = next((lv for lv in Level if lv.value == level_text), None)
    site = None
    if level is None:
        problems.append(("等级", f"等级「{level_text}」无效，请从下拉列表选择初级、中级或高级" if level_text else "请填写等级"))
    site_text = cell_text(raw.get("site"))
    if not site_text:
        problems.append(("考核站点", "请填写考核站点"))
    else:
        site = sites.get(site_text)
        if site is None:
            problems.append(("考核站点", f"本校没有名为「{site_text}」的考核站点，请从下拉列表选择"))
        elif level is not None and site.certificate_level.level != level:
            problems.append(("考核站点", f"考核站点「{site.name}」是{site.certificate_level.level.value}的站点，"
                                        f"不能报考{level.value}"))
            site = None
    retake_text = cell_text(raw.get("retake")).upper()
    if retake_text not in YES | NO:
        problems.append(("是否补考", f"是否补考应填「是」或「否」（不是「{cell_text(raw.get('retake'))}」）"))
    if problems:
        return Entry(candidate=None, site=None, row=number, problems=problems)
    return Entry(candidate=candidate, site=site, is_retake=retake_text in YES, row=number)


def _candidates_by_number(school_id: int) -> dict[str, Candidate]:
    rows = db.session.scalars(select(Candidate).where(Candidate.school_id == school_id)
                              .options(joinedload(Candidate.major)).order_by(Candidate.hidden, Candidate.id))
    found: dict[str, Candidate] = {}
    for c in rows:
        found.setdefault(c.id_number, c)
    return found


def _sites_by_name(school_id: int, certificate_id: int) -> dict[str, ExamSite]:
    """Site name -> the school's site; where names repeat, the site of the plan's certificate wins
    (then the usable one). A name found only among other certificates' sites is kept, so that
    the row is refused saying the site is not of the plan's certificate."""
    rows = db.session.scalars(select(ExamSite).where(ExamSite.school_id == school_id)
                              .options(joinedload(ExamSite.certificate_level).joinedload(CertificateLevel.certificate))
                              .order_by(ExamSite.id))
    ranked = sorted(rows, key=lambda s: (s.certificate_level.certificate_id != certificate_id, not s.usable, s.id))
    found: dict[str, ExamSite] = {}
    for site in ranked:
        found.setdefault(site.name, site)
    return found


def error_workbook(path: str | Path, target: str | Path, errors: list[dict], max_rows: int) -> None:
    """The uploaded sheet again, with a 错误说明 column on each row that has problems."""
    rows = read_first_sheet(path, max_rows=max_rows)
    by_row: dict[int, list[str]] = {}
    for problem in errors:
        by_row.setdefault(problem["row"], []).append(f"{problem['column']}：{problem['message']}")
    width = max((len(r) for r in rows), default=0)
    header_index, _ = find_columns(rows)
    out = []
    for index, cells in enumerate(rows):
        padded = [cell_text(c) for c in cells] + [""] * (width - len(cells))
        padded.append("错误说明" if index == header_index else "；".join(by_row.get(index + 1, [])))
        out.append(padded)
    write_table(target, "导入结果", out[header_index], out[header_index + 1:])
