"""Ticket pages: downloads for schools, room materials, the test-exam list, check-in for proctors."""
from __future__ import annotations

import io

from flask import (Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file,
                   url_for)
from flask_login import current_user
from sqlalchemy import select

from ..core import jobs, permissions
from ..core.errors import DomainError
from ..core.forms import ConfirmForm
from ..core.roles import Role
from ..core.storage import get_storage
from ..core.web import int_arg, paginate, service_view, wants_json
from ..exams.models import PLAN_ORDER, ExamPlan
from ..extensions import db
from ..scheduling.models import Seat
from ..sites.models import ExamSite
from . import checkin, services

bp = Blueprint("tickets", __name__, url_prefix="/tickets")


def _pdf(data: bytes, name: str, *, inline: bool = False):
    response = send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=not inline,
                         download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(exc: DomainError, back: str):
    db.session.rollback()
    flash(exc.message, "danger")
    return redirect(back)


# ---- schools and the org ----------------------------------------------------------------

@bp.route("/")
def index():
    """准考证与考场材料: plans with scheduled candidates, their rooms and sessions."""
    if current_user.role == Role.CANDIDATE:
        return redirect(url_for("portal.index"))
    if current_user.role == Role.PROCTOR:
        return redirect(url_for("tickets.checkin_index"))
    permissions.require(current_user, "tickets.materials")
    plans = db.session.scalars(
        select(ExamPlan).where(ExamPlan.id.in_(
            select(Seat.plan_id).where(permissions.scope_clause(current_user, Seat))))
        .order_by(*PLAN_ORDER).limit(50)).all()
    plan_id = int_arg("plan_id") or (plans[0].id if plans else None)
    plan = next((p for p in plans if p.id == plan_id), None)
    sites, rooms, page = [], [], None
    if plan is not None:
        site_id = int_arg("site_id")
        page = paginate(services.rooms_with_seats(current_user, plan.id, site_id))
        rooms = services.room_sessions(current_user, plan.id, site_id, room_ids=[r.id for r in page.items])
        if permissions.can(current_user, "tickets.download"):  # only the download forms name the sites
            sites = services.sites_with_seats(current_user, plan.id)
    return render_template("tickets/index.html", plans=plans, plan=plan, sites=sites, rooms=rooms, page=page,
                           open=plan is not None and services.in_window(plan),
                           window=services.window_text(plan) if plan else "", confirm=ConfirmForm(),
                           can_download=permissions.can(current_user, "tickets.download"),
                           can_checkin=permissions.can(current_user, "checkin.scan"))


@bp.route("/plans/<int:plan_id>/job", methods=["POST"])
@service_view
def plan_job(plan_id: int):
    """The whole plan (or one site) as one PDF, built by a background job with progress."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("tickets.index", plan_id=plan_id))
    site = request.form.get("site_id", "")
    site_id = int(site) if site.isdigit() and len(site) < 10 else None
    job = services.submit_plan_job(current_user, plan_id, site_id=site_id)
    db.session.commit()
    jobs.dispatch(job)
    flash("正在生成准考证，完成后可在本页下载。", "info")
    return redirect(url_for("jobs.show", job_id=job.id))


@bp.route("/rooms/<int:room_id>/tickets.pdf")
def room_tickets(room_id: int):
    """The tickets of one room's candidates (small enough to build in the request)."""
    from ..exams.models import ExamRoom

    room = permissions.get_for(current_user, ExamRoom, room_id)
    buffer = io.BytesIO()
    try:
        services.write_plan_tickets(current_user, room.plan_id, buffer, room_id=room.id)
        db.session.commit()
    except DomainError as exc:
        return _refused(exc, url_for("tickets.index", plan_id=room.plan_id))
    return _pdf(buffer.getvalue(), f"准考证-{room.name}.pdf")


@bp.route("/rooms/<int:room_id>/sessions/<int:session_id>/door-list.pdf")
def door_list(room_id: int, session_id: int):
    try:
        roster, data = services.door_list_pdf(current_user, room_id, session_id)
    except DomainError as exc:
        return _refused(exc, url_for("tickets.index"))
    return _pdf(data, f"考场门贴-{roster.room.name}-{roster.session.date:%m%d}{roster.session.start_time:%H%M}.pdf")


@bp.route("/rooms/<int:room_id>/sessions/<int:session_id>/sign-in.pdf")
def sign_in_sheet(room_id: int, session_id: int):
    try:
        roster, data = services.sign_in_sheet_pdf(current_user, room_id, session_id)
    except DomainError as exc:
        return _refused(exc, url_for("tickets.index"))
    return _pdf(data, f"签到表-{roster.room.name}-{roster.session.date:%m%d}{roster.session.start_time:%H%M}.pdf")


@bp.route("/plans/<int:plan_id>/test-exam.<fmt>")
def test_exam(plan_id: int, fmt: str):
    """测试考试名单 for the exam system: Excel or CSV, ID numbers masked."""
    try:
        name, data = services.test_exam_export(current_user, plan_id, int_arg("session_id"), fmt)
        db.session.commit()
    except DomainError as exc:
        return _refused(exc, url_for("tickets.index", plan_id=plan_id))
    mimetype = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


# ---- candidates -------------------------------------------------------------------------

@bp.route("/mine/<int:registration_id>.pdf")
def candidate_ticket(registration_id: int):
    """A candidate's own ticket (inside the download window)."""
    if current_user.role != Role.CANDIDATE:
        abort(404)
    try:
        ticket, data = services.candidate_ticket(current_user, registration_id)
        db.session.commit()
    except DomainError as exc:
        return _refused(exc, url_for("portal.index"))
    return _pdf(data, f"准考证-{ticket.ticket_number}.pdf")


# ---- check-in ---------------------------------------------------------------------------

@bp.route("/checkin")
def checkin_index():
    """The proctor's rooms and sessions (a school user: its rooms of today and later)."""
    return render_template("tickets/checkin_index.html", stations=checkin.stations(current_user))


@bp.route("/checkin/<int:room_id>/<int:session_id>", methods=["GET", "POST"])
def checkin_page(room_id: int, session_id: int):
    """The phone page: scan with the camera, or type the ticket number; POST records the arrival."""
    place = checkin.station(current_user, room_id, session_id)
    result, error = None, None
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        try:
            result = checkin.check_in(current_user, room_id, session_id, token=request.form.get("token"),
                                      ticket_number=request.form.get("ticket_number"))
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            error = exc.message
        if wants_json():
            if error:
                return jsonify(status="refused", message=error), 422
            photo = url_for("tickets.checkin_photo", room_id=room_id, session_id=session_id,
                            seat_id=result.seat.id) if result.candidate.photo_key else None
            return jsonify(result.as_json(photo))
    place, seats = checkin.roll(current_user, room_id, session_id)
    return render_template("tickets/checkin.html", place=place, seats=seats, result=result, error=error,
                           roster_hidden=checkin.roster_hidden(current_user, place),
                           form=ConfirmForm(), checked=sum(1 for s, _, _ in seats if s.checked_in_at))


@bp.route("/checkin/<int:room_id>/<int:session_id>/photo/<int:seat_id>")
def checkin_photo(room_id: int, session_id: int, seat_id: int):
    """A candidate's photo for comparison at the door, only for the proctor of that room and session."""
    place = checkin.station(current_user, room_id, session_id)
    if checkin.roster_hidden(current_user, place):
        abort(404)
    seat = db.session.get(Seat, seat_id)
    if seat is None or seat.room_id != place.room.id or seat.session_id != place.session.id:
        abort(404)
    key = seat.registration.candidate.photo_key
    if not key or not get_storage().exists(key):
        abort(404)
    response = send_file(get_storage().path(key), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/checkin/<int:room_id>/<int:session_id>/absent", methods=["POST"])
@service_view
def mark_absent(room_id: int, session_id: int):
    if ConfirmForm().validate_on_submit():
        count = checkin.mark_absent(current_user, room_id, session_id)
        db.session.commit()
        flash(f"已将 {count} 名未签到的考生标记为缺考。", "success")
    return redirect(url_for("tickets.checkin_page", room_id=room_id, session_id=session_id))

