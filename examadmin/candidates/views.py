"""Candidate pages: list, add and edit, detail with photo, Excel template and import."""
from __future__ import annotations

import io

from flask import (Blueprint, abort, flash, redirect, render_template, request, send_file, url_for)
from flask_login import current_user

from ..catalog.models import Major, School
from ..catalog.services import majors_for_school_type
from ..core import audit, idcard, jobs, permissions
from ..core.forms import ConfirmForm, opts
from ..core.storage import get_storage
from ..core.web import choice_arg, commit_or_flash, paginate, posted_search, search_text, service_view
from ..extensions import db
from . import services
from .forms import CandidateForm, ImportForm
from .models import CandidateKind
from .states import CandidateState
from .template import build_template

bp = Blueprint("candidates", __name__, url_prefix="/candidates")


@bp.app_template_filter("masked")
def masked(number: str) -> str:
    return idcard.mask(number)


#: the longest search text kept (a name, an ID number or a student number is far shorter)


@bp.route("/", methods=["GET", "POST"])
def index():
    if request.method == "POST":
        return posted_search("candidates.index", ("state", "class_name", "kind", "hidden"))
    args = request.args
    show_hidden = args.get("hidden") == "1"
    q = search_text("candidates.index", by_name_link=True)
    query = services.list_candidates(current_user, q=q, state=choice_arg("state", CandidateState),
                                     class_name=args.get("class_name", ""), kind=choice_arg("kind", CandidateKind),
                                     hidden=show_hidden)
    return render_template("candidates/index.html", page=paginate(query), states=list(CandidateState), q=q,
                           classes=services.class_names(current_user), counts=services.state_counts(current_user),
                           can_manage=permissions.can(current_user, "candidates.manage"),
                           can_restore=permissions.can(current_user, "candidates.restore"),
                           show_hidden=show_hidden, confirm=ConfirmForm())


def _form_raw(form: CandidateForm) -> dict:
    raw = {name: field.data for name, field in form._fields.items() if name not in ("submit", "csrf_token")}
    major = db.session.get(Major, raw.pop("major_id")) if form.major_id.data else None
    raw["major_code"], raw["major_name"] = (major.code, major.name) if major else ("", "")
    return raw


def _major_choices(form: CandidateForm, school: School) -> None:
    form.major_id.choices = opts([("", "—")] + [(m.id, f"{m.code} {m.name}（{m.catalogue_version}版）")
                                                for m in majors_for_school_type(school.type)])


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:candidate_id>/edit", methods=["GET", "POST"])
def form(candidate_id: int | None = None):
    permissions.require(current_user, "candidates.manage")
    candidate = services.get_candidate(current_user, candidate_id) if candidate_id else None
    form = CandidateForm(obj=candidate)
    if request.method == "GET" and candidate is not None:
        form.enrolment_year.data = str(candidate.enrolment_year or "")
    _major_choices(form, candidate.school if candidate else current_user.school)
    if form.validate_on_submit():
        if candidate is None:
            saved, ok = commit_or_flash(services.add_candidate, current_user, _form_raw(form), form=form)
        else:
            saved, ok = commit_or_flash(services.update_candidate, current_user, candidate_id, _form_raw(form),
                                        form=form)
        if ok:
            flash("考生信息已保存。", "success")
            return redirect(url_for("candidates.show", candidate_id=saved.id))
    return render_template("candidates/form.html", form=form, candidate=candidate)


@bp.route("/<int:candidate_id>")
def show(candidate_id: int):
    candidate = services.get_candidate(current_user, candidate_id, include_hidden=True)
    from .verification import unconfirmable_reasons

    unconfirmable = unconfirmable_reasons(candidate) if candidate.state == CandidateState.NEEDS_REVIEW else []
    return render_template("candidates/show.html", c=candidate, history=audit.history(candidate),
                           unconfirmable=unconfirmable,
                           describe=audit.describe_change, confirm=ConfirmForm(),
                           can_manage=permissions.can(current_user, "candidates.manage"),
                           can_restore=permissions.can(current_user, "candidates.restore"))


@bp.route("/<int:candidate_id>/photo")
def photo(candidate_id: int):
    """The photo, only through this permission check (never a public static path)."""
    candidate = services.get_candidate(current_user, candidate_id, include_hidden=True)
    if not candidate.photo_key or not get_storage().exists(candidate.photo_key):
        abort(404)
    response = send_file(get_storage().path(candidate.photo_key), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:candidate_id>/delete", methods=["POST"])
@service_view
def delete(candidate_id: int):
    if ConfirmForm().validate_on_submit():
        candidate = services.hide_candidate(current_user, candidate_id)
        db.session.commit()
        flash(f"已删除考生「{candidate.name}」。如需恢复，请联系评价组织。", "success")
    return redirect(url_for("candidates.index"))


@bp.route("/<int:candidate_id>/restore", methods=["POST"])
@service_view
def restore(candidate_id: int):
    if ConfirmForm().validate_on_submit():
        candidate = services.restore_candidate(current_user, candidate_id)
        db.session.commit()
        flash(f"已恢复考生「{candidate.name}」。", "success")
    return redirect(url_for("candidates.show", candidate_id=candidate_id))


# ---- Excel template and import ---------------------------------------------------------

@bp.route("/template.xlsx")
def template():
    permissions.require(current_user, "candidates.manage")
    school = current_user.school
    return send_file(io.BytesIO(build_template(school)), as_attachment=True,
                     download_name=f"考生导入模板_{school.code}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/import", methods=["GET", "POST"])
def import_sheet():
    permissions.require(current_user, "candidates.manage")
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        job = jobs.submit_upload(current_user, "candidate_import", {"school_id": current_user.school_id,
                                                                    "valid_only": bool(form.valid_only.data)},
                                 upload)
        db.session.commit()
        jobs.dispatch(job)
        return redirect(url_for("candidates.import_result", job_id=job.id))
    return render_template("candidates/import.html", form=form)


@bp.route("/import/<int:job_id>")
def import_result(job_id: int):
    job = jobs.get_job(current_user, job_id)
    if job.kind != "candidate_import":
        abort(404)
    result = job.result or {}
    column = request.args.get("column", "")
    errors = [e for e in result.get("errors", []) if not column or e["column"] == column]
    columns = sorted({e["column"] for e in result.get("errors", [])})
    return render_template("candidates/import_result.html", job=job, result=result, errors=errors,
                           columns=columns, column=column, confirm=ConfirmForm())


@bp.route("/import/<int:job_id>/valid-only", methods=["POST"])
@service_view
def import_valid_only(job_id: int):
    """只导入正确的行 from the file the refused import keeps: no second upload."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("candidates.import_result", job_id=job_id))
    from .tasks import start_valid_rows_import

    job = start_valid_rows_import(current_user, job_id)
    db.session.commit()
    jobs.dispatch(job)
    return redirect(url_for("candidates.import_result", job_id=job.id))
from . import views_review  # noqa: E402,F401
from . import views_photos  # noqa: E402,F401
