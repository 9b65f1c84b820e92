"""Forms of the exam area: subjects, plans, sessions and rooms."""
from __future__ import annotations

from wtforms import (DateField, DateTimeLocalField, HiddenField, IntegerField, SelectField, StringField,
                     SubmitField, TimeField)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..catalog.models import Level
from ..core.forms import BaseForm, opts
from .models import ExamMode

#: how datetime-local inputs send their value, and how the field shows it again
DATETIME_LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class SubjectForm(BaseForm):
    certificate_level_id = SelectField("证书与等级", coerce=_optional_int,
                                       validators=[DataRequired("请选择证书与等级")])
    name = StringField("科目名称", validators=[DataRequired("请填写科目名称"), Length(max=60)])
    mode = SelectField("考试方式", choices=opts((m.value, f"{m.value}") for m in ExamMode),
                       description="考试方式决定考场类型：机考→机房，笔试→普通教室，实操→实训室。")
    full_mark = IntegerField("满分", validators=[InputRequired("请填写满分")])
    pass_mark = IntegerField("及格分", validators=[InputRequired("请填写及格分")])
    submit = SubmitField("保存")


class PlanForm(BaseForm):
    name = StringField("计划名称", validators=[DataRequired("请填写计划名称"), Length(max=100)])
    certificate_id = SelectField("证书", coerce=_optional_int, validators=[DataRequired("请选择证书")])
    registration_start = DateTimeLocalField("报考开始", format=DATETIME_LOCAL,
                                            validators=[DataRequired("请填写报考开始时间")])
    registration_end = DateTimeLocalField("报考截止", format=DATETIME_LOCAL,
                                          validators=[DataRequired("请填写报考截止时间")])
    payment_deadline = DateTimeLocalField("缴费截止", format=DATETIME_LOCAL,
                                          validators=[DataRequired("请填写缴费截止时间")],
                                          description="截止时仍未缴费的报名视为自动放弃。")
    ticket_start = DateTimeLocalField("准考证下载开始", format=DATETIME_LOCAL,
                                      validators=[DataRequired("请填写准考证下载开始时间")],
                                      description="通常为考试前一周。")
    ticket_end = DateTimeLocalField("准考证下载截止", format=DATETIME_LOCAL,
                                    validators=[DataRequired("请填写准考证下载截止时间")])
    fee_junior = StringField("初级报考费用（元）", validators=[Optional(), Length(max=12)])
    fee_middle = StringField("中级报考费用（元）", validators=[Optional(), Length(max=12)])
    fee_senior = StringField("高级报考费用（元）", validators=[Optional(), Length(max=12)])
    submit = SubmitField("保存")


class SessionForm(BaseForm):
    date = DateField("考试日期", validators=[DataRequired("请填写考试日期")])
    start_time = TimeField("开始时间", validators=[DataRequired("请填写开始时间")])
    end_time = TimeField("结束时间", validators=[DataRequired("请填写结束时间")])
    level = SelectField("等级", choices=opts((lv.value, lv.value) for lv in Level))
    subject_id = SelectField("科目", coerce=_optional_int, validators=[DataRequired("请选择科目")])
    submit = SubmitField("添加场次")


class RoomForm(BaseForm):
    plan_id = HiddenField()
    site_id = HiddenField()
    subject_id = SelectField("科目", coerce=_optional_int, validators=[DataRequired("请选择科目")])
    name = StringField("考场名称或编号", validators=[DataRequired("请填写考场名称或编号"), Length(max=40)],
                       description="如“实训楼 301”；同一站点的同名考场视为同一间教室。")
    seats = IntegerField("座位数", validators=[InputRequired("请填写座位数")])
    submit = SubmitField("保存")
