"""The 报考 template of one plan and school: 证件号码, 姓名, 等级, 考核站点, 是否补考, with drop-downs."""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..catalog.models import School
from ..core.excel import put_text
from ..exams.models import ExamPlan
from ..sites.models import ExamSite
from .services import PLATFORM_WARNING, _rank

HEADERS = ["证件号码", "姓名", "等级", "考核站点", "是否补考"]
WIDTHS = [24, 12, 8, 44, 10]
ROWS = 5000  # how far down the drop-downs and the text format reach


def build_template(school: School, plan: ExamPlan, levels: dict, sites: list[ExamSite]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "报考信息"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="E9ECEF")
    for col, (title, width) in enumerate(zip(HEADERS, WIDTHS), start=1):
        cell = sheet.cell(row=1, column=col, value=title)
        cell.font, cell.fill = bold, fill
        sheet.column_dimensions[get_column_letter(col)].width = width
    sheet.freeze_panes = "A2"
    for row in range(2, ROWS + 2):
        sheet[f"A{row}"].number_format = "@"  # an 18-digit number typed as a number loses digits

    level_names = [lv.value for lv in sorted(levels, key=_rank)]
    site_names = [s.name for s in sites if s.certificate_level.level in levels
                  and s.certificate_level.certificate_id == plan.certificate_id]
    lists = workbook.create_sheet("下拉选项")
    for letter, values in {"A": level_names, "B": site_names, "C": ["否", "是"]}.items():
        for row, value in enumerate(values, start=1):
            put_text(lists[f"{letter}{row}"], value)
    lists.sheet_state = "hidden"
    for source, target, count in (("A", "C", len(level_names)), ("B", "D", len(site_names)), ("C", "E", 2)):
        validation = DataValidation(type="list", formula1=f"='下拉选项'!${source}$1:${source}${max(count, 1)}",
                                    allow_blank=True, showErrorMessage=True)
        validation.error = "请从下拉列表中选择"
        sheet.add_data_validation(validation)
        validation.add(f"{target}2:{target}{ROWS + 1}")

    fees = "；".join(f"{lv.value} {levels[lv]} 元" for lv in sorted(levels, key=_rank))
    guide = workbook.create_sheet("填写说明")
    guide.column_dimensions["A"].width = 120
    lines = [
        "填写说明",
        f"考试计划：{plan.name}（报考期间 {plan.registration_start:%Y-%m-%d %H:%M} 至 {plan.registration_end:%Y-%m-%d %H:%M}，"
        f"缴费截止 {plan.payment_deadline:%Y-%m-%d %H:%M}）",
        f"本计划的等级与报考费：{fees or '无'}",
        f"适用院校：{school.name}（{school.code}）",
        f"1. {PLATFORM_WARNING}。只有「信息准确」的考生才能报考。",
        "2. 每行一名考生：证件号码和姓名须与考生管理中的一致；证件号码列已设为文本格式，请勿改为数字。",
        "3. 等级和考核站点从下拉列表选择；考核站点须是本校审核通过且未停用、与所填等级一致的站点。",
        "4. 是否补考：第二次报考（此前该证书该等级考核不合格）的考生填「是」，补考和社会考生不占用指标。",
        "5. 本校考生（非补考）占用本校同年度、同等级、同专业（专业代码、版本号、名称、层次完全一致）已审核通过的指标；"
        "没有对应指标或指标已用完的考生不能以本校考生身份报考（可作为社会考生报考）。",
        "6. 导入时先检查所有行：默认只要有一行有误就全部不导入，并逐行列出原因；也可以选择「只导入正确的行」。",
        "7. 同一考生同一计划同一等级只能报考一次（在任何院校）。",
    ]
    for row, text in enumerate(lines, start=1):
        guide.cell(row=row, column=1, value=text).alignment = Alignment(wrap_text=True)
    guide["A1"].font = Font(bold=True, size=14)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
