"""Payment pages (缴费管理): orders, vouchers, the org's confirmation. Thin: parse, call one
service, commit, redirect."""
from __future__ import annotations

import re

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from ..core import audit, clock, permissions
from ..core.errors import DomainError
from ..core.forms import BaseForm, ConfirmForm
from ..core.web import commit_or_flash, int_arg, paginate, public, service_view
from ..extensions import csrf, db, limiter
from . import lapse, payment_lists, payments, providers
from .models import PaymentKind
from .states import PAYMENT, PaymentState
from .views import bp

#: how many eligible registrations the new-order page lists for ticking one by one
PICK_LIMIT = 500


class VoucherForm(BaseForm):
    voucher = FileField("付款凭证（PDF、JPEG 或 PNG，不超过 10 MB）", validators=[FileRequired("请选择付款凭证文件")])
    transaction_ref = StringField("转账流水号（选填）", validators=[Optional(), Length(max=payments.MAX_TRANSACTION_REF)])
    submit = SubmitField("提交凭证")


class RejectForm(BaseForm):
    reason = TextAreaField("驳回原因（院校可见）", validators=[Optional(), Length(max=payments.MAX_REASON)])
    submit = SubmitField("驳回")


@bp.route("/payments", endpoint="payments")
def payments_index():
    args = request.args
    plan_id = int_arg("plan_id")
    query = payment_lists.list_orders(current_user, plan_id=plan_id, state=args.get("state", ""),
                                 kind=args.get("kind", ""), school_id=int_arg("school_id"), q=args.get("q", ""))
    return render_template("registrations/payment_index.html", page=paginate(query), states=list(PaymentState),
                           kinds=list(PaymentKind), counts=payment_lists.state_counts(current_user, plan_id=plan_id),
                           plans=payment_lists.plans_with_orders(current_user),
                           can_manage=permissions.can(current_user, "payments.manage"),
                           can_review=permissions.can(current_user, "payments.review"))


@bp.route("/payments/new", methods=["GET", "POST"], endpoint="payment_new")
def payment_new():
    permissions.require(current_user, "payments.manage")
    plans = payment_lists.payable_plans(current_user)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        everything = request.form.get("scope") == "all"
        order, ok = commit_or_flash(payments.create_school_order, current_user, request.form.get("plan_id"),
                                    request.form.getlist("ids"), all_eligible=everything)
        if ok:
            flash(f"已创建缴费订单 {order.reference}，应缴 {order.amount} 元。请转账后上传付款凭证。", "success")
            return redirect(url_for("registrations.payment_show", order_id=order.id))
    plan_id = int_arg("plan_id") or (request.form.get("plan_id", type=int) if request.method == "POST" else None)
    plan = next((p for p in plans if p.id == plan_id), plans[0] if len(plans) == 1 else None)
    eligible, total, social = [], 0, []
    if plan is not None:
        query = payments.eligible_for_school_order(current_user, plan.id)
        eligible = list(db.session.scalars(query.limit(PICK_LIMIT)))
        total = len(eligible) if len(eligible) < PICK_LIMIT else db.session.scalar(
            db.select(db.func.count()).select_from(query.order_by(None).subquery()))
        social = payment_lists.social_pending(current_user, plan.id)
    return render_template("registrations/payment_new.html", plans=plans, plan=plan, eligible=eligible, total=total,
                           social=social, form=form, pick_limit=PICK_LIMIT)


@bp.route("/payments/social", methods=["POST"], endpoint="payment_social")
@service_view
def payment_social():
    if ConfirmForm().validate_on_submit():
        order = payments.create_social_order(current_user, request.form.get("plan_id"), request.form.get("candidate_id"))
        db.session.commit()
        flash(f"已为社会考生「{order.candidate.name}」创建个人缴费订单 {order.reference}，应缴 {order.amount} 元。", "success")
        return redirect(url_for("registrations.payment_show", order_id=order.id))
    return redirect(url_for("registrations.payment_new"))


@bp.route("/payments/<int:order_id>", endpoint="payment_show")
def payment_show(order_id: int):
    order = payments.get_order(current_user, order_id)
    provider = providers.get_provider(order.provider)
    actions = PAYMENT.actions_for(order, current_user)
    return render_template(
        "registrations/payment_show.html", order=order, rows=payment_lists.order_registrations(order),
        provider=provider, actions=actions, voucher_form=VoucherForm(), reject_form=RejectForm(),
        confirm=ConfirmForm(), history=audit.history(order), is_overdue=lapse.is_overdue,
        deadline_passed=order.plan.payment_deadline < clock.now(),
        is_image=bool(order.voucher_key and order.voucher_key.endswith((".jpg", ".png"))))


@bp.route("/payments/<int:order_id>/voucher", methods=["POST"], endpoint="payment_voucher")
def payment_voucher(order_id: int):
    form = VoucherForm()
    if form.validate_on_submit():
        upload = form.voucher.data
        data = upload.stream.read(providers.MAX_VOUCHER_BYTES + 1)
        _, ok = commit_or_flash(payments.submit_voucher, current_user, order_id, upload.filename or "", data,
                                form.transaction_ref.data or "")
        if ok:
            flash("付款凭证已提交，请等待评价组织确认到账。", "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
    return redirect(url_for("registrations.payment_show", order_id=order_id))


@bp.route("/payments/<int:order_id>/voucher", endpoint="payment_voucher_file")
def payment_voucher_file(order_id: int):
    """The voucher, only through this permission check (never a public path)."""
    try:
        path, mime, name = payments.voucher_file(current_user, order_id)
    except DomainError:
        abort(404)
    inline = mime.startswith("image/") and request.args.get("download") != "1"
    response = send_file(path, mimetype=mime, as_attachment=not inline, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/payments/<int:order_id>/confirm", methods=["POST"], endpoint="payment_confirm")
@service_view
def payment_confirm(order_id: int):
    if ConfirmForm().validate_on_submit():
        order = payments.confirm_order(current_user, order_id)
        db.session.commit()
        flash(f"已确认缴费订单 {order.reference} 到账，其中 {len(order.registrations)} 条报考为「已缴费」。", "success")
    return redirect(url_for("registrations.payment_show", order_id=order_id))


@bp.route("/payments/<int:order_id>/reject", methods=["POST"], endpoint="payment_reject")
@service_view
def payment_reject(order_id: int):
    form = RejectForm()
    if form.validate_on_submit():
        payments.reject_order(current_user, order_id, form.reason.data or "")
        db.session.commit()
        flash("已驳回该缴费订单，院校可见驳回原因并可重新上传凭证。", "success")
    else:
        flash("驳回原因过长", "danger")
    return redirect(url_for("registrations.payment_show", order_id=order_id))


@bp.route("/payments/<int:order_id>/withdraw", methods=["POST"], endpoint="payment_withdraw")
@service_view
def payment_withdraw(order_id: int):
    if ConfirmForm().validate_on_submit():
        order = payments.withdraw_order(current_user, order_id)
        db.session.commit()
        flash(f"已撤销缴费订单 {order.reference}，其中的报考可重新加入缴费订单。", "success")
    return redirect(url_for("registrations.payment_show", order_id=order_id))


@bp.route("/payments/<int:order_id>/checkout", methods=["POST"], endpoint="payment_checkout")
@service_view
def payment_checkout(order_id: int):
    """Online providers only: on to the provider's cashier page."""
    if ConfirmForm().validate_on_submit():
        url = payments.start_checkout(current_user, order_id)
        db.session.commit()
        return redirect(url)
    return redirect(url_for("registrations.payment_show", order_id=order_id))


#: a provider name as registered (providers.register_provider); longer is not a provider
MAX_PROVIDER_NAME = 40
PROVIDER_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,%d}" % MAX_PROVIDER_NAME)


# An online provider's server calls this, not a browser: no session, no CSRF token. What makes
# a notice count is the provider's signature, checked by its parse_notification, and the
# reference and amount checked by payments.record_notification.
@csrf.exempt
@bp.route("/payments/notify/<provider>", methods=["POST"])
@public
@limiter.limit("120 per minute", methods=["POST"])
def payment_notify(provider: str):
    """网上缴费 callback: the provider's notification confirms the order as the system."""
    if not PROVIDER_NAME.fullmatch(provider):  # a provider's server reads JSON, also when refused
        return jsonify({"ok": False, "message": "未知的缴费方式"}), 404
    try:
        # a body nested thousands deep makes the JSON decoder give up with RecursionError, which
        # silent=True does not cover: a bad notice like any other
        payload = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    except RecursionError:
        payload = None
    try:
        order = payments.record_notification(provider, payload)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return jsonify({"ok": False, "message": exc.message}), 400
    return jsonify({"ok": True, "reference": order.reference, "state": order.state.value})
