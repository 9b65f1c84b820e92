"""Photo import pages: upload a zip (a background job), then its progress and result."""
from __future__ import annotations


from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SubmitField

from ..core import jobs, permissions
from ..core.forms import BaseForm
from ..extensions import csrf, db
from . import photos as photo_rules
from .views import bp

MB = 1024 * 1024


class PhotoZipForm(BaseForm):
    file = FileField("照片压缩包（.zip）", validators=[
        FileRequired("请选择照片压缩包"), FileAllowed(["zip"], "只支持 .zip 压缩包（不支持 rar、7z）")])
    submit = SubmitField("上传并导入")


# A photo zip may be larger than other uploads (MAX_PHOTO_ZIP_MB, not MAX_UPLOAD_MB). CSRFProtect
# would read the body under the general limit before this view can raise it, so the view is
# exempt from it and the form checks its CSRF token itself (FlaskForm does, when enabled).
@csrf.exempt
@bp.route("/photos", methods=["GET", "POST"])
def photos():
    permissions.require(current_user, "candidates.manage")
    limit_mb = current_app.config["MAX_PHOTO_ZIP_MB"]
    request.max_content_length = (limit_mb + 1) * MB  # +1 MB for the form around the file
    try:
        form = PhotoZipForm()
        submitted = form.validate_on_submit()
    except RequestEntityTooLarge:
        flash(f"上传的压缩包超过了 {limit_mb} MB 的上限，请分成几个压缩包上传。", "danger")
        return redirect(url_for("candidates.photos"))
    if submitted:
        job = jobs.submit_upload(current_user, "candidate_photos", {"school_id": current_user.school_id},
                                 form.file.data, suffix=".zip", default_name="photos.zip")
        db.session.commit()
        jobs.dispatch(job)
        return redirect(url_for("candidates.photos_result", job_id=job.id))
    return render_template("candidates/photos.html", form=form, limit_mb=limit_mb, rules=photo_rules,
                           max_files=current_app.config["MAX_PHOTO_FILES"],
                           max_file_mb=current_app.config["MAX_PHOTO_FILE_MB"],
                           max_megapixels=current_app.config["MAX_PHOTO_MEGAPIXELS"])


@bp.route("/photos/<int:job_id>")
def photos_result(job_id: int):
    job = jobs.get_job(current_user, job_id)
    if job.kind != "candidate_photos":
        abort(404)
    result = job.result or {}
    q = request.args.get("q", "").strip()
    errors = [e for e in result.get("errors", []) if not q or q in e["file"] or q in e["message"]]
    return render_template("candidates/photos_result.html", job=job, result=result, errors=errors, q=q)
