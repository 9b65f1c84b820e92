"""Forms of candidate pages. The field rules themselves live in fields.py."""
from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from ..core.forms import BaseForm, opts
from .fields import ETHNICITIES
from .models import CandidateKind, IdType


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class CandidateForm(BaseForm):
    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=50)])
    id_type = SelectField("证件类型", choices=opts((t.value, t.value) for t in IdType))
    id_number = StringField("证件号码", validators=[DataRequired("请填写证件号码"), Length(max=40)])
    gender = SelectField("性别", choices=opts([("", "按身份证号码自动判断"), ("男", "男"), ("女", "女")]))
    ethnicity = SelectField("民族", choices=opts([("", "—")] + [(e, e) for e in ETHNICITIES]))
    phone = StringField("手机号码", validators=[Optional(), Length(max=20)])
    kind = SelectField("考生类型", choices=opts((k.value, k.value) for k in CandidateKind))
    major_id = SelectField("专业（本校考生）", coerce=_optional_int, validators=[Optional()])
    class_name = StringField("班级", validators=[Optional(), Length(max=50)])
    student_number = StringField("学号", validators=[Optional(), Length(max=30)])
    enrolment_year = StringField("入学年份", validators=[Optional(), Length(max=4)])
    submit = SubmitField("保存")


class ImportForm(BaseForm):
    file = FileField("Excel 文件（.xlsx / .xls / .ods）", validators=[
        FileRequired("请选择要导入的 Excel 文件"),
        FileAllowed(["xlsx", "xls", "ods", "xlsm"], "只支持 .xlsx、.xls、.ods 文件")])
    valid_only = BooleanField("只导入正确的行（默认：只要有一行有误，就全部不导入）")
    submit = SubmitField("开始导入")
