"""Forms of the candidate portal."""
from __future__ import annotations

from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from ..core.forms import BaseForm


class PortalLoginForm(BaseForm):
    id_number = StringField("证件号码", validators=[DataRequired("请输入证件号码"), Length(max=40)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=128)])
    submit = SubmitField("登录")


class ActivateForm(BaseForm):
    id_number = StringField("证件号码", validators=[DataRequired("请输入证件号码"), Length(max=40)])
    code = StringField("激活码", validators=[DataRequired("请输入激活通知单上的激活码"), Length(max=20)])
    password = PasswordField("设置密码", validators=[DataRequired("请设置密码"), Length(max=128)])
    confirm = PasswordField("确认密码", validators=[DataRequired("请再次输入密码"), Length(max=128)])
    submit = SubmitField("激活并登录")
