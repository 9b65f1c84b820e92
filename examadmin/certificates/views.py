"""Certificate issuance, the QR sign-off, downloads, revocation and public verification."""
from __future__ import annotations

import base64
import io

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..catalog.models import Certificate, CertificateLevel, Province
from ..core import idcard, jobs, permissions
from ..core.forms import ConfirmForm
from ..core.web import commit_or_flash, paginate, service_view
from ..exams.models import PLAN_ORDER, ExamPlan
from ..extensions import db
from . import services, validity, verification
from .forms import SealForm
from .states import CertificateState

bp = Blueprint("certificates", __name__, url_prefix="/certificates")


def _filters() -> dict:
    return {key: request.args.get(key) for key in services.FILTERS}


@bp.route("/")
def index():
    """The records per state with filters and counts: the org sees all, a school its own."""
    filters = _filters()
    query = services.list_records(current_user, filters)
    counts = services.state_counts(current_user, filters)
    is_org = permissions.can(current_user, "certificates.org_sign")
    choices = {
        "plans": db.session.scalars(permissions.scoped(current_user, select(ExamPlan)).order_by(*PLAN_ORDER)).all(),
        "levels": db.session.scalars(select(CertificateLevel).join(Certificate)
                                     .order_by(Certificate.name, CertificateLevel.rank)).all(),
        "provinces": db.session.scalars(select(Province).order_by(Province.code)).all() if is_org else [],
        "places": services.filter_choices(current_user, filters),
    }
    page = paginate(query)
    return render_template(
        "certificates/index.html", page=page, counts=counts, validity=validity.of_records(page.items),
        anomalies=verification.anomalies(page.items), filters=filters, choices=choices,
        states=list(CertificateState), mask=idcard.mask, confirm=ConfirmForm(), is_org=is_org,
        can_issue=permissions.can(current_user, "certificates.issue"),
        can_site_sign=permissions.can(current_user, "certificates.site_sign"),
        waiting=services.waiting_batches(current_user) if permissions.can(current_user, "certificates.site_sign") else [],
        steps=services.plan_steps(current_user, filters["plan_id"], filters["site_id"]) if is_org else None)


def _back(plan_id=None):
    return redirect(request.referrer or url_for("certificates.index", plan_id=plan_id))


@bp.route("/make-records", methods=["POST"])
@service_view
def make_records():
    permissions.require(current_user, "certificates.issue")
    if not ConfirmForm().validate_on_submit():
        return _back()
    plan = permissions.get_for(current_user, ExamPlan, request.form.get("plan_id"))
    made, ok = commit_or_flash(services.make_records, plan.id, current_user)
    if ok:
        flash(f"已生成 {made} 条证书记录" if made else "没有需要新生成的证书记录（已全部生成）", "success")
        _flash_held(plan.id)
    return redirect(url_for("certificates.index", plan_id=plan.id))


def _flash_held(plan_id: int) -> None:
    held = services.holders_without_new_record(current_user, plan_id)
    if held:
        names = "、".join(held[:10]) + (f" 等 {len(held)} 人" if len(held) > 10 else "")
        flash(f"{names}已持有该等级的有效证书（在其他考试计划中取得），未重复生成证书记录", "warning")


@bp.route("/org-sign", methods=["POST"])
@service_view
def org_sign():
    """Stage one, for a plan (and site) or for the selected records."""
    permissions.require(current_user, "certificates.org_sign")
    if not ConfirmForm().validate_on_submit():
        return _back()
    ticked = request.form.getlist("record_id")
    # the 签发所选 form says so: nothing ticked there is "tick first", never a plan batch
    record_ids = ticked if request.form.get("selected") else (ticked or None)
    outcome, ok = commit_or_flash(services.org_sign, current_user, request.form.get("plan_id"),
                                  request.form.get("site_id") or None, record_ids)
    if ok:
        flash("评价组织签发：" + outcome.message, "warning" if outcome.refused else "success")
    return _back()


@bp.route("/issue", methods=["POST"])
@service_view
def issue():
    """Stage three: the plan's 待发放 records are issued by a background job; show its progress."""
    permissions.require(current_user, "certificates.issue")
    if not ConfirmForm().validate_on_submit():
        return _back()
    result, ok = commit_or_flash(services.issue, current_user, request.form.get("plan_id"),
                                 base_url=request.host_url)
    if not ok:
        return _back()
    job, count = result
    jobs.dispatch(job)
    flash(f"已开始为 {count} 份证书生成电子证书", "success")
    return redirect(url_for("jobs.show", job_id=job.id))


# ---- stage two: the QR sign-off ---------------------------------------------------------------

def _qr_data_uri(text: str) -> str:
    import qrcode

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image().save(out)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@bp.route("/signoffs", methods=["POST"])
@service_view
def start_signoff():
    """The school presses 签发: the screen shows the QR code for its signer's phone and waits."""
    permissions.require(current_user, "certificates.site_sign")
    if not ConfirmForm().validate_on_submit():
        return _back()
    signoff, token = services.start_signoff(current_user, request.form.get("plan_id"), request.form.get("site_id"))
    db.session.commit()
    url = url_for("certificates.signoff_page", token=token, _external=True)
    return render_template("certificates/signoff_qr.html", signoff=signoff, url=url, qr=_qr_data_uri(url),
                           minutes=services.SIGNOFF_MINUTES)


@bp.route("/signoffs/<int:signoff_id>/status.json")
def signoff_status(signoff_id: int):
    return jsonify(services.signoff_status(current_user, signoff_id))


@bp.route("/signoffs/<int:signoff_id>/done")
def signoff_done(signoff_id: int):
    status = services.signoff_status(current_user, signoff_id)
    if status["confirmed"]:
        flash(f"签发负责人已扫码确认，{status['count']} 份证书进入待发放。", "success")
    else:
        flash("签发二维码已过期或尚未确认，请重新签发。", "warning")
    return redirect(url_for("certificates.index"))


def _client() -> tuple[str, str]:
    return request.remote_addr or "", (request.user_agent.string or "")[:300]


@bp.route("/s/<token>", methods=["GET", "POST"])
def signoff_page(token: str):
    """The signer's phone: what is being confirmed, and the confirmation (POST).

    Who may confirm is decided by the service (a refusal, logged), not by a bare 403 here."""
    ip, device = _client()
    form = ConfirmForm()
    try:
        if request.method == "POST":
            if not form.validate_on_submit():
                flash("页面已过期，请重新扫码。", "danger")
                return redirect(url_for("certificates.signoff_page", token=token))
            outcome = services.confirm_signoff(current_user, token, ip=ip, device=device)
            db.session.commit()
            return render_template("certificates/signoff_phone.html", confirmed=outcome, summary=None)
        summary = services.signoff_summary(current_user, token)
    except services.SignoffRefused as exc:
        db.session.rollback()
        services.log_refusal(current_user, exc, ip=ip, device=device)
        db.session.commit()
        return render_template("certificates/signoff_phone.html", refused=exc.message, summary=None), 400
    return render_template("certificates/signoff_phone.html", summary=summary, form=form)


# ---- the electronic seal -----------------------------------------------------------------------

@bp.route("/seals", methods=["GET", "POST"])
def seals():
    permissions.require(current_user, "certificates.seal")
    form = SealForm()
    certificates = db.session.scalars(select(Certificate).order_by(Certificate.name)).all()
    form.certificate_id.choices = [(c.id, c.name) for c in certificates]
    if form.validate_on_submit():
        _, ok = commit_or_flash(services.upload_seal, current_user, form.certificate_id.data,
                                form.image.data.read(services.SEAL_MAX_BYTES + 1), form=form)
        if ok:
            flash("电子印章已上传", "success")
            return redirect(url_for("certificates.seals"))
    return render_template("certificates/seals.html", form=form,
                           seals={c.id: services.seal_of(c.id) for c in certificates}, certificates=certificates)


@bp.route("/seals/<int:certificate_id>/image")
def seal_image(certificate_id: int):
    """The seal on file, for the preview on the seal page."""
    data, mimetype = services.open_seal(current_user, certificate_id)
    response = current_app.response_class(data, mimetype=mimetype)
    response.headers["Cache-Control"] = "private, no-store"
    return response


from . import views_public  # noqa: E402,F401  (verification, downloads, paper, revocation)
