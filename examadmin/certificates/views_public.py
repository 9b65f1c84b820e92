"""Pages after issue: public verification (证书查询), downloads, paper certificates, revocation, history.

Routes are added to the certificates blueprint (`views.bp`). The verification pages are
public like the sign-in page, rate-limited per address and never cached.
"""
from __future__ import annotations

from flask import current_app, flash, make_response, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from ..core import jobs
from ..core.errors import DomainError
from ..core.roles import Role
from ..core.web import public, service_view
from ..extensions import client_ip, db, limiter
from . import downloads, paper, revocation, signing, validity, verification
from .views import bp


def _verify_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


def _no_store(response):
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


#: the public verification pages: never kept by a browser or a proxy, also not their 429
_PUBLIC_ENDPOINTS = frozenset({"certificates.verify", "certificates.verify_code"})


@bp.after_request
def _no_store_public(response):
    # The answers of the rate limit (429) are made by the error handler, not by the views
    # above, so the header is also set here; a shared proxy must not keep one address's refusal.
    if request.endpoint in _PUBLIC_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
    return response


def _form_int(name: str) -> int | None:
    value = (request.form.get(name) or "").strip()
    if not value.isdigit() or len(value) > 18:
        return None
    return int(value)


@bp.route("/verify", methods=["GET", "POST"])
@public
@limiter.shared_limit(_verify_limit, scope="certificate-verify", methods=["POST"])
def verify():
    """证书查询 by certificate number and ID number; the ID number travels only in the POST body."""
    answer = error = None
    number = ""
    if request.method == "POST":
        number = (request.form.get("number") or "").strip()[:60]
        id_number = request.form.get("id_number") or ""
        if not number or not id_number.strip():
            error = "请填写证书编号和证件号码"
        else:
            try:
                answer = verification.verify_by_number(number, id_number, ip=client_ip())
                db.session.commit()
            except DomainError as exc:  # e.g. only invisible characters were typed
                db.session.rollback()
                error = exc.message
    return _no_store(render_template("certificates/verify.html", answer=answer, error=error, number=number,
                                     public_key=signing.public_key_text()))


@bp.route("/v/<code>")
@public
@limiter.shared_limit(_verify_limit, scope="certificate-verify")
def verify_code(code: str):
    """The QR code's URL: an unguessable identifier, not the sequential number."""
    answer = verification.verify_by_code(code[:64], ip=client_ip())
    db.session.commit()
    return _no_store(render_template("certificates/verify.html", answer=answer, error=None, number="",
                                     public_key=signing.public_key_text(), by_qr=True))


@bp.route("/mine")
def mine():
    """A candidate's own certificates (the portal links here)."""
    if current_user.role != Role.CANDIDATE:
        return redirect(url_for("certificates.downloads"))
    records = downloads.my_certificates(current_user)
    return render_template("certificates/download_mine.html", records=records, validity=validity.of_records(records),
                           anomalies=verification.anomalies(records))


@bp.route("/<int:record_id>/download")
@service_view
def download(record_id: int):
    record, path = downloads.open_pdf(current_user, record_id)
    db.session.commit()
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=downloads.file_name(record))


def downloads_page():
    """A school's (or the org's) issued certificates per plan and site, each a zip to request."""
    if current_user.role == Role.CANDIDATE:
        return redirect(url_for("certificates.mine"))
    return render_template("certificates/download_zip.html", groups=downloads.zip_groups(current_user))


bp.add_url_rule("/downloads", endpoint="downloads", view_func=downloads_page)


@bp.route("/zip", methods=["POST"])
@service_view
def request_zip():
    plan_id, site_id = _form_int("plan_id"), _form_int("site_id")
    if plan_id is None or site_id is None:
        flash("请选择考试计划和考核站点", "danger")
        return redirect(url_for("certificates.downloads"))
    job = downloads.request_zip(current_user, plan_id, site_id)
    db.session.commit()
    jobs.dispatch(job)
    flash("已开始打包，完成后可在此页下载压缩包。", "info")
    return redirect(url_for("jobs.show", job_id=job.id))


@bp.route("/<int:record_id>/history")
def history(record_id: int):
    """The record's verifications (and paper batch), for the org and the holder's school; the org revokes here."""
    record, rows = verification.history(current_user, record_id)
    anomaly = verification.revoked_but_not_in_state(record)
    return render_template("certificates/verify_history.html", record=record, rows=rows, anomaly=anomaly,
                           validity=None if anomaly else validity.of_record(record))


@bp.route("/<int:record_id>/revoke", methods=["POST"])
@service_view
def revoke(record_id: int):
    revocation.revoke(current_user, record_id, request.form.get("reason", "")[:2000])
    db.session.commit()
    flash("证书已撤销，公开查询将显示“已撤销”。", "success")
    return redirect(url_for("certificates.history", record_id=record_id))


@bp.route("/paper")
def paper_list():
    """Paper certificates per school batch: the org records printing and shipping, a school sees its own."""
    batches = db.session.execute(paper.list_batches(current_user).limit(200)).all()
    waiting = paper.waiting_counts(current_user) if current_user.role == Role.ORG else []
    return render_template("certificates/paper.html", batches=batches, waiting=waiting)


@bp.route("/paper/start", methods=["POST"])
@service_view
def paper_start():
    plan_id, school_id = _form_int("plan_id"), _form_int("school_id")
    if plan_id is None or school_id is None:
        flash("请选择考试计划和院校", "danger")
        return redirect(url_for("certificates.paper_list"))
    batch = paper.start_printing(current_user, plan_id, school_id)
    db.session.commit()
    flash(f"已登记印制：{batch.school.name}", "success")
    return redirect(url_for("certificates.paper_list"))


@bp.route("/paper/<int:batch_id>/ship", methods=["POST"])
@service_view
def paper_ship(batch_id: int):
    paper.ship(current_user, batch_id, request.form.get("carrier", "")[:100],
               request.form.get("tracking_number", "")[:100])
    db.session.commit()
    flash("已登记寄出。", "success")
    return redirect(url_for("certificates.paper_list"))
