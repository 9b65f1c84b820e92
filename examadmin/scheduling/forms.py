"""Forms of the scheduling area: proctors."""
from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from ..candidates.models import IdType
from ..core.forms import BaseForm, opts
from .models import ProctorRole


class ProctorForm(BaseForm):
    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=50)])
    phone = StringField("手机号码", validators=[DataRequired("请填写手机号码"), Length(max=20)])
    id_type = SelectField("证件类型", choices=opts((t.value, t.value) for t in IdType))
    id_number = StringField("证件号码", validators=[DataRequired("请填写证件号码"), Length(max=40)])
    role = SelectField("监考角色", choices=opts((r.value, r.value) for r in ProctorRole))
    active = BooleanField("在岗（停用后不能再安排监考）", default=True)
    submit = SubmitField("保存")
