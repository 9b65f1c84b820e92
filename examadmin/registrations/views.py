"""Registration (报考管理) and payment (缴费管理) pages."""
from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..candidates.models import Candidate
from ..candidates.states import CandidateState
from ..core import audit, jobs, permissions
from ..core.clock import now
from ..core.errors import DomainError
from ..core.excel import write_sheets
from ..core.forms import ConfirmForm, opts
from ..core.web import paginate, posted_search, search_text, service_view
from ..extensions import db
from . import lists, outcomes, services, stranded
from .forms import CancelForm, ImportForm, RegisterForm
from .states import REGISTRATION, RegistrationState
from .template import build_template

bp = Blueprint("registrations", __name__, url_prefix="/registrations")


@bp.app_template_global("registrations_of")
def registrations_of(candidates) -> dict:
    """Each listed candidate's registrations, for the candidate list's 报考 column (one query)."""
    return lists.registrations_by_candidate(current_user, [c.id for c in candidates])


@bp.app_template_global("registration_rights")
def registration_rights() -> dict:
    """What the signed-in user may do here, for the 报考 column and action of the candidate list."""
    return {"view": permissions.can(current_user, "registrations.view"),
            "manage": permissions.can(current_user, "registrations.manage")}


@bp.app_template_global("quota_taken_by_registrations")
def quota_taken_by_registrations(lines) -> dict:
    """Places held by live registrations per quota line, for the ledger's column."""
    return lists.places_by_line([line.id for line in lines])


@bp.app_template_global("site_stranded")
def site_stranded(registration) -> bool:
    """Whether the registration holds its place at a site the org disabled (站点已停用)."""
    return stranded.is_stranded(registration)


@bp.app_template_global("registration_outcomes")
def registration_outcomes(registrations) -> dict:
    """What the exams of these registrations came to (合格 / 不合格 / 缺考 / 违纪, or 成绩公示中), by
    registration id, for the pages that show their state: one query for a page."""
    return outcomes.outcomes(registrations)


@bp.app_template_global("registrations_already_passed")
def registrations_already_passed(registrations) -> dict:
    """Of these registrations, the live ones of a level their person passed in another plan, with
    that plan (已通过该等级), by registration id: one query for a page."""
    return outcomes.already_passed(registrations)


@bp.app_template_global("registration_state")
def registration_state(registration) -> RegistrationState:
    return lists.shown_state(registration)


#: the list's filters that travel in its URL; the search text does not (it may be an ID number)
LIST_FILTERS = ("plan_id", "state", "level", "site_id", "kind", "retake", "school_code", "site_disabled",
                "passed_level", "no_order")


def _filters() -> lists.Filters:
    filters = lists.Filters.from_args(request.args)
    filters.q = search_text("registrations.index", by_name_link=True)[:40]
    if current_user.school_id:
        filters.school_id = None  # the scope decides; a school sees only its own
    return filters


@bp.route("/", methods=["GET", "POST"])
def index():
    if request.method == "POST":
        return posted_search("registrations.index", LIST_FILTERS, keep_empty=("plan_id",))
    plans = lists.plans_for_lists(current_user)
    filters = _filters()
    if filters.plan_id is None and plans and "plan_id" not in request.args:
        # the plan whose registration is open is the one at work; otherwise the newest
        filters.plan_id = next((p.id for p in plans if p.registration_open()), plans[0].id)
    plan = next((p for p in plans if p.id == filters.plan_id), None)
    sites = []
    if current_user.school_id:
        sites = services.usable_sites(current_user, certificate_ids=[plan.certificate_id] if plan else None)
    query = lists.list_registrations(current_user, filters)
    return render_template("registrations/index.html", page=paginate(query), plans=plans, plan=plan,
                           filters=filters, figures=lists.figures(current_user, filters),
                           per_site=lists.figures_per_site(current_user, filters),
                           columns=lists.FIGURE_COLUMNS, states=list(RegistrationState), sites=sites,
                           can_manage=permissions.can(current_user, "registrations.manage"),
                           warning=services.PLATFORM_WARNING, confirm=ConfirmForm())


@bp.route("/export.xlsx")
def export():
    filters = _filters()
    buffer = io.BytesIO()
    write_sheets(buffer, [
        ("报考名单", lists.EXPORT_HEADERS, lists.export_rows(current_user, filters),
         [30, 12, 26, 10, 22, 10, 26, 6, 40, 16, 8, 10, 10, 14, 16, 16, 30]),
        ("统计", lists.FIGURE_HEADERS, lists.figure_rows(current_user, filters), [8, 40] + [12] * len(lists.FIGURE_COLUMNS)),
    ])
    buffer.seek(0)
    return send_file(buffer, as_attachment=True, download_name=f"报考名单_{now():%Y%m%d%H%M}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _eligible_candidates(selected: list[int]) -> tuple[list[Candidate], bool, list[Candidate]]:
    """The school's candidates that may be chosen on the 报考 page (信息准确, not deleted): the first
    MAX_SELECTED by class, and always the ones selected on the candidate list, wherever they fall.
    Also whether more exist than are listed, and the selected ones that may not be chosen."""
    mine = (select(Candidate).where(Candidate.school_id == current_user.school_id, Candidate.hidden.is_(False))
            .options(joinedload(Candidate.major)))
    listed = db.session.scalars(mine.where(Candidate.state == CandidateState.ACCURATE)
                                .order_by(Candidate.class_name, Candidate.id).limit(services.MAX_SELECTED + 1)).all()
    more = len(listed) > services.MAX_SELECTED
    listed = listed[:services.MAX_SELECTED]
    shown = {c.id for c in listed}
    missing = [i for i in selected if i not in shown]
    unlisted: list[Candidate] = []
    not_accurate: list[Candidate] = []
    if missing:
        for c in db.session.scalars(mine.where(Candidate.id.in_(missing)).order_by(Candidate.id)):
            (unlisted if c.state == CandidateState.ACCURATE else not_accurate).append(c)
    if unlisted:
        listed = sorted([*listed, *unlisted], key=lambda c: (c.class_name or "", c.id))
    return listed, more, not_accurate


#: the longest selection carried into the 报考 page's address (see new); more is rendered from the POST
MAX_URL_IDS_LENGTH = 2000


def _selected_ids(name: str) -> list[int]:
    ids = []
    source = request.form if request.method == "POST" else request.args
    for raw in source.getlist(name)[: services.MAX_SELECTED + 1]:
        value = permissions.parse_id(raw)
        if value is not None:
            ids.append(value)
    return ids


@bp.route("/new", methods=["GET", "POST"])
def new():
    """报考: the candidates chosen on the candidate list (or here), a plan and a site."""
    permissions.require(current_user, "registrations.manage")
    form = RegisterForm()
    plans = services.open_plans(current_user)
    sites = services.usable_sites(current_user, certificate_ids={p.certificate_id for p in plans})
    form.plan_id.choices = opts([("", "请选择")] + [(p.id, p.name) for p in plans])
    form.site_id.choices = opts([("", "请选择")] + [(s.id, f"{s.name}（{s.certificate_level.level.value}）")
                                                   for s in sites])
    selected = _selected_ids("ids")
    retakes = set(_selected_ids("retake"))
    submitted = request.method == "POST" and "submit" in request.form
    if request.method == "POST" and not submitted:
        # The ticks from the candidate list: shown by a GET, so that Back from the list the
        # registration leads to, or a reload, never asks to send a form again (the browser's
        # English 确认重新提交表单 page). Candidate ids are no personal data; a selection too long
        # for an address (gunicorn reads 4 KB request lines) is shown from the POST as before.
        target = url_for("registrations.new", ids=selected)
        if len(target) <= MAX_URL_IDS_LENGTH:
            return redirect(target)
    if not submitted and form.plan_id.data is None and len(plans) == 1:
        form.plan_id.data = plans[0].id  # the only plan open for registration: nothing to choose
    # said beside the list even when the plan or site is missing too, so every gap shows at once
    candidate_error = services.NO_CANDIDATE if submitted and not selected else ""
    if submitted and form.validate_on_submit() and not candidate_error:
        try:
            warnings: list[str] = []
            ids = services.register_candidates(current_user, form.plan_id.data, form.site_id.data, selected, retakes,
                                               warnings=warnings)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            flash(f"已报考 {len(ids)} 名考生，请在缴费截止前完成缴费。", "success")
            for warning in warnings:
                flash(f"提醒：{warning}", "warning")
            return redirect(url_for("registrations.index", plan_id=form.plan_id.data))
    candidates, more, not_accurate = _eligible_candidates(selected)
    fees = {p.id: services.plan_levels(p) for p in plans}
    return render_template("registrations/new.html", form=form, candidates=candidates, selected=set(selected),
                           candidate_error=candidate_error, more=more, not_accurate=not_accurate,
                           max_listed=services.MAX_SELECTED,
                           retakes=retakes, plans=plans, fees=fees, warning=services.PLATFORM_WARNING,
                           registered=lists.registrations_by_candidate(current_user, [c.id for c in candidates]))


@bp.route("/<int:registration_id>")
def show(registration_id: int):
    registration = lists.get_registration(current_user, registration_id)
    sessions = services.level_subjects(registration.plan, registration.certificate_level_id)
    can_cancel = bool(REGISTRATION.allowed(registration, "cancel", current_user)) and \
        lists.shown_state(registration) != RegistrationState.LAPSED
    held_by = services.order_holding(registration) if can_cancel else None  # withdraw the order first
    return render_template("registrations/show.html", r=registration, sessions=sessions,
                           state=lists.shown_state(registration), history=audit.history(registration),
                           describe=audit.describe_change, form=CancelForm(), can_cancel=can_cancel and held_by is None,
                           held_by=held_by)


@bp.route("/<int:registration_id>/cancel", methods=["POST"])
@service_view
def cancel(registration_id: int):
    form = CancelForm()
    if form.validate_on_submit():
        registration = services.cancel_registration(current_user, registration_id, form.reason.data or "")
        db.session.commit()
        flash(f"已取消{registration.candidate.name}的报考"
              f"{'，指标已退回' if registration.kind.value == '本校考生' and not registration.is_retake else ''}。",
              "success")
    else:
        flash("；".join(e for errors in form.errors.values() for e in errors), "danger")
    return redirect(url_for("registrations.show", registration_id=registration_id))


# ---- 批量导入报考 -------------------------------------------------------------------------

@bp.route("/template.xlsx")
def template():
    permissions.require(current_user, "registrations.manage")
    try:
        plan_id = int(request.args.get("plan_id") or 0)
    except ValueError:
        plan_id = 0
    if not 0 < plan_id < 2**31:
        flash("请先选择考试计划，再下载该计划的报考模板。", "warning")
        return redirect(url_for("registrations.import_sheet"))
    plan = services.get_plan(current_user, plan_id)
    school = current_user.school
    data = build_template(school, plan, services.plan_levels(plan), services.usable_sites(current_user, certificate_ids=[plan.certificate_id]))
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"报考导入模板_{school.code}_{plan.id}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/import", methods=["GET", "POST"])
def import_sheet():
    permissions.require(current_user, "registrations.manage")
    form = ImportForm()
    plans = services.open_plans(current_user)
    form.plan_id.choices = opts([("", "请选择")] + [(p.id, p.name) for p in plans])
    if request.method == "GET" and request.args.get("plan_id"):
        form.plan_id.data = form.plan_id.coerce(request.args.get("plan_id"))
    if form.validate_on_submit():
        job = jobs.submit_upload(current_user, "registration_import",
                                 {"school_id": current_user.school_id, "plan_id": form.plan_id.data,
                                  "valid_only": bool(form.valid_only.data)},
                                 form.file.data)
        db.session.commit()
        jobs.dispatch(job)
        return redirect(url_for("registrations.import_result", job_id=job.id))
    return render_template("registrations/import.html", form=form, plans=plans, warning=services.PLATFORM_WARNING)


@bp.route("/import/<int:job_id>")
def import_result(job_id: int):
    job = jobs.get_job(current_user, job_id)
    if job.kind != "registration_import":
        abort(404)
    result = job.result or {}
    column = request.args.get("column", "")
    errors = [e for e in result.get("errors", []) if not column or e["column"] == column]
    columns = sorted({e["column"] for e in result.get("errors", [])})
    return render_template("registrations/import_result.html", job=job, result=result, errors=errors,
                           columns=columns, column=column, confirm=ConfirmForm())


@bp.route("/import/<int:job_id>/valid-only", methods=["POST"])
@service_view
def import_valid_only(job_id: int):
    """只导入正确的行 from the file the refused import keeps: no second upload."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("registrations.import_result", job_id=job_id))
    from .tasks import start_valid_rows_import

    job = start_valid_rows_import(current_user, job_id)
    db.session.commit()
    jobs.dispatch(job)
    return redirect(url_for("registrations.import_result", job_id=job.id))


from . import views_payment  # noqa: E402,F401
