"""Seat scheduling, seat plans, proctors and their assignments (thin: parse, call a service, render)."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..core import idcard, permissions
from ..core.forms import ConfirmForm, opts
from ..core.web import commit_or_flash, int_arg, paginate, service_view
from ..exams.services import plans as exam_plans
from ..extensions import db
from .forms import ProctorForm
from .services import proctors, seats
from .services.seats import ShortfallError

bp = Blueprint("scheduling", __name__, url_prefix="/scheduling")


# ---- scheduling ------------------------------------------------------------------------------

@bp.route("/")
def index():
    """Choose a plan; per site: paid and scheduled registrations, rooms, seats, 排考."""
    permissions.require(current_user, "scheduling.view")
    plan_id, plan, page, status = int_arg("plan_id"), None, None, []
    if plan_id:
        plan, sites = seats.plan_status(current_user, plan_id)
        page = paginate(sites)
        status = seats.site_status(plan, page.items)
    return render_template("scheduling/index.html", plan=plan, status=status, page=page,
                           plan_choices=exam_plans.published_plans(current_user), confirm=ConfirmForm(),
                           can_run=permissions.can(current_user, "scheduling.run"),
                           can_manage=permissions.can(current_user, "proctors.manage"))


@bp.route("/run", methods=["POST"])
@service_view
def run():
    permissions.require(current_user, "scheduling.run")
    plan_id, site_id = request.form.get("plan_id"), request.form.get("site_id") or None
    back = url_for("scheduling.index", plan_id=_int(plan_id))
    if not ConfirmForm().validate_on_submit():
        return redirect(back)
    try:
        result = seats.schedule(current_user, plan_id, site_id)
        db.session.commit()
    except ShortfallError as exc:
        db.session.rollback()
        flash("座位不足，未进行排考（没有任何考生被排入考场），请增加考场或座位后重新排考。", "danger")
        for short in exc.shortfall:
            flash(short.message, "danger")
        return redirect(back)
    flash(result.message, "warning" if result.nothing_to_place else "success")
    return redirect(back)


@bp.route("/plans/<int:plan_id>/sites/<int:site_id>")
def site(plan_id: int, site_id: int):
    """A site's rooms in a plan, each with its seat plan."""
    plan, site_ = seats.plan_and_site(current_user, plan_id, site_id)
    return render_template("scheduling/site.html", plan=plan, site=site_,
                           rooms=seats.site_rooms(current_user, plan.id, site_.id),
                           released=proctors.tickets_released(site_.id, plan.id),
                           missing=proctors.missing_proctors(site_.id, plan.id), need=proctors.min_proctors())


@bp.route("/rooms/<int:room_id>")
def seat_plan(room_id: int):
    """The seat plan of a room in one of its sessions, as a grid."""
    plan = seats.seat_plan(current_user, room_id, request.args.get("session_id"), request.args.get("cols"))
    return render_template("scheduling/seat_plan.html", grid=plan)


# ---- proctors --------------------------------------------------------------------------------

@bp.route("/proctors")
def proctor_list():
    query = proctors.list_proctors(current_user, request.args.get("q", ""))
    return render_template("scheduling/proctors.html", page=paginate(query), mask=idcard.mask,
                           mask_phone=idcard.mask_phone,
                           confirm=ConfirmForm(), can_manage=permissions.can(current_user, "proctors.manage"))


@bp.route("/proctors/new", methods=["GET", "POST"])
@bp.route("/proctors/<int:proctor_id>", methods=["GET", "POST"])
def proctor_form(proctor_id: int | None = None):
    permissions.require(current_user, "proctors.manage")
    proctor = proctors.get_proctor(current_user, proctor_id) if proctor_id else None
    form = ProctorForm(obj=proctor)
    if proctor is not None and request.method == "GET":
        form.id_type.data, form.role.data = proctor.id_type.value, proctor.role.value
    if form.validate_on_submit():
        data = {name: f.data for name, f in form._fields.items() if name not in ("submit", "csrf_token")}
        saved, ok = commit_or_flash(proctors.save_proctor, current_user, data, proctor_id, form=form)
        if ok:
            flash(f"监考人员「{saved.name}」已保存。", "success")
            return redirect(url_for("scheduling.proctor_list"))
    return render_template("form.html", form=form, title="编辑监考人员" if proctor else "登记监考人员",
                           back=url_for("scheduling.proctor_list"))


@bp.route("/proctors/<int:proctor_id>/account", methods=["POST"])
@service_view
def proctor_account(proctor_id: int):
    """Open a proctor's account; the first password is shown once on this page, never stored in clear."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("scheduling.proctor_list"))
    user, password = proctors.create_account(current_user, proctor_id)
    db.session.commit()
    return render_template("scheduling/account.html", user=user, password=password)


@bp.route("/proctors/<int:proctor_id>/password", methods=["POST"])
@service_view
def proctor_password(proctor_id: int):
    """A new first password for a proctor who forgot theirs; shown once on this page."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("scheduling.proctor_list"))
    user, password = proctors.reset_account_password(current_user, proctor_id)
    db.session.commit()
    return render_template("scheduling/account.html", user=user, password=password, reset=True)


@bp.route("/plans/<int:plan_id>/sites/<int:site_id>/proctors", methods=["GET", "POST"])
def assignments(plan_id: int, site_id: int):
    """Every room of each session with its proctors; POST assigns one."""
    if request.method == "POST":
        if ConfirmForm().validate_on_submit():
            _, ok = commit_or_flash(proctors.assign, current_user, request.form.get("proctor_id"),
                                    request.form.get("room_id"), request.form.get("session_id"))
            if ok:
                flash("已安排监考。", "success")
        return redirect(url_for("scheduling.assignments", plan_id=plan_id, site_id=site_id))
    plan, site_, slots = proctors.assignment_board(current_user, plan_id, site_id)
    can_manage = permissions.can(current_user, "proctors.manage")
    people = list(db.session.scalars(proctors.list_proctors(current_user, active_only=True))) if can_manage else []
    sessions = []
    for slot in slots:
        if not sessions or sessions[-1][0].id != slot.session.id:
            sessions.append((slot.session, []))
        sessions[-1][1].append(slot)
    return render_template("scheduling/assignments.html", plan=plan, site=site_, sessions=sessions,
                           people=opts([(p.id, f"{p.name}（{p.role.value}）") for p in people]),
                           confirm=ConfirmForm(), can_manage=can_manage, need=proctors.min_proctors())


@bp.route("/assignments/<int:assignment_id>/delete", methods=["POST"])
@service_view
def unassign(assignment_id: int):
    if ConfirmForm().validate_on_submit():
        proctors.unassign(current_user, assignment_id)
        db.session.commit()
        flash("已取消该监考安排。", "success")
    return redirect(request.referrer or url_for("scheduling.index"))


@bp.route("/plans/<int:plan_id>/sites/<int:site_id>/proctors.xlsx")
def export_assignments(plan_id: int, site_id: int):
    """The proctor list (监考安排表) of one session or all, as Excel."""
    data = proctors.export_proctor_list(current_user, plan_id, site_id, request.args.get("session_id"))
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=proctors.xlsx; "
                                                    "filename*=UTF-8''%E7%9B%91%E8%80%83%E5%AE%89%E6%8E%92.xlsx"})


@bp.route("/mine")
def mine():
    """A proctor's own rooms and sessions."""
    return render_template("scheduling/mine.html", assignments=proctors.my_assignments(current_user))


def _int(value) -> int | None:
    try:
        return int(value) or None
    except (TypeError, ValueError):
        return None
