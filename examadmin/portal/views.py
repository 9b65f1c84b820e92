"""Portal pages: the candidate's sign-in and activation (public), home page, photo; the school's accounts."""
from __future__ import annotations

import hashlib
import hmac
import io

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, send_file,
                   session, url_for)
from flask_login import current_user, login_user

from ..core import idcard, permissions
from ..core.errors import DomainError
from ..core.forms import ConfirmForm
from ..core.roles import Role
from ..core.storage import get_storage
from ..core.web import flash_domain_error, paginate, posted_search, public, search_text
from ..extensions import db, limiter
from ..tickets import services as tickets
from . import services
from .forms import ActivateForm, PortalLoginForm
from .slips import slips_pdf

bp = Blueprint("portal", __name__, url_prefix="/portal")


def _limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _key() -> str:
    # Per address and ID number, like the staff sign-in: a wrong code costs that number only.
    # Normalised as the services read it, so that spaces, full-width digits or invisible
    # characters do not make a fresh key for the same number.
    # Keyed by a keyed hash of the number, never the number itself: the counters live in a
    # file or in Redis, where a whole ID number has no business (PIPL).
    number = idcard.normalise((request.form.get("id_number") or "")[:100])[:40]
    digest = hmac.new(current_app.secret_key.encode(), number.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{request.remote_addr}|portal|{digest}"


def _failed(response) -> bool:
    return request.method == "POST" and response.status_code != 302


def _sign_in(user) -> None:
    session.clear()  # a fresh session on sign-in: no fixation
    session.permanent = True
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_limit, key_func=_key, methods=["POST"], deduct_when=_failed)
@limiter.limit("30 per minute", methods=["POST"], deduct_when=_failed)
def login():
    """考生登录: ID number and password."""
    if current_user.is_authenticated:
        return redirect(url_for("portal.index" if current_user.role == Role.CANDIDATE else "dashboard.index"))
    form = PortalLoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.id_number.data, form.password.data)
        if user is None:
            db.session.rollback()
            flash(services.GENERIC_LOGIN_ERROR, "danger")
        else:
            db.session.commit()
            _sign_in(user)
            return redirect(url_for("portal.index"))
    return render_template("portal/login.html", form=form)


@bp.route("/activate", methods=["GET", "POST"])
@public
@limiter.limit(_limit, key_func=_key, methods=["POST"], deduct_when=_failed)
@limiter.limit("30 per minute", methods=["POST"], deduct_when=_failed)
def activate():
    """激活账号: ID number and the one-time code from the slip, then a password."""
    form = ActivateForm()
    if form.validate_on_submit():
        try:
            user = services.activate(form.id_number.data, form.code.data, form.password.data, form.confirm.data)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash_domain_error(exc, form)
        else:
            _sign_in(user)
            flash("账号已激活。以后请用证件号码和新密码登录。", "success")
            return redirect(url_for("portal.index"))
    return render_template("portal/activate.html", form=form)


@bp.route("/")
def index():
    """The candidate's own page: data, photo, verification, registrations, tickets."""
    if current_user.role != Role.CANDIDATE:
        return redirect(url_for("dashboard.index"))
    home = services.home(current_user)
    return render_template("portal/index.html", home=home, tickets=tickets.own_tickets(current_user),
                           notices=services.notices(current_user))


@bp.route("/photo")
def photo():
    permissions.require(current_user, "portal.view")
    home = services.home(current_user)
    key = home.candidate.photo_key
    if not key or not get_storage().exists(key):
        abort(404)
    response = send_file(get_storage().path(key), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "no-store"
    return response


# ---- the school ---------------------------------------------------------------------------

@bp.route("/accounts", methods=["GET", "POST"])
def accounts():
    """考生账号: open accounts in bulk, hand out activation slips."""
    if request.method == "POST":  # the search: an ID number typed into it stays out of the URL
        return posted_search("portal.accounts", ("state",))
    q = search_text("portal.accounts")
    query = services.list_accounts(current_user, q=q, state=request.args.get("state", ""))
    page = paginate(query)
    return render_template("portal/accounts.html", page=page, counts=services.count_accounts(current_user), q=q,
                           accounts=services.accounts_of([c.id for c in page.items]),
                           filters=services.ACCOUNT_FILTERS, confirm=ConfirmForm())


def _selected() -> list[int] | None:
    if request.form.get("scope") == "all":
        return None
    ids = [int(v) for v in request.form.getlist("candidate_id") if v.isdigit() and len(v) < 10]
    return ids


def _slips_response(slips, name: str):
    """The slips in the format chosen on the page: Excel (default) or PDF to print and cut."""
    url = url_for("portal.activate", _external=True)
    if request.form.get("format") == "pdf":
        data = slips_pdf(slips, url, current_user.school.name if current_user.school else "")
        name, mimetype = name.replace(".xlsx", ".pdf"), "application/pdf"
    else:
        data = services.slips_workbook(slips, url)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = send_file(io.BytesIO(data), as_attachment=True, download_name=name, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"
    token = request.form.get("download_token", "")
    if token.isalnum() and len(token) <= 40:  # the page waits for it, then reloads (app.js)
        response.set_cookie("download_done", token, max_age=120, samesite="Lax",
                            secure=request.is_secure, httponly=False)
    return response


@bp.route("/accounts/open", methods=["POST"])
def open_accounts():
    """Open accounts and download the activation slips at once (the codes are shown only here)."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("portal.accounts"))
    try:
        slips = services.open_accounts(current_user, _selected())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("portal.accounts"))
    flash(f"已开通 {len(slips)} 个考生账号，激活通知单已下载。激活码只在这份通知单中，请妥善保存后发给考生；"
          "如有遗失，可勾选考生「重新生成激活码」。", "success")
    return _slips_response(slips, f"考生账号激活通知单-{len(slips)}人.xlsx")


@bp.route("/accounts/reissue", methods=["POST"])
def reissue():
    """New one-time codes (also resets a forgotten password); the slips download at once."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("portal.accounts"))
    try:
        slips = services.reissue_codes(current_user, _selected() or [])
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("portal.accounts"))
    flash(f"已为 {len(slips)} 名考生重新生成激活码，旧激活码作废，新的激活通知单已下载。", "success")
    return _slips_response(slips, f"考生账号激活通知单-重新生成-{len(slips)}人.xlsx")
