"""The home page of each role: what waits for the user, the yearly workflow, recent activity."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from ..core import audit, job_liveness, jobs, permissions, todo
from ..core.nav import home_endpoint, workflow_steps
from ..core.roles import Role
from ..extensions import db

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def index():
    if current_user.role == Role.PROCTOR:  # a proctor's account exists for check-in only
        return redirect(url_for("tickets.checkin_index"))
    if home_endpoint(current_user) != "dashboard.index":  # a candidate's home is the portal
        return redirect(url_for(home_endpoint(current_user)))
    recent = []
    if permissions.can(current_user, "audit.view"):
        recent = db.session.scalars(audit.list_entries(current_user).limit(8)).all()
    my_jobs = []
    if permissions.can(current_user, "jobs.view"):  # a proctor has no jobs
        my_jobs = db.session.scalars(jobs.list_jobs(current_user).limit(5)).all()
        job_liveness.reap_shown(my_jobs)
    return render_template("dashboard/index.html", steps=workflow_steps(current_user), recent=recent, jobs=my_jobs,
                           todos=todo.todos_for(current_user))
