"""Forms for plans, applications and reviews. Major lines are parsed by the view (a table of rows)."""
from __future__ import annotations

from wtforms import (BooleanField, DateTimeLocalField, IntegerField, SelectField, SelectMultipleField,
                     StringField, SubmitField, TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..core.forms import BaseForm

DT = "%Y-%m-%dT%H:%M"


class PlanForm(BaseForm):
    year = IntegerField("申报年度", validators=[DataRequired("请填写申报年度"), NumberRange(2019, 2100, "申报年度应在 2019 至 2100 年之间")])
    batch = StringField("申报批次", validators=[DataRequired("请填写申报批次"), Length(max=20)])
    window_start = DateTimeLocalField("申报开始时间", format=DT, validators=[DataRequired("请填写开始时间")])
    window_end = DateTimeLocalField("申报结束时间", format=DT, validators=[DataRequired("请填写结束时间")])
    requires_majors = BooleanField("要求按专业申报", default=True)
    requires_city_review = BooleanField("要求地市级教育局先审核")
    all_levels = BooleanField("开放全部证书与等级", default=True)
    level_ids = SelectMultipleField("开放的证书等级（不选「全部」时）", coerce=int, validators=[Optional()])
    submit = SubmitField("保存")


class ApplicationForm(BaseForm):
    certificate_level_id = SelectField("申报证书及等级", coerce=int, validators=[Optional()])
    explanation = TextAreaField("申报说明", validators=[Optional(), Length(max=2000)])


class ReturnForm(BaseForm):
    reason = TextAreaField("退回原因", validators=[DataRequired("请填写退回原因"), Length(max=1000)])
    submit = SubmitField("退回")
