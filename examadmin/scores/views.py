"""Score entry, publication, objections, statistics and the public score lookup."""
from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from ..core import clock, jobs, permissions
from ..core.errors import DomainError
from ..core.forms import ConfirmForm
from ..core.roles import Role
from ..core.web import int_arg, paginate, posted_search, search_text, service_view
from ..exams.models import PLAN_ORDER, ExamPlan
from ..exams.services import plans as exam_plans
from ..extensions import db
from . import services
from .forms import AnswerForm, DisplayForm, ObjectionForm, ScoreImportForm
from .importer import build_template
from .models import Score, ScoreObjection, ScorePublication
from .states import ObjectionState, PublicationStage

bp = Blueprint("scores", __name__, url_prefix="/scores")


@bp.app_template_global("publication_stages")
def publication_stages(plans) -> dict[int, PublicationStage]:
    """Plan id -> its score publication stage, for the exam plan pages (exams comes earlier and
    cannot import scores); one query for the page's plans."""
    ids = [p.id for p in plans]
    if not ids:
        return {}
    rows = db.session.execute(select(ScorePublication.plan_id, ScorePublication.stage)
                              .where(ScorePublication.plan_id.in_(ids)))
    return {plan_id: stage for plan_id, stage in rows}


def _plan_choices():
    if current_user.role == Role.CANDIDATE:
        # a candidate's plans are those of the scores they may see
        ids = select(Score.plan_id).where(Score.scope_clause(current_user)).distinct()
        return list(db.session.scalars(select(ExamPlan).where(ExamPlan.id.in_(ids)).order_by(*PLAN_ORDER)))
    return exam_plans.published_plans(current_user)


@bp.route("/")
def index():
    """Choose a plan; its publication stage, counts and the steps the user may take."""
    permissions.require(current_user, "scores.view")
    plan_id = int_arg("plan_id")
    plan = services.get_plan(current_user, plan_id) if plan_id else None
    pub = db.session.scalar(select(ScorePublication).where(ScorePublication.plan_id == plan.id)) if plan else None
    stage = services.stage_of(plan.id) if plan else None
    counts = services.summary(plan.id) if plan and permissions.can(current_user, "scores.enter") else None
    first_end = services.first_session_end(plan.id) if plan and stage == PublicationStage.ENTERING else None
    not_ended = first_end is not None and services.no_session_ended(plan.id)
    # the sessions still to end: 开始公示 waits for the last of them (entry only for each its own)
    unended = sorted(services.unended_sessions(plan.id).values(), key=lambda s: (s.date, s.end_time)) \
        if plan and stage == PublicationStage.ENTERING else []
    return render_template("scores/index.html", plan=plan, pub=pub, stage=stage, counts=counts, Stage=PublicationStage,
                           not_ended=not_ended, first_end=first_end, unended=unended, now=clock.now(),
                           plan_choices=_plan_choices(), display_form=DisplayForm(), confirm=ConfirmForm(),
                           can_enter=permissions.can(current_user, "scores.enter"),
                           can_publish=permissions.can(current_user, "scores.publish"),
                           can_stats=permissions.can(current_user, "scores.stats"))


# ---- entry --------------------------------------------------------------------------------

def _grid_entries(form) -> dict[int, dict]:
    entries = {}
    for key in form:
        if not key.startswith("seat-"):
            continue
        try:
            seat_id = int(key[5:])
        except ValueError:
            continue
        entries[seat_id] = {"score": form.get(key, "")[:20], "absent": form.get(f"absent-{seat_id}") == "1",
                            "violation": form.get(f"violation-{seat_id}") == "1"}
    return entries


@bp.route("/plans/<int:plan_id>/entry", methods=["GET", "POST"])
def entry(plan_id: int):
    """The grid of one room: Tab and Enter move, the page is saved at once; a bad row keeps what was typed."""
    chooser = services.entry_chooser(current_user, plan_id, site_id=int_arg("site_id"), room_id=int_arg("room_id"))
    plan, rooms = chooser.plan, chooser.rooms
    room_id = int_arg("room_id")
    if not room_id or (not chooser.direct and int_arg("site_id") and room_id not in {r.id for r in rooms}):
        room_id = rooms[0].id if rooms else None  # a site just chosen opens its first room
    grid, room, reason = [], None, ""
    if room_id:
        if request.method == "POST" and ConfirmForm().validate_on_submit():
            reason = request.form.get("reason", "")[:500]
            entries = _grid_entries(request.form)
            try:
                report, grid = services.save_grid(current_user, plan.id, room_id, entries, reason=reason)
                db.session.commit()
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
                _, room, grid = services.entry_grid(current_user, plan.id, room_id)
                for row in grid:  # nothing was saved: show what was typed, not lose it
                    typed = entries.get(row.seat_id)
                    if typed is not None:
                        row.typed, row.absent, row.violation = typed["score"], typed["absent"], typed["violation"]
            else:
                if report.errors:
                    flash(f"已保存 {report.saved} 项；{len(report.errors)} 行有误未保存，已保留您填写的内容，"
                          "请修改后再次保存。", "warning")
                else:
                    flash(f"已保存 {report.saved} 项成绩。" if report.saved else "没有需要保存的修改。", "success")
                    return redirect(url_for("scores.entry", plan_id=plan.id, room_id=room_id))
            room = room or services.entry_grid(current_user, plan.id, room_id)[1]
        else:
            _, room, grid = services.entry_grid(current_user, plan.id, room_id)
    # said before anyone types a page of scores the service would refuse
    not_over = []
    if room:
        not_over = sorted((s for s in services.unended_sessions(plan.id).values() if s.subject_id == room.subject_id),
                          key=lambda s: (s.date, s.start_time))
    return render_template("scores/entry.html", plan=plan, chooser=chooser, rooms=rooms, room=room, grid=grid,
                           reason=reason, stage=services.stage_of(plan.id), Stage=PublicationStage,
                           confirm=ConfirmForm(), not_over=not_over)


@bp.route("/plans/<int:plan_id>/template.xlsx")
def template(plan_id: int):
    plan, data = build_template(current_user, plan_id)
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"成绩导入模板_{plan.id}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/plans/<int:plan_id>/import", methods=["GET", "POST"])
def import_sheet(plan_id: int):
    permissions.require(current_user, "scores.enter")
    plan = permissions.get_for(current_user, ExamPlan, plan_id)
    form = ScoreImportForm()
    if form.validate_on_submit():
        job = jobs.submit_upload(current_user, "score_import",
                                 {"plan_id": plan.id, "valid_only": bool(form.valid_only.data),
                                  "reason": (form.reason.data or "").strip()},
                                 form.file.data)
        db.session.commit()
        jobs.dispatch(job)
        return redirect(url_for("scores.import_result", job_id=job.id))
    return render_template("scores/import.html", form=form, plan=plan, stage=services.stage_of(plan.id),
                           Stage=PublicationStage)


@bp.route("/import/<int:job_id>")
def import_result(job_id: int):
    job = jobs.get_job(current_user, job_id)
    if job.kind != "score_import":
        abort(404)
    return render_template("scores/import_result.html", job=job, result=job.result or {},
                           plan_id=(job.params or {}).get("plan_id"))


# ---- publication --------------------------------------------------------------------------

def _flash_form_errors(form) -> None:
    """A form that did not validate says why (a field's errors with its label), never a silent redirect."""
    messages = []
    for name, errors in form.errors.items():
        field = form._fields.get(name)
        label = field.label.text if field is not None and name != "csrf_token" else ""
        messages += [f"{label}：{error}" if label else str(error) for error in errors]
    flash("；".join(messages) or "请检查填写内容后重新提交。", "danger")


@bp.route("/plans/<int:plan_id>/display", methods=["POST"])
@service_view
def open_display(plan_id: int):
    form = DisplayForm()
    if form.validate_on_submit():
        pub = services.open_display(current_user, plan_id, request.form.get("display_days"))
        db.session.commit()
        flash(f"已开始成绩公示，公示期至 {pub.display_ends_at:%Y-%m-%d %H:%M}。", "success")
    else:
        _flash_form_errors(form)
    return redirect(url_for("scores.index", plan_id=plan_id))


@bp.route("/plans/<int:plan_id>/publish", methods=["POST"])
@service_view
def publish(plan_id: int):
    form = ConfirmForm()
    if form.validate_on_submit():
        services.publish_final(current_user, plan_id)
        db.session.commit()
        flash("成绩已发布：公众查询和证书发放从此使用这些结果。", "success")
    else:
        _flash_form_errors(form)
    return redirect(url_for("scores.index", plan_id=plan_id))


# ---- scores, history, objections -------------------------------------------------------------

@bp.route("/plans/<int:plan_id>/scores", methods=["GET", "POST"])
def scores(plan_id: int):
    if request.method == "POST":  # the search may be an ID number: posted, kept sealed, not in the URL
        return posted_search("scores.scores", (), path={"plan_id": plan_id})
    q = search_text("scores.scores", by_name_link=True)[:50]
    plan, query = services.list_scores(current_user, plan_id, q)
    page = paginate(query)
    tickets, passed = services.page_extras(page.items)
    stage = services.stage_of(plan.id)
    not_ended = stage == PublicationStage.ENTERING and services.no_session_ended(plan.id)
    return render_template("scores/scores.html", plan=plan, page=page, tickets=tickets, passed=passed,
                           stage=stage, not_ended=not_ended,
                           first_end=services.first_session_end(plan.id) if not_ended else None,
                           Stage=PublicationStage, q=q, confirm=ConfirmForm())


@bp.route("/scores/<int:score_id>", methods=["GET", "POST"])
def score(score_id: int):
    """One score: its history (every change with its reason) and objections; a school objects here."""
    record = services.get_score(current_user, score_id)
    form = ObjectionForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.raise_objection(current_user, record.id, form.reason.data)
                db.session.commit()
                flash("异议已提交，等待评价组织答复。", "success")
                return redirect(url_for("scores.score", score_id=record.id))
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
    objections = list(db.session.scalars(services.list_objections(current_user, record.plan_id)
                                         .where(ScoreObjection.score_id == record.id)))
    pub = db.session.scalar(select(ScorePublication).where(ScorePublication.plan_id == record.plan_id))
    return render_template("scores/score.html", score=record, history=services.score_history(current_user, record),
                           objections=objections, form=form, pub=pub, Stage=PublicationStage,
                           can_object=permissions.can(current_user, "scores.object"),
                           can_answer=permissions.can(current_user, "scores.answer"), answer_form=AnswerForm())


@bp.route("/plans/<int:plan_id>/objections")
def objections(plan_id: int):
    plan = services.get_plan(current_user, plan_id)
    state = request.args.get("state", "")
    query = services.list_objections(current_user, plan.id, state)
    return render_template("scores/objections.html", plan=plan, page=paginate(query), state=state,
                           states=list(ObjectionState), answer_form=AnswerForm(),
                           can_answer=permissions.can(current_user, "scores.answer"))


@bp.route("/objections/<int:objection_id>/answer", methods=["POST"])
@service_view
def answer(objection_id: int):
    form = AnswerForm()
    if form.validate_on_submit():
        objection = services.answer_objection(current_user, objection_id, form.answer.data, change=form.change.data,
                                              score=form.score.data, absent=form.absent.data,
                                              violation=form.violation.data)
        db.session.commit()
        flash("已答复异议" + ("，成绩已更正。" if form.change.data else "。"), "success")
        return redirect(request.referrer or url_for("scores.objections", plan_id=objection.plan_id))
    flash("；".join(e for errors in form.errors.values() for e in errors) or "请检查填写内容", "danger")
    return redirect(request.referrer or url_for("scores.index"))


from . import views_public  # noqa: E402,F401  (statistics, the candidate's scores, the public lookup)
