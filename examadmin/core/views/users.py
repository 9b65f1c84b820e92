"""Account administration by the sysadmin."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...catalog import services as catalog
from ...catalog.models import School
from ...extensions import db
from .. import auth, permissions
from ..forms import ConfirmForm, UserCreateForm, UserEditForm, opts
from ..roles import ROLE_LABELS, Role
from ..web import choice_arg, commit_or_flash, paginate, service_view

bp = Blueprint("users", __name__, url_prefix="/admin/users")


def _scope_choices(form: UserCreateForm) -> None:
    none = [("", "—")]
    form.province_id.choices = opts(none + [(p.id, p.name) for p in catalog.provinces()])
    form.city_id.choices = opts(none + [(c.id, f"{c.province.name} {c.name}") for c in catalog.cities()])
    schools = db.session.scalars(db.select(School).order_by(School.code)).all()
    form.school_id.choices = opts(none + [(s.id, f"{s.code} {s.name}") for s in schools])


@bp.route("/")
def index():
    args = request.args
    query = auth.list_users(current_user, q=args.get("q", ""), role=choice_arg("role", Role),
                            active=args.get("active", ""))
    return render_template("users/index.html", page=paginate(query), roles=ROLE_LABELS,
                           confirm=ConfirmForm())


@bp.route("/new", methods=["GET", "POST"])
def create():
    permissions.require(current_user, "users.manage")
    form = UserCreateForm()
    _scope_choices(form)
    if form.validate_on_submit():
        user, ok = commit_or_flash(
            auth.create_user, current_user, form=form, username=form.username.data, name=form.name.data,
            role=form.role.data, password=form.password.data, province_id=form.province_id.data,
            city_id=form.city_id.data, school_id=form.school_id.data, is_signer=form.is_signer.data,
            phone=form.phone.data or "",
        )
        if ok:
            flash(f"已创建用户「{user.username}」，首次登录时需修改密码。", "success")
            return redirect(url_for("users.index"))
    return render_template("users/form.html", form=form, title="新建用户")


@bp.route("/<int:user_id>", methods=["GET", "POST"])
def edit(user_id: int):
    permissions.require(current_user, "users.manage")
    user = permissions.get_for(current_user, auth.User, user_id)
    form = UserEditForm(obj=user)
    if form.validate_on_submit():
        _, ok = commit_or_flash(auth.update_user, current_user, user_id, form=form, name=form.name.data,
                                phone=form.phone.data or "", is_signer=form.is_signer.data)
        if ok:
            flash("已保存。", "success")
            return redirect(url_for("users.index"))
    return render_template("users/edit.html", form=form, user=user, confirm=ConfirmForm())


@bp.route("/<int:user_id>/active", methods=["POST"])
@service_view
def set_active(user_id: int):
    form = ConfirmForm()
    if form.validate_on_submit():
        active = request.form.get("active") == "1"
        user = auth.set_user_active(current_user, user_id, active)
        db.session.commit()
        flash(f"已{'启用' if active else '停用'}用户「{user.username}」。", "success")
    return redirect(url_for("users.edit", user_id=user_id))


@bp.route("/<int:user_id>/reset-password", methods=["POST"])
@service_view
def reset_password(user_id: int):
    form = ConfirmForm()
    if form.validate_on_submit():
        user, password = auth.reset_password(current_user, user_id)
        db.session.commit()
        flash(f"已为「{user.username}」设置临时密码：{password}（仅显示这一次，请当面或电话告知本人；"
              f"登录后须立即修改）", "warning")
    return redirect(url_for("users.edit", user_id=user_id))


@bp.app_template_filter("role_label")
def role_label(value) -> str:
    return ROLE_LABELS.get(Role(value), value)
