"""Pages of pilot applications: plans, the application form, reviews and the quota ledger."""
from __future__ import annotations

import io

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from ..catalog.models import CertificateLevel
from ..catalog.services import majors_for_school_type
from ..core import audit, permissions
from ..core.clock import now
from ..core.excel import write_table
from ..core.forms import ConfirmForm, opts
from ..core.web import choice_arg, commit_or_flash, int_arg, paginate, service_view
from ..extensions import db
from . import quota, services
from .forms import ApplicationForm, PlanForm, ReturnForm
from .services import LineInput
from .states import APPLICATION, EDITABLE, ApplicationState

bp = Blueprint("pilots", __name__, url_prefix="/pilots")

BLANK_ROWS = 3  # empty rows offered under the filled ones


# ---- plans ---------------------------------------------------------------------------

@bp.route("/plans")
def plans():
    rows = db.session.scalars(services.list_plans(current_user)).all()
    return render_template("pilots/plans.html", plans=rows, scope_label=services.open_scope_label,
                           can_manage=permissions.can(current_user, "pilots.manage_plans"),
                           can_apply=permissions.can(current_user, "pilots.apply"), at=now())


@bp.route("/plans/new", methods=["GET", "POST"])
@bp.route("/plans/<int:plan_id>", methods=["GET", "POST"])
def plan_form(plan_id: int | None = None):
    permissions.require(current_user, "pilots.manage_plans")
    plan = services.get_plan(current_user, plan_id) if plan_id else None
    form = PlanForm(obj=plan)
    levels = db.session.scalars(select(CertificateLevel).order_by(CertificateLevel.certificate_id,
                                                                  CertificateLevel.rank)).all()
    form.level_ids.choices = opts((lv.id, lv.label) for lv in levels)
    if request.method == "GET" and plan is not None:
        form.level_ids.data = [lv.id for lv in plan.levels]
    if form.validate_on_submit():
        data = {name: field.data for name, field in form._fields.items()}
        _, ok = commit_or_flash(services.save_plan, current_user, data, plan_id, form=form)
        if ok:
            flash("申报计划已保存。", "success")
            return redirect(url_for("pilots.plans"))
    return render_template("pilots/plan_form.html", form=form, plan=plan)


# ---- applications --------------------------------------------------------------------

@bp.route("/applications")
def applications():
    query = services.list_applications(current_user, state=choice_arg("state", ApplicationState),
                                       year=int_arg("year"), plan_id=int_arg("plan_id"))
    return render_template("pilots/applications.html", page=paginate(query), states=list(ApplicationState),
                           can_apply=permissions.can(current_user, "pilots.apply"))


#: rows the major table may have at most (typed, posted or asked for with ?more=)
MAX_LINES = 200


def major_label(major) -> str:
    """How a major reads in the picker, and what the school types or picks there."""
    return f"{major.code} {major.name} · {major.catalogue_version}版 · {major.level}"


def _resolve_major(text: str, majors) -> int | None:
    """The major a row names: its full label as the picker offers it, or its code alone
    (or code and name) where that names one major; None when nothing or several match."""
    text = " ".join(text.split())
    if not text:
        return None
    found = [m for m in majors if major_label(m) == text]
    if not found:
        found = [m for m in majors if text in (m.code, f"{m.code} {m.name}")]
    return found[0].id if len(found) == 1 else None


def _parse_lines(form_data, majors) -> tuple[list[LineInput], list[dict]]:
    """The filled rows of the major table (fully blank rows are ignored), and the rows as
    typed, to show again after an error."""
    lines, typed = [], []
    try:
        row_count = int(form_data.get("rows", 0) or 0)
    except ValueError:
        row_count = 0
    for i in range(max(0, min(row_count, MAX_LINES))):
        label = form_data.get(f"major-{i}", "").strip()[:200]
        values = [form_data.get(f"{name}-{i}", "").strip()[:20] for name in ("major_id", "students", "teachers",
                                                                             "requested")]
        if not any(values) and not label:
            continue
        major_id = int(values[0]) if values[0].isdigit() and len(values[0]) < 10 else _resolve_major(label, majors)
        lines.append(LineInput(major_id=major_id, students=values[1], teachers=values[2], requested=values[3],
                               row=len(lines) + 1))
        typed.append({"major_id": major_id, "major_label": label, "students": values[1], "teachers": values[2],
                      "requested": values[3]})
    return lines, typed


def _form_rows(application, typed, majors) -> list[dict]:
    """Rows to show: what was typed (after an error), else the saved lines, plus blanks."""
    labels = {m.id: major_label(m) for m in majors}
    if typed is not None:
        rows = [dict(row, major_label=labels.get(row["major_id"], row["major_label"])) for row in typed]
    elif application is not None:
        rows = [{"major_id": line.major_id, "major_label": labels.get(line.major_id, line.major_label),
                 "students": line.students, "teachers": line.teachers, "requested": line.requested,
                 "used": line.used} for line in application.lines]
    else:
        rows = []
    # ?more= adds blank rows where the page runs without script; bounded like the table.
    extra = max(0, int_arg("more") or 0)
    blanks = max(0, min(BLANK_ROWS + extra, MAX_LINES - len(rows)))
    return rows + [{} for _ in range(blanks)]


def _totals(rows: list[dict]) -> dict[str, int]:
    """The sums under the table, as the page opens (application_form.js keeps them current)."""
    def number(value) -> int:
        text = str(value if value is not None else "").strip()
        return int(text) if text.isdigit() and len(text) < 10 else 0
    return {name: sum(number(row.get(name)) for row in rows) for name in ("students", "teachers", "requested")}


@bp.route("/applications/new", methods=["GET", "POST"])
@bp.route("/applications/<int:application_id>/edit", methods=["GET", "POST"])
def application_form(application_id: int | None = None):
    permissions.require(current_user, "pilots.apply")
    application = services.get_application(current_user, application_id) if application_id else None
    plan = application.plan if application else services.get_plan(current_user, int_arg("plan_id") or 0)
    form = ApplicationForm(obj=application)
    levels = services.open_levels(plan)
    applied = {}
    if application is not None:
        levels = [application.certificate_level]  # fixed at creation
    else:
        # a level the school already applied for this year would only be refused on saving
        applied = services.applied_levels(current_user, plan.year)
        levels = [lv for lv in levels if lv.id not in applied]
    form.certificate_level_id.choices = opts((lv.id, lv.label) for lv in levels)
    majors = majors_for_school_type(current_user.school.type) if plan.requires_majors else []
    typed = None
    if form.validate_on_submit():
        posted, typed = _parse_lines(request.form, majors)
        saved, ok = commit_or_flash(
            services.save_application, current_user, form=form, plan_id=plan.id,
            certificate_level_id=form.certificate_level_id.data, explanation=form.explanation.data or "",
            lines=posted, application_id=application_id, submit="submit_application" in request.form)
        if ok:
            flash("已提交，等待审核。" if saved.state != ApplicationState.DRAFT else "已保存为草稿（未提交）。",
                  "success")
            return redirect(url_for("pilots.application", application_id=saved.id))
    rows = _form_rows(application, typed, majors)
    return render_template("pilots/application_form.html", form=form, plan=plan, application=application,
                           rows=rows, majors=majors, major_label=major_label, totals=_totals(rows),
                           max_lines=MAX_LINES, applied=applied)


@bp.route("/applications/<int:application_id>")
def application(application_id: int):
    app = services.get_application(current_user, application_id)
    return render_template("pilots/application.html", app=app, history=audit.history(app),
                           actions=APPLICATION.actions_for(app, current_user), editable=app.state in EDITABLE,
                           can_apply=permissions.can(current_user, "pilots.apply"),
                           confirm=ConfirmForm(), return_form=ReturnForm(), describe=audit.describe_change)


@bp.route("/applications/<int:application_id>/submit", methods=["POST"])
@service_view
def submit(application_id: int):
    if ConfirmForm().validate_on_submit():
        services.submit_application(current_user, application_id)
        db.session.commit()
        flash("已提交，等待审核。", "success")
    return redirect(url_for("pilots.application", application_id=application_id))


@bp.route("/applications/<int:application_id>/pass", methods=["POST"])
@service_view
def pass_(application_id: int):
    if ConfirmForm().validate_on_submit():
        services.pass_to_province(current_user, application_id)
        db.session.commit()
        flash("已审核通过，转省级审核。", "success")
    return redirect(url_for("pilots.application", application_id=application_id))


@bp.route("/applications/<int:application_id>/return", methods=["POST"])
@service_view
def return_(application_id: int):
    form = ReturnForm()
    services.return_application(current_user, application_id, form.reason.data or "")
    db.session.commit()
    flash("已退回，学校修改后可重新提交。", "success")
    return redirect(url_for("pilots.application", application_id=application_id))


@bp.route("/applications/<int:application_id>/approve", methods=["POST"])
@service_view
def approve(application_id: int):
    if ConfirmForm().validate_on_submit():
        approved = {int(key.split("-", 1)[1]): value for key, value in request.form.items()
                    if key.startswith("approved-") and key.split("-", 1)[1].isdigit()}
        app = services.approve_application(current_user, application_id, approved)
        db.session.commit()
        flash(f"已审核通过，核定指标 {app.quota} 人。", "success")
    return redirect(url_for("pilots.application", application_id=application_id))


# ---- quota ledger --------------------------------------------------------------------

@bp.route("/quota")
def quota_ledger():
    query = quota.ledger(current_user, **_ledger_filters())
    schools, levels = quota.ledger_filters(current_user)
    return render_template("pilots/quota.html", page=paginate(query), row=quota.ledger_row,
                           headers=quota.LEDGER_HEADERS, schools=schools, levels=levels, filters=_ledger_filters())


def _ledger_filters() -> dict:
    """年度, 院校 and 证书等级 from the query string; anything unreadable is ignored."""
    return {"year": int_arg("year"), "school_id": int_arg("school_id"), "level_id": int_arg("level_id")}


@bp.route("/quota.xlsx")
def quota_export():
    lines = db.session.scalars(quota.ledger(current_user, **_ledger_filters())).unique().all()
    buffer = io.BytesIO()
    write_table(buffer, "指标台账", quota.LEDGER_HEADERS, (quota.ledger_row(line) for line in lines),
                widths=[8, 14, 30, 30, 8, 30, 10, 10, 10])
    buffer.seek(0)
    return send_file(buffer, as_attachment=True, download_name=f"指标台账_{now():%Y%m%d}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
