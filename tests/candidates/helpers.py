"""Building sheets and ID numbers for candidate tests."""
from __future__ import annotations

import itertools
from pathlib import Path

import xlsxwriter

from examadmin.core import idcard

_seq = itertools.count(1)
HEADERS = ["姓名", "证件类型", "证件号码", "性别", "民族", "手机号码", "考生类型", "专业代码", "专业名称", "班级",
           "学号", "入学年份"]


def id_number(born: str = "20030512", male: bool = True, region: str = "500107") -> str:
    """A valid 居民身份证 number, different on every call."""
    n = next(_seq) % 500
    seq = f"{(n * 2 + (1 if male else 0)) % 1000:03d}"
    first17 = f"{region}{born}{seq}"
    return first17 + idcard.check_char(first17)


def student_row(name: str = "张三", number: str | None = None, **overrides) -> dict:
    row = {"姓名": name, "证件类型": "居民身份证", "证件号码": number or id_number(), "性别": "", "民族": "汉族",
           "手机号码": "13800138000", "考生类型": "本校考生", "专业代码": "570116K", "专业名称": "心理健康教育",
           "班级": "心理2201", "学号": "2022001", "入学年份": "2022"}
    row.update(overrides)
    return row


def write_sheet(path: Path, rows: list[dict], headers: list[str] | None = None, *, raw_cells=None) -> Path:
    """Write rows as text cells (as the template does); raw_cells {(row, col): value} write as given."""
    headers = headers or HEADERS
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("考生信息")
    for col, title in enumerate(headers):
        sheet.write_string(0, col, title)
    for r, row in enumerate(rows, start=1):
        for col, title in enumerate(headers):
            value = row.get(title, "")
            if value not in ("", None):
                sheet.write_string(r, col, str(value))
    for (r, col), value in (raw_cells or {}).items():
        sheet.write(r, col, value)
    workbook.close()
    return path
