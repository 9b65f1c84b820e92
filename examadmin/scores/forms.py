"""Forms of the score pages (the grid's rows are read from the request: one set of fields per seat)."""
from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..core.forms import BaseForm


class ScoreImportForm(BaseForm):
    file = FileField("Excel 文件（.xlsx / .xls / .ods）", validators=[
        FileRequired("请选择要导入的 Excel 文件"),
        FileAllowed(["xlsx", "xls", "ods", "xlsm"], "只支持 .xlsx、.xls、.ods 文件")])
    valid_only = BooleanField("只导入正确的行（默认：只要有一行有误，就全部不导入）")
    reason = StringField("修改原因（成绩公示开始后必填）", validators=[Optional(), Length(max=500)])
    submit = SubmitField("开始导入")


class DisplayForm(BaseForm):
    display_days = StringField("公示天数", default="5", validators=[Optional(), Length(max=5)])
    submit = SubmitField("开始公示")


class ObjectionForm(BaseForm):
    reason = TextAreaField("异议理由", validators=[DataRequired("请填写异议理由"), Length(max=500)])
    submit = SubmitField("提出异议")


class AnswerForm(BaseForm):
    answer = TextAreaField("答复理由", validators=[Length(max=500)])
    change = BooleanField("同时更正成绩")
    score = StringField("更正后的成绩", validators=[Optional(), Length(max=20)])
    absent = BooleanField("缺考")
    violation = BooleanField("违纪")
    submit = SubmitField("答复")
