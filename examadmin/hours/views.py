"""Hours pages: the holder's own records (portal), review by the school and the org, the providers'
import, the requirements per level (under the certificate settings) and the figures per provider."""
from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from ..core import jobs, permissions
from ..core.errors import DomainError
from ..core.forms import ConfirmForm
from ..core.web import (choice_arg, commit_or_flash, flash_domain_error, int_arg, paginate, posted_search,
                        search_text, service_view)
from ..extensions import db
from . import figures, importer, requirements, services
from .forms import HoursForm, HoursImportForm, RequirementForm, ReturnForm
from .models import HoursKind, RequirementMode
from .states import HOURS, HoursState

bp = Blueprint("hours", __name__, url_prefix="/hours")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _evidence_upload(form: HoursForm) -> tuple[str, bytes]:
    upload = form.evidence.data
    if not upload or not getattr(upload, "filename", ""):
        return "", b""
    return upload.filename or "", upload.stream.read(services.MAX_LETTER_BYTES + 1)


# ---- the holder (portal) ------------------------------------------------------------------------

@bp.route("/mine", methods=["GET", "POST"])
def mine():
    """我的学时: record hours with evidence; the list of own records with their state and reason."""
    permissions.require(current_user, "hours.record")
    form = HoursForm()
    if form.validate_on_submit():
        name, data = _evidence_upload(form)
        _, ok = commit_or_flash(services.record_hours, current_user, form.kind.data, form.date.data,
                                form.provider.data, form.hours.data, name, data, form=form)
        if ok:
            flash("已提交学时记录，请等待学校或评价组织审核。", "success")
            return redirect(url_for("hours.mine"))
    return render_template("hours/mine.html", form=form, records=services.own_records(current_user),
                           totals=services.own_totals(current_user), kinds=HoursKind)


@bp.route("/mine/<int:record_id>/edit", methods=["GET", "POST"])
def resubmit(record_id: int):
    """A returned record, corrected and resubmitted."""
    permissions.require(current_user, "hours.record")
    record = services.get_record(current_user, record_id)
    if record.state != HoursState.RETURNED:
        flash(f"该学时记录的状态为「{record.state.value}」，只有已退回的记录可以修改。", "warning")
        return redirect(url_for("hours.mine"))
    form = HoursForm()
    if request.method == "GET":
        form.kind.data, form.date.data = record.kind.value, record.date.isoformat()
        form.provider.data, form.hours.data = record.provider, str(record.hours)
    if form.validate_on_submit():
        name, data = _evidence_upload(form)
        _, ok = commit_or_flash(services.resubmit_hours, current_user, record.id, form.kind.data, form.date.data,
                                form.provider.data, form.hours.data, name, data, form=form)
        if ok:
            flash("已修改并重新提交，请等待审核。", "success")
            return redirect(url_for("hours.mine"))
    return render_template("hours/resubmit.html", form=form, record=record)


@bp.route("/<int:record_id>/evidence")
def evidence(record_id: int):
    """The evidence, only through the scope check (the holder, their school, the org)."""
    path, mime, name = services.evidence_file(current_user, record_id)
    inline = mime.startswith("image/") or mime == "application/pdf"
    response = send_file(path, mimetype=mime, as_attachment=not inline or request.args.get("download") == "1",
                         download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


# ---- review by the school or the org ---------------------------------------------------------------

#: the 全部 tab's value (no state argument means the default tab, 待审核)
ALL_STATES = "all"
FILTERS = ("state", "kind", "provider", "school_id", "province_id")


@bp.route("/", methods=["GET", "POST"])
def index():
    """学时审核: the records in scope, 待审核 first (the default tab); filtered by state, kind, provider,
    the holder's name or ID number (posted, so that an ID number stays out of the URL) and, for the
    org, school and province; bulk 核验."""
    permissions.require(current_user, "hours.view")
    if request.method == "POST":
        return posted_search("hours.index", FILTERS)
    raw_state = request.args.get("state")
    state = services.DEFAULT_STATE if raw_state is None else (
        "" if raw_state == ALL_STATES else choice_arg("state", HoursState))
    kind = choice_arg("kind", HoursKind)
    provider = request.args.get("provider", "")[:services.MAX_PROVIDER]
    q = search_text("hours.index")
    schools, provinces = services.filter_choices(current_user)
    school_id = int_arg("school_id") if schools else None
    province_id = int_arg("province_id") if provinces else None
    page = paginate(services.list_records(current_user, state=state, kind=kind, provider=provider, q=q,
                                          school_id=school_id, province_id=province_id))
    return render_template("hours/index.html", page=page, state=state or ALL_STATES, kind=kind, provider=provider,
                           q=q, school_id=school_id, province_id=province_id, schools=schools, provinces=provinces,
                           counts=services.count_by_state(current_user), states=HoursState, kinds=HoursKind,
                           can_review=permissions.can(current_user, "hours.review"), confirm=ConfirmForm())


@bp.route("/verify", methods=["POST"])
@service_view
def verify():
    """核验 the ticked records (all or none)."""
    if ConfirmForm().validate_on_submit():
        records = services.verify_records(current_user, request.form.getlist("record_id")[:services.MAX_SELECTED + 1])
        db.session.commit()
        flash(f"已核验 {len(records)} 条学时记录。", "success")
    back = request.form.get("back", "")
    return redirect(back if back.startswith("/hours") and "//" not in back else url_for("hours.index"))


@bp.route("/<int:record_id>", methods=["GET", "POST"])
def show(record_id: int):
    """One record: data, evidence, history; 核验 or 退回 with a reason."""
    if not permissions.can(current_user, "hours.view"):
        return redirect(url_for("hours.mine"))
    record = services.get_record(current_user, record_id)
    form = ReturnForm()
    if form.validate_on_submit():
        _, ok = commit_or_flash(services.return_record, current_user, record.id, form.reason.data, form=form)
        if ok:
            flash("已退回，持证人可修改后重新提交。", "success")
            return redirect(url_for("hours.show", record_id=record.id))
    from ..core import audit

    return render_template("hours/show.html", r=record, form=form, confirm=ConfirmForm(),
                           actions=HOURS.actions_for(record, current_user), history=audit.history(record),
                           describe=audit.describe_change)


# ---- import -------------------------------------------------------------------------------------

@bp.route("/import", methods=["GET", "POST"])
def import_sheet():
    """批量导入学时 from a training provider's list (a background job)."""
    permissions.require(current_user, "hours.import")
    form = HoursImportForm()
    if form.validate_on_submit():
        job = jobs.submit_upload(current_user, "hours_import", {"valid_only": bool(form.valid_only.data)},
                                 form.file.data)
        db.session.commit()
        jobs.dispatch(job)
        return redirect(url_for("hours.import_result", job_id=job.id))
    return render_template("hours/import.html", form=form)


@bp.route("/import/<int:job_id>")
def import_result(job_id: int):
    job = jobs.get_job(current_user, job_id)
    if job.kind != "hours_import":
        abort(404)
    return render_template("hours/import_result.html", job=job, result=job.result or {})


@bp.route("/import/template")
def template():
    permissions.require(current_user, "hours.import")
    return send_file(io.BytesIO(importer.build_template()), as_attachment=True, download_name="学时导入模板.xlsx",
                     mimetype=XLSX)


# ---- requirements (under the certificate settings) -------------------------------------------------

@bp.route("/requirements", methods=["GET", "POST"])
def requirements_page():
    """报考学时要求: minimum verified supervision and practice hours per level, refuse or warn."""
    items = requirements.list_requirements(current_user)
    form = RequirementForm()
    editing = request.form.get("level_id", "") if request.method == "POST" else ""
    typed, refused = None, None
    if form.validate_on_submit():
        try:
            saved = requirements.save_requirement(current_user, editing, form.min_supervision.data,
                                                  form.min_practice.data, form.mode.data)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash_domain_error(exc)
            # The refused row keeps what was typed, and says what is wrong under the field.
            typed = {"level_id": editing, "min_supervision": form.min_supervision.data or "",
                     "min_practice": form.min_practice.data or "", "mode": form.mode.data or ""}
            refused = {"field": exc.field, "message": exc.message}
        else:
            standard = "（按证书标准）" if not saved.saved else ""
            flash(f"已保存{saved.level.label}的报考学时要求{standard}。", "success")
            return redirect(url_for("hours.requirements_page"))
    return render_template("hours/requirements.html", items=items, form=form, modes=RequirementMode,
                           typed=typed, refused=refused, standard=requirements.standard_of)


# ---- figures --------------------------------------------------------------------------------------

@bp.route("/providers")
def providers():
    """学时机构统计: records, people, hours and the verified share per provider."""
    kind = choice_arg("kind", HoursKind)
    return render_template("hours/providers.html", rows=figures.providers(current_user, kind), kind=kind,
                           kinds=HoursKind)


@bp.route("/providers.xlsx")
def providers_export():
    kind = choice_arg("kind", HoursKind)
    buffer = io.BytesIO()
    figures.export(current_user, buffer, kind)
    response = send_file(io.BytesIO(buffer.getvalue()), as_attachment=True, download_name="学时机构统计.xlsx",
                         mimetype=XLSX)
    response.headers["Cache-Control"] = "no-store"
    return response
