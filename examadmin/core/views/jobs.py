"""Background jobs: list, live progress, result download, run again."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, send_file, url_for
from flask_login import current_user

from ...extensions import db
from .. import job_liveness, jobs
from ..forms import ConfirmForm
from ..storage import get_storage
from ..web import paginate, service_view

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.route("/")
def index():
    page = paginate(jobs.list_jobs(current_user))
    job_liveness.reap_shown(page.items)
    return render_template("jobs/index.html", page=page)


@bp.route("/<int:job_id>")
def show(job_id: int):
    job = jobs.get_job(current_user, job_id)
    return render_template("jobs/show.html", job=job, confirm=ConfirmForm())


@bp.route("/<int:job_id>.json")
def status(job_id: int):
    job = jobs.get_job(current_user, job_id)
    data = job.as_json()
    if job.result_key and job.owned_by(current_user):
        data["download_url"] = url_for("jobs.download", job_id=job.id)
    return jsonify(data)


@bp.route("/<int:job_id>/download")
def download(job_id: int):
    job = jobs.owned_job(current_user, job_id)
    if not job.result_key or not get_storage().exists(job.result_key):
        abort(404)
    return send_file(get_storage().path(job.result_key), as_attachment=True,
                     download_name=job.result_name or "result")


@bp.route("/<int:job_id>/retry", methods=["POST"])
@service_view
def retry(job_id: int):
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("jobs.show", job_id=job_id))
    job = jobs.retry(current_user, job_id)
    db.session.commit()
    jobs.dispatch(job)
    return redirect(url_for("jobs.show", job_id=job.id))
