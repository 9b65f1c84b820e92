"""Forms of the exam-site area."""
from __future__ import annotations

from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from ..core.forms import BaseForm
from .models import FACILITIES


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class SiteForm(BaseForm):
    certificate_level_id = SelectField("证书与等级", coerce=_optional_int,
                                       validators=[DataRequired("请选择证书与等级")])
    address = StringField("站点地址", validators=[DataRequired("请填写站点地址"), Length(max=200)])
    contact_name = StringField("联系人", validators=[DataRequired("请填写联系人"), Length(max=40)])
    contact_phone = StringField("联系电话", validators=[DataRequired("请填写联系电话"), Length(max=20)])
    computer_rooms = IntegerField("计算机机房数量", validators=[InputRequired("请填写计算机机房数量")])
    seats = IntegerField("考位总数", validators=[InputRequired("请填写考位总数")])
    has_cameras = BooleanField(FACILITIES["has_cameras"])
    has_computers = BooleanField(FACILITIES["has_computers"])
    has_network = BooleanField(FACILITIES["has_network"])
    has_headsets = BooleanField(FACILITIES["has_headsets"])
    has_microphones = BooleanField(FACILITIES["has_microphones"])
    has_partitions = BooleanField(FACILITIES["has_partitions"] + "（选配）")
    submit = SubmitField("提交申报")


class ReasonForm(BaseForm):
    """Rejecting or disabling a site: the reason the school will read."""

    reason = TextAreaField("原因", validators=[DataRequired("请填写原因"), Length(max=500)])
    submit = SubmitField("确定")
