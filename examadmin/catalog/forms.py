"""Forms for master data."""
from __future__ import annotations

from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..core.forms import BaseForm, opts
from .models import Level, SchoolType


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class ProvinceForm(BaseForm):
    code = StringField("省份代码", validators=[DataRequired("请填写省份代码"), Length(2, 2, "省份代码为 2 位数字")])
    name = StringField("省份名称", validators=[DataRequired("请填写省份名称"), Length(max=40)])
    authority = StringField("教育行政部门", validators=[Optional(), Length(max=60)])
    submit = SubmitField("保存")


class CityForm(BaseForm):
    province_id = SelectField("所属省份", coerce=_optional_int, validators=[DataRequired("请选择所属省份")])
    code = StringField("地市代码", validators=[DataRequired("请填写地市代码"), Length(6, 6, "地市代码为 6 位数字")])
    name = StringField("地市名称", validators=[DataRequired("请填写地市名称"), Length(max=40)])
    submit = SubmitField("保存")


class SchoolForm(BaseForm):
    code = StringField("学校标识码", validators=[DataRequired("请填写学校标识码"), Length(10, 10, "学校标识码为 10 位数字")])
    name = StringField("院校名称", validators=[DataRequired("请填写院校名称"), Length(max=80)])
    type = SelectField("院校类型", choices=opts((t.value, t.value) for t in SchoolType))
    province_id = SelectField("所属省份", coerce=_optional_int, validators=[DataRequired("请选择所属省份")])
    city_id = SelectField("所属地市", coerce=_optional_int, validators=[Optional()])
    address = StringField("地址", validators=[Optional(), Length(max=200)])
    submit = SubmitField("保存")


class MajorForm(BaseForm):
    school_type = SelectField("适用院校类型", choices=opts((t.value, t.value) for t in SchoolType))
    level = StringField("专业层次", validators=[DataRequired("请填写专业层次"), Length(max=20)])
    catalogue_version = StringField("目录版本", validators=[DataRequired("请填写目录版本"), Length(max=10)])
    code = StringField("专业代码", validators=[DataRequired("请填写专业代码"), Length(max=20)])
    name = StringField("专业名称", validators=[DataRequired("请填写专业名称"), Length(max=80)])
    submit = SubmitField("保存")


class CertificateForm(BaseForm):
    code = StringField("证书代码", validators=[DataRequired("请填写证书代码"), Length(max=20)])
    name = StringField("证书名称", validators=[DataRequired("请填写证书名称"), Length(max=80)])
    org_name = StringField("培训评价组织", validators=[DataRequired("请填写培训评价组织"), Length(max=100)])
    submit = SubmitField("保存")


class LevelForm(BaseForm):
    level = SelectField("等级", choices=opts((lv.value, lv.value) for lv in Level))
    description = TextAreaField("等级说明", validators=[Optional(), Length(max=500)])
    submit = SubmitField("添加等级")
