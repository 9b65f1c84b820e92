"""Exam pages: subjects and plans (the org; read-only for schools) and rooms (schools)."""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..catalog import services as catalog
from ..catalog.models import Certificate, Level
from ..core import audit, permissions
from ..core.forms import ConfirmForm, opts
from ..core.web import choice_arg, commit_or_flash, int_arg, paginate, service_view
from ..extensions import db
from ..sites import services as sites
from .forms import PlanForm, RoomForm, SessionForm, SubjectForm
from .models import ExamPlan, Subject
from .services import plans, rooms
from .services.plans import FEE_FIELDS
from .states import EXAM_PLAN, PlanState

bp = Blueprint("exams", __name__, url_prefix="/exams")


def _form_data(form) -> dict:
    return {name: field.data for name, field in form._fields.items() if name not in ("submit", "csrf_token")}


def _certificates() -> list[Certificate]:
    return list(db.session.scalars(catalog.list_certificates(current_user)))


# ---- subjects ---------------------------------------------------------------------------

@bp.route("/subjects")
def subjects():
    query = plans.list_subjects(current_user, certificate_id=int_arg("certificate_id"))
    return render_template("exams/subjects.html", subjects=db.session.scalars(query).all(),
                           confirm=ConfirmForm(), can_edit=permissions.can(current_user, "exams.manage"))


@bp.route("/subjects/new", methods=["GET", "POST"])
@bp.route("/subjects/<int:subject_id>", methods=["GET", "POST"])
def subject_form(subject_id: int | None = None):
    permissions.require(current_user, "exams.manage")
    subject = permissions.get_for(current_user, Subject, subject_id) if subject_id else None
    form = SubjectForm(obj=subject)
    form.certificate_level_id.choices = opts(
        [("", "请选择")] + [(lv.id, lv.label) for c in _certificates() for lv in c.levels])
    if form.validate_on_submit():
        _, ok = commit_or_flash(plans.save_subject, current_user, _form_data(form), subject_id, form=form)
        if ok:
            flash("考试科目已保存。", "success")
            return redirect(url_for("exams.subjects"))
    return render_template("form.html", form=form, title="编辑考试科目" if subject else "新增考试科目",
                           back=url_for("exams.subjects"))


@bp.route("/subjects/<int:subject_id>/delete", methods=["POST"])
@service_view
def delete_subject(subject_id: int):
    if ConfirmForm().validate_on_submit():
        plans.delete_subject(current_user, subject_id)
        db.session.commit()
        flash("考试科目已删除。", "success")
    return redirect(url_for("exams.subjects"))


# ---- plans ------------------------------------------------------------------------------

@bp.route("/plans", endpoint="plans")
def plan_list():
    args = request.args
    query = plans.list_plans(current_user, state=choice_arg("state", PlanState), certificate_id=int_arg("certificate_id"),
                             q=args.get("q", ""))
    return render_template("exams/plans.html", page=paginate(query), states=list(PlanState),
                           can_edit=permissions.can(current_user, "exams.manage"))


def _plan_form(plan: ExamPlan | None) -> PlanForm:
    form = PlanForm(obj=plan)
    form.certificate_id.choices = opts([("", "请选择")] + [(c.id, c.name) for c in _certificates()
                                                         if c.enabled or (plan and c.id == plan.certificate_id)])
    if plan is not None and request.method == "GET":
        for level, field in FEE_FIELDS.items():
            amount = plan.fee_for(level)
            form[field].data = f"{amount:.2f}" if amount is not None else ""
    return form


@bp.route("/plans/new", methods=["GET", "POST"])
@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
def plan_form(plan_id: int | None = None):
    permissions.require(current_user, "exams.manage")
    plan = plans.get_plan(current_user, plan_id) if plan_id else None
    form = _plan_form(plan)
    locks = {FEE_FIELDS[level]: why for level, why in plans.fee_locks(current_user, plan).items()}
    if form.validate_on_submit():
        warnings: list[str] = []
        saved, ok = commit_or_flash(plans.save_plan, current_user, _form_data(form), plan_id, warnings, form=form)
        if ok:
            flash("考试计划已保存。" + ("" if plan else "请添加考试场次，然后发布。"), "success")
            for warning in warnings:
                flash(f"提醒：{warning}", "warning")
            return redirect(url_for("exams.plan", plan_id=saved.id))
    return render_template("exams/plan_form.html", form=form, plan=plan, locks=locks)


@bp.route("/plans/<int:plan_id>", methods=["GET", "POST"])
def plan(plan_id: int):
    """A plan's page; the org adds sessions to a draft here (POST)."""
    record = plans.get_plan(current_user, plan_id)
    form = SessionForm()
    form.subject_id.choices = opts([("", "请选择")] + [
        (s.id, s.label) for s in db.session.scalars(plans.list_subjects(current_user, record.certificate_id))])
    if request.method == "POST":
        permissions.require(current_user, "exams.manage")
        if form.validate_on_submit():
            warnings: list[str] = []
            _, ok = commit_or_flash(plans.add_session, current_user, plan_id, _form_data(form), warnings, form=form)
            if ok:
                flash("已添加考试场次。", "success")
                for warning in warnings:
                    flash(f"提醒：{warning}", "warning")
                return redirect(url_for("exams.plan", plan_id=plan_id))
    return render_template("exams/plan.html", plan=record, form=form, confirm=ConfirmForm(), levels=list(Level),
                           actions=EXAM_PLAN.actions_for(record, current_user),
                           can_edit=permissions.can(current_user, "exams.manage"),
                           history=audit.history(record) if permissions.can(current_user, "exams.manage") else [])


@bp.route("/plans/<int:plan_id>/sessions/<int:session_id>/delete", methods=["POST"])
@service_view
def delete_session(plan_id: int, session_id: int):
    if ConfirmForm().validate_on_submit():
        plans.delete_session(current_user, plan_id, session_id)
        db.session.commit()
        flash("已删除考试场次。", "success")
    return redirect(url_for("exams.plan", plan_id=plan_id))


@bp.route("/plans/<int:plan_id>/publish", methods=["POST"])
@service_view
def publish(plan_id: int):
    if ConfirmForm().validate_on_submit():
        record = plans.publish_plan(current_user, plan_id)
        db.session.commit()
        flash(f"考试计划「{record.name}」已发布，院校现在可以看到它。", "success")
    return redirect(url_for("exams.plan", plan_id=plan_id))


@bp.route("/plans/<int:plan_id>/withdraw", methods=["POST"])
@service_view
def withdraw(plan_id: int):
    if ConfirmForm().validate_on_submit():
        record = plans.withdraw_plan(current_user, plan_id)
        db.session.commit()
        flash(f"考试计划「{record.name}」已撤回为草稿。", "warning")
    return redirect(url_for("exams.plan", plan_id=plan_id))


# ---- rooms ------------------------------------------------------------------------------

@bp.route("/rooms", endpoint="rooms")
def room_list():
    plan_id, site_id = int_arg("plan_id"), int_arg("site_id")
    query = rooms.list_rooms(current_user, plan_id=plan_id, site_id=site_id, q=request.args.get("q", ""))
    summary = rooms.seat_summary(current_user, plan_id, site_id) if plan_id else None
    return render_template("exams/rooms.html", page=paginate(query), summary=summary,
                           plan_choices=plans.published_plans(current_user),
                           site_choices=sites.usable_sites(current_user) if permissions.can(
                               current_user, "exams.rooms_manage") else [],
                           confirm=ConfirmForm(), can_edit=permissions.can(current_user, "exams.rooms_manage"))



@bp.route("/rooms/new", methods=["GET", "POST"])
@bp.route("/rooms/<int:room_id>", methods=["GET", "POST"])
def room_form(room_id: int | None = None):
    """Plan, site, subject, name and seats on one page: room_form.js fills the site and
    subject lists as the plan and site change (from room_options); ?plan_id=&site_id=
    preselect them."""
    permissions.require(current_user, "exams.rooms_manage")
    room = rooms.get_room(current_user, room_id) if room_id else None
    form = RoomForm(obj=room)
    if room is not None:
        plan_id, site_id = room.plan_id, room.site_id
    elif request.method == "POST":
        plan_id, site_id = _int(form.plan_id.data), _int(form.site_id.data)
    else:
        plan_id, site_id = int_arg("plan_id"), int_arg("site_id")
    choices = rooms.room_form_choices(current_user, plan_id, site_id)
    form.plan_id.data, form.site_id.data = plan_id or "", site_id or ""
    subjects = choices["subjects"]
    if room is not None and room.subject not in subjects:
        subjects = [room.subject, *subjects]
    form.subject_id.choices = opts([("", "请选择")] + [(s.id, _subject_label(s)) for s in subjects])
    if room is None and request.method == "GET" and len(subjects) == 1:
        form.subject_id.data = subjects[0].id
    if form.validate_on_submit():
        saved, ok = commit_or_flash(rooms.save_room, current_user, _form_data(form), room_id, form=form)
        if ok:
            flash(f"考场「{saved.name}」已保存。", "success")
            return redirect(url_for("exams.rooms", plan_id=saved.plan_id, site_id=saved.site_id))
    return render_template("exams/room_form.html", form=form, room=room, **choices)


@bp.route("/rooms/options.json")
def room_options():
    """The sites of a plan and the subjects of a plan at a site, for the room form's lists."""
    choices = rooms.room_form_choices(current_user, int_arg("plan_id"), int_arg("site_id"))
    return jsonify(
        sites=[{"id": s.id, "name": s.name} for s in choices["sites"]],
        subjects=[{"id": s.id, "label": _subject_label(s)} for s in choices["subjects"]],
        message=(f"本校没有{choices['plan'].certificate.name}的审核通过且未停用的考核站点，不能设置考场。"
                 if choices["plan"] and not choices["sites"] else
                 f"该计划没有{choices['site'].certificate_level.label}的考试场次。"
                 if choices["site"] and not choices["subjects"] else ""))


def _subject_label(subject: Subject) -> str:
    return f"{subject.name}（{subject.mode.value} · {subject.room_type.value}）"


def _int(value) -> int | None:
    try:
        return int(value) or None
    except (TypeError, ValueError):
        return None


@bp.route("/rooms/<int:room_id>/delete", methods=["POST"])
@service_view
def delete_room(room_id: int):
    room = rooms.get_room(current_user, room_id)
    back = url_for("exams.rooms", plan_id=room.plan_id, site_id=room.site_id)
    if ConfirmForm().validate_on_submit():
        name = room.name
        rooms.delete_room(current_user, room_id)
        db.session.commit()
        flash(f"考场「{name}」已删除。", "success")
    return redirect(back)
