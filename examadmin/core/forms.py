"""Forms of the core: sign-in, password, user administration, shared base form."""
from __future__ import annotations

from typing import Iterable

from flask import has_request_context, request
from flask_wtf import FlaskForm
from flask_wtf.csrf import _FlaskFormCSRF
from wtforms.validators import ValidationError

from wtforms import (BooleanField, PasswordField, SelectField, StringField, SubmitField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from .roles import ROLE_LABELS, Role


def opts(pairs: Iterable[tuple]) -> list[SelectChoice]:
    """Choices for a SelectField from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


#: what a form says when its CSRF token is missing, expired or wrong (the same as the error page)
CSRF_MESSAGE = "页面已过期或表单校验失败，请刷新页面后重新提交。"


class _ChineseCSRF(_FlaskFormCSRF):
    """Flask-WTF's own token check with a Chinese message. Forms of views exempt from
    CSRFProtect (the photo upload, which raises the body limit first) rely on it."""

    def validate_csrf_token(self, form, field):
        try:
            super().validate_csrf_token(form, field)
        except ValidationError as exc:
            raise ValidationError(CSRF_MESSAGE) from exc


class BaseForm(FlaskForm):
    """Every form: WTForms' built-in messages in Simplified Chinese."""

    class Meta:
        locales = ["zh"]
        csrf_class = _ChineseCSRF

    def validate(self, extra_validators=None) -> bool:
        # A view that raises its own body limit parses a multipart body only here, after
        # core.web's check ran: refuse a NUL in its text fields the same way (400).
        if has_request_context() and request.mimetype == "multipart/form-data":
            from .web import refuse_nul_in

            refuse_nul_in(request.form)
        return super().validate(extra_validators)


class LoginForm(BaseForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=40)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=128)])
    submit = SubmitField("登录")


class ChangePasswordForm(BaseForm):
    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码")])
    password = PasswordField("新密码", validators=[DataRequired("请输入新密码"), Length(max=128)])
    confirm = PasswordField("确认新密码", validators=[DataRequired("请再次输入新密码"),
                                                 EqualTo("password", "两次输入的新密码不一致")])
    submit = SubmitField("修改密码")


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class UserCreateForm(BaseForm):
    username = StringField("用户名", validators=[DataRequired("请填写用户名"), Length(3, 40)])
    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=60)])
    # candidate and proctor accounts are opened from their records (auth.MADE_ELSEWHERE)
    role = SelectField("角色", choices=opts((r.value, ROLE_LABELS[r]) for r in Role
                                          if r not in (Role.CANDIDATE, Role.PROCTOR)),
                       validate_choice=False,  # the service names what is wrong with a role, in Chinese
                       validators=[DataRequired("请选择角色")])
    province_id = SelectField("所属省份", coerce=_optional_int, validators=[Optional()])
    city_id = SelectField("所属地市", coerce=_optional_int, validators=[Optional()])
    school_id = SelectField("所属院校", coerce=_optional_int, validators=[Optional()])
    phone = StringField("手机号码", validators=[Optional(), Length(max=20)])
    is_signer = BooleanField("签发负责人（可确认证书第二阶段签发）")
    password = PasswordField("初始密码", validators=[DataRequired("请设置初始密码"), Length(max=128)])
    submit = SubmitField("创建用户")


class UserEditForm(BaseForm):
    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=60)])
    phone = StringField("手机号码", validators=[Optional(), Length(max=20)])
    is_signer = BooleanField("签发负责人（可确认证书第二阶段签发）")
    submit = SubmitField("保存")


class ConfirmForm(BaseForm):
    """A bare form for POST buttons: only the CSRF token."""

    submit = SubmitField("确定")
