"""The Excel template a school fills in: headers, text-formatted ID column, drop-downs."""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..core.excel import put_text
from ..catalog.models import School
from ..catalog.services import majors_for_school_type
from .fields import ETHNICITIES
from .models import CandidateKind, IdType

HEADERS = ["姓名", "证件类型", "证件号码", "性别", "民族", "手机号码", "考生类型", "专业代码", "专业名称", "班级",
           "学号", "入学年份"]
WIDTHS = [10, 14, 22, 6, 10, 14, 10, 12, 22, 16, 14, 10]
ROWS = 5000  # how far down the drop-downs and the text format reach

INSTRUCTIONS = [
    "填写说明",
    "1. 请在「考生信息」表中从第 2 行起每行填写一名考生，不要修改第 1 行表头；列的顺序可以调整，多余的列（如序号）会被忽略。",
    "2. 证件号码列已设为文本格式。请勿把证件号码改成数字格式：Excel 只保留 15 位有效数字，18 位身份证号的后几位会丢失。",
    "3. 居民身份证号码会自动校验；性别可不填，系统按号码判断；填写时须与号码一致。",
    "4. 考生类型为「本校考生」时须填写专业代码和专业名称（从下拉列表选择，须属于本校类型的专业目录）；「社会考生」不填专业、班级、学号。",
    "5. 未在已审核通过的试点申报中申报的专业也可导入，但这些学生报考时不能使用指标（可作为社会考生报考）。",
    "6. 导入时先检查所有行：默认只要有一行有误就全部不导入，并逐行列出错误；也可以选择「只导入正确的行」。",
    "7. 同一证件号码再次导入不会重复新增：未认证的考生会更新信息；已认证（信息准确）的考生姓名和证件号码已锁定。",
    "8. 照片请另行打包为 zip 上传：文件直接放在压缩包根目录，以证件号码命名（如 500107200001011234.jpg）。",
]


def build_template(school: School) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "考生信息"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="E9ECEF")
    for col, (title, width) in enumerate(zip(HEADERS, WIDTHS), start=1):
        cell = sheet.cell(row=1, column=col, value=title)
        cell.font, cell.fill = bold, fill
        sheet.column_dimensions[get_column_letter(col)].width = width
    sheet.freeze_panes = "A2"
    # Text format for the ID, phone, student number and major code columns.
    for letter in ("C", "F", "H", "K"):
        for row in range(2, ROWS + 2):
            sheet[f"{letter}{row}"].number_format = "@"

    lists = workbook.create_sheet("下拉选项")
    majors = majors_for_school_type(school.type)
    columns = {
        "A": [t.value for t in IdType], "B": ["男", "女"], "C": [k.value for k in CandidateKind],
        "D": [m.code for m in majors], "E": [m.name for m in majors], "F": ETHNICITIES,
    }
    for letter, values in columns.items():
        for row, value in enumerate(values, start=1):
            put_text(lists[f"{letter}{row}"], value)
    lists.sheet_state = "hidden"
    targets = {"A": "B", "B": "D", "C": "G", "D": "H", "E": "I", "F": "E"}
    for source, target in targets.items():
        count = max(len(columns[source]), 1)
        validation = DataValidation(type="list", formula1=f"='下拉选项'!${source}$1:${source}${count}",
                                    allow_blank=True, showErrorMessage=source in ("A", "B", "C"))
        validation.error = "请从下拉列表中选择"
        sheet.add_data_validation(validation)
        validation.add(f"{target}2:{target}{ROWS + 1}")

    guide = workbook.create_sheet("填写说明")
    guide.column_dimensions["A"].width = 120
    for row, text in enumerate(INSTRUCTIONS + [f"本模板适用于：{school.name}（{school.type.value}）"], start=1):
        guide.cell(row=row, column=1, value=text).alignment = Alignment(wrap_text=True)
    guide["A1"].font = Font(bold=True, size=14)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
