"""The audit log page, scoped to the user's own scope, and its export."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...extensions import db
from .. import audit, jobs
from ..forms import ConfirmForm
from ..web import paginate

bp = Blueprint("audit", __name__, url_prefix="/audit")

FILTERS = ("action", "entity_type", "actor_q", "date_from", "date_to")


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        flash(f"日期「{value}」格式应为 年-月-日，已忽略。", "warning")
        return None


def _filters(source) -> dict:
    return {
        "action": source.get("action", ""), "entity_type": source.get("entity_type", ""),
        "actor_q": source.get("actor_q", ""),
        "date_from": _date(source.get("date_from")), "date_to": _date(source.get("date_to")),
    }


@bp.route("/")
def index():
    query = audit.list_entries(current_user, **_filters(request.args))
    return render_template("audit/index.html", page=paginate(query),
                           actions=audit.action_choices(current_user, request.args.get("action", "")),
                           entities=audit.ENTITY_LABELS, changes=audit.changes,
                           export_form=ConfirmForm())


@bp.route("/export", methods=["POST"])
def export():
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("audit.index"))
    filters = _filters(request.form)
    audit.list_entries(current_user, **filters)  # the permission check, before queueing
    params = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items()}
    job = jobs.submit(current_user, "audit_export", params)
    db.session.commit()
    jobs.dispatch(job)
    return redirect(url_for("jobs.show", job_id=job.id))
