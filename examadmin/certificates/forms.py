"""Forms of certificate issuance."""
from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SubmitField
from wtforms.validators import DataRequired

from ..core.forms import BaseForm


class SealForm(BaseForm):
    certificate_id = SelectField("证书", coerce=int, validators=[DataRequired("请选择证书")])
    image = FileField("电子印章图片（PNG 或 JPEG，建议透明背景的 PNG）", validators=[FileRequired("请选择印章图片文件")])
    submit = SubmitField("上传印章")
