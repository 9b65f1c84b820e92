"""Forms of the hours pages; every rule is checked again by the services (these only shape input)."""
from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..core.forms import BaseForm, opts
from .models import HoursKind, RequirementMode

KIND_CHOICES = [("", "请选择")] + [(k.value, k.value) for k in HoursKind]  # passed through opts()


class HoursForm(BaseForm):
    kind = SelectField("类别", choices=opts(KIND_CHOICES), validate_choice=False)
    date = StringField("日期", render_kw={"type": "date"}, validators=[Length(max=20)])
    provider = StringField("培训或实践机构", validators=[Length(max=200)])
    hours = StringField("学时（小时，最多一位小数）", validators=[Length(max=20)], render_kw={"inputmode": "decimal"})
    evidence = FileField("证明材料（PDF、JPEG 或 PNG，不超过 10 MB）")
    submit = SubmitField("提交审核")


class ReturnForm(BaseForm):
    reason = TextAreaField("退回原因", validators=[DataRequired("请填写退回原因"), Length(max=500)])
    submit = SubmitField("退回")


class HoursImportForm(BaseForm):
    file = FileField("Excel 文件（.xlsx / .xls / .ods）", validators=[
        FileRequired("请选择要导入的 Excel 文件"),
        FileAllowed(["xlsx", "xls", "ods", "xlsm"], "只支持 .xlsx、.xls、.ods 文件")])
    valid_only = BooleanField("只导入正确的行（默认：只要有一行有误，就全部不导入）")
    submit = SubmitField("开始导入")


class RequirementForm(BaseForm):
    min_supervision = StringField("督导学时要求（小时）", validators=[Optional(), Length(max=10)])
    min_practice = StringField("实践学时要求（小时）", validators=[Optional(), Length(max=10)])
    mode = SelectField("未达要求时", choices=opts([(RequirementMode.REFUSE.value, "拒绝报考"),
                                                   (RequirementMode.WARN.value, "提醒（仍可报考）")]), validate_choice=False)
    submit = SubmitField("保存")
