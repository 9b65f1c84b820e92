"""Pages of verification (认证, one or in batch; 人工确认) and corrections of locked data (信息更正)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..core import audit, jobs, permissions
from ..core.errors import DomainError
from ..core.forms import BaseForm, ConfirmForm, opts
from ..core.web import choice_arg, commit_or_flash, int_arg, paginate, service_view
from ..extensions import db
from . import corrections, verification
from .models import IdType
from .states import CORRECTION, CorrectionState
from ..core.web import posted_search, search_text
from .views import bp


class CorrectionForm(BaseForm):
    name = StringField("新的姓名", validators=[DataRequired("请填写姓名"), Length(max=50)])
    id_type = SelectField("新的证件类型", choices=opts((t.value, t.value) for t in IdType))
    # left empty: the number stays as it is (the page shows it masked, never whole: PIPL)
    id_number = StringField("新的证件号码（不更正则留空）", validators=[Optional(), Length(max=40)])
    reason = TextAreaField("更正原因", validators=[DataRequired("请填写更正原因"),
                                               Length(max=corrections.MAX_REASON)])
    letter = FileField("函件（PDF、JPEG 或 PNG，不超过 10 MB）", validators=[FileRequired("请上传函件")])
    submit = SubmitField("提交更正申请")


class DecisionForm(BaseForm):
    reason = TextAreaField("意见", validators=[Optional(), Length(max=corrections.MAX_REASON)])
    submit = SubmitField("确定")


# ---- verification ----------------------------------------------------------------------------

@bp.route("/<int:candidate_id>/verify", methods=["POST"])
@service_view
def verify(candidate_id: int):
    if ConfirmForm().validate_on_submit():
        candidate = verification.request_verification(current_user, candidate_id)
        db.session.commit()
        if candidate.verify_reasons:
            flash(f"考生「{candidate.name}」认证未通过，需人工确认：" + "；".join(candidate.verify_reasons), "warning")
        else:
            flash(f"考生「{candidate.name}」认证通过，信息准确。姓名和证件号码已锁定。", "success")
    return redirect(url_for("candidates.show", candidate_id=candidate_id))


@bp.route("/verify-batch", methods=["POST"], endpoint="verify_batch")
@service_view
def verify_batch_view():
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("candidates.index"))
    all_pending = request.form.get("scope") == "pending"
    job = verification.start_verify_batch(current_user, request.form.getlist("ids"), all_pending=all_pending)
    db.session.commit()
    jobs.dispatch(job)
    return redirect(url_for("jobs.show", job_id=job.id))


@bp.route("/<int:candidate_id>/confirm", methods=["POST"])
@service_view
def confirm(candidate_id: int):
    if ConfirmForm().validate_on_submit():
        candidate = verification.confirm_manually(current_user, candidate_id, request.form.get("note", ""))
        db.session.commit()
        flash(f"已人工确认考生「{candidate.name}」的信息，状态为信息准确。姓名和证件号码已锁定。", "success")
    return redirect(url_for("candidates.show", candidate_id=candidate_id))


# ---- corrections -----------------------------------------------------------------------------

@bp.route("/corrections", endpoint="corrections", methods=["GET", "POST"])
def corrections_index():
    if request.method == "POST":
        return posted_search("candidates.corrections", ("state",))
    q = search_text("candidates.corrections", by_name_link=True)
    query = corrections.list_corrections(current_user, state=choice_arg("state", CorrectionState), q=q,
                                         school_id=int_arg("school_id"), candidate_id=int_arg("candidate_id"))
    return render_template("candidates/corrections.html", page=paginate(query), states=list(CorrectionState), q=q,
                           confirm=ConfirmForm(),
                           counts=corrections.counts(current_user),
                           can_review=permissions.can(current_user, "candidates.review_corrections"))


@bp.route("/<int:candidate_id>/correction", methods=["GET", "POST"])
def correction_new(candidate_id: int):
    from .services import get_candidate

    permissions.require(current_user, "candidates.correct")
    candidate = get_candidate(current_user, candidate_id)
    pending = corrections.pending_for(candidate)
    form = CorrectionForm()
    if request.method == "GET":
        form.name.data, form.id_type.data = candidate.name, candidate.id_type.value
    if form.validate_on_submit():
        upload = form.letter.data
        data = upload.stream.read(corrections.MAX_LETTER_BYTES + 1)
        raw = {"name": form.name.data, "id_type": form.id_type.data,
               "id_number": (form.id_number.data or "").strip() or candidate.id_number}
        saved, ok = commit_or_flash(corrections.file_correction, current_user, candidate_id, raw, form.reason.data,
                                    upload.filename or "", data, form=form)
        if ok:
            flash("已提交信息更正申请，请等待评价组织审核。", "success")
            return redirect(url_for("candidates.correction_show", correction_id=saved.id))
    return render_template("candidates/correction_form.html", form=form, c=candidate, pending=pending)


@bp.route("/corrections/<int:correction_id>")
def correction_show(correction_id: int):
    item = corrections.get_correction(current_user, correction_id)
    can_decide = bool(CORRECTION.actions_for(item, current_user))
    is_image = item.letter_key.endswith((".jpg", ".png"))
    whole = corrections.shows_whole_id(current_user, item)
    return render_template("candidates/correction_show.html", item=item, c=item.candidate,
                           old=corrections.describe(item.old_values, whole_id=whole),
                           new=corrections.describe(item.new_values, whole_id=whole),
                           can_decide=can_decide, is_image=is_image, decision=DecisionForm(),
                           history=audit.history(item))


@bp.route("/corrections/<int:correction_id>/letter")
def correction_letter(correction_id: int):
    """The letter, only through this permission check (never a public path)."""
    try:
        path, mime, name = corrections.letter_file(current_user, correction_id)
    except DomainError:
        abort(404)
    inline = mime.startswith("image/") and request.args.get("download") != "1"
    response = send_file(path, mimetype=mime, as_attachment=not inline, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/corrections/<int:correction_id>/approve", methods=["POST"])
@service_view
def correction_approve(correction_id: int):
    form = DecisionForm()
    if form.validate_on_submit():
        item = corrections.approve_correction(current_user, correction_id, form.reason.data or "")
        db.session.commit()
        flash(f"已通过「{item.candidate.name}」的信息更正，考生信息已更新。", "success")
    return redirect(url_for("candidates.correction_show", correction_id=correction_id))


@bp.route("/corrections/<int:correction_id>/reject", methods=["POST"])
@service_view
def correction_reject(correction_id: int):
    form = DecisionForm()
    if form.validate_on_submit():
        corrections.reject_correction(current_user, correction_id, form.reason.data or "")
        db.session.commit()
        flash("已驳回该信息更正申请，院校可见驳回原因。", "success")
    return redirect(url_for("candidates.correction_show", correction_id=correction_id))
