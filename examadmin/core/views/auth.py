"""Sign-in, sign-out and the user's own password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from ...extensions import db, limiter
from .. import auth
from ..errors import DomainError
from ..forms import ChangePasswordForm, LoginForm
from ..web import flash_domain_error, public

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_key() -> str:
    # Per address and username: one typo-prone user does not lock out a whole school.
    username = (request.form.get("username") or "").strip().lower()
    return f"{request.remote_addr}|{username}"


def _failed(response) -> bool:
    return request.method == "POST" and response.status_code != 302


def safe_next(target: str | None) -> str | None:
    """Only follow a `next` that stays on this site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, key_func=_login_key, methods=["POST"], deduct_when=_failed)
@limiter.limit("30 per minute", methods=["POST"], deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = auth.authenticate(form.username.data, form.password.data)
        if user is None:
            db.session.rollback()
            flash("用户名或密码错误，或账号已停用。", "danger")
        else:
            db.session.commit()
            session.clear()  # a fresh session on sign-in: no fixation
            session.permanent = True
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for("dashboard.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    auth.sign_out(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash("您已安全退出，此账号在其他设备上的登录也已结束。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            auth.change_own_password(user, form.current.data, form.password.data)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash_domain_error(exc, form)
        else:
            login_user(user)  # this session goes on with the new session version
            flash("密码已修改，其他设备上的登录已结束。", "success")
            return redirect(url_for("dashboard.index"))
    return render_template("auth/change_password.html", form=form)
