"""Sheets for the 报考 import tests."""
from __future__ import annotations

from pathlib import Path

import xlsxwriter

HEADERS = ["证件号码", "姓名", "等级", "考核站点", "是否补考"]


def row(candidate, site, *, level: str | None = None, retake: str = "否", **overrides) -> dict:
    values = {"证件号码": candidate.id_number, "姓名": candidate.name,
              "等级": level or site.certificate_level.level.value, "考核站点": site.name, "是否补考": retake}
    values.update(overrides)
    return values


def write_sheet(path: Path, rows: list[dict], *, raw_cells=None) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("报考信息")
    for col, title in enumerate(HEADERS):
        sheet.write_string(0, col, title)
    for r, values in enumerate(rows, start=1):
        for col, title in enumerate(HEADERS):
            value = values.get(title, "")
            if value not in ("", None):
                sheet.write_string(r, col, str(value))
    for (r, col), value in (raw_cells or {}).items():
        sheet.write(r, col, value)
    workbook.close()
    return path
