"""Forms of the registration pages."""
from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..core.forms import BaseForm


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None


class RegisterForm(BaseForm):
    plan_id = SelectField("考试计划", coerce=_int_or_none, validators=[DataRequired("请选择考试计划")])
    site_id = SelectField("考核站点（决定报考等级）", coerce=_int_or_none, validators=[DataRequired("请选择考核站点")])
    submit = SubmitField("确认报考")


class ImportForm(BaseForm):
    plan_id = SelectField("考试计划", coerce=_int_or_none, validators=[DataRequired("请选择考试计划")])
    file = FileField("Excel 文件（.xlsx / .xls / .ods）", validators=[
        FileRequired("请选择要导入的 Excel 文件"),
        FileAllowed(["xlsx", "xls", "ods", "xlsm"], "只支持 .xlsx、.xls、.ods 文件")])
    valid_only = BooleanField("只导入正确的行（默认：只要有一行有误，就全部不导入）")
    submit = SubmitField("开始导入")


class CancelForm(BaseForm):
    reason = TextAreaField("取消原因（已排考的报考必填）", validators=[Optional(), Length(max=500)])
    submit = SubmitField("取消报考")
