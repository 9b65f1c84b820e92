"""Statistics pages, the candidate's own scores and the public score lookup (thin views).

Routes on the scores blueprint; `views.py` imports this module at its end.
"""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired

from ..core import svg
from ..core.clock import now
from ..core.errors import DomainError
from ..core.forms import BaseForm
from ..core.web import public
from ..extensions import limiter
from . import lookup as lookup_service, mine as mine_service, stats as stats_service
from .views import bp

#: the most rows of one grouping drawn as a chart and listed on the page; the export has all
CHART_ROWS = 30
#: below this pass rate (percent) a bar is drawn in red
LOW_RATE = 60.0


# ---- statistics ------------------------------------------------------------------------------

@bp.route("/stats")
def stats_index():
    """The plans whose statistics the user may open."""
    return render_template("scores/stats_index.html", plans=stats_service.stats_plans(current_user))


@bp.route("/stats/<int:plan_id>")
def stats(plan_id: int):
    """Pass rates by level, subject, site, school, province and major; score distributions."""
    try:
        figures = stats_service.plan_stats(current_user, plan_id)
    except DomainError as exc:
        flash(exc.message, "warning")
        return redirect(url_for("scores.stats_index"))
    shown = {key: _largest(rows) for key, _title, rows in figures.groupings}
    charts = {key: svg.hbar_chart([svg.Bar(r.label, r.rate, f"{r.passed}/{r.passed + r.failed}") for r in shown[key]],
                                  title=f"按{title}统计合格率", low=LOW_RATE, testid=f"chart-{key}")
              for key, title, _rows in figures.groupings}
    charts["subject"] = svg.hbar_chart(
        [svg.Bar(s.label, s.rate, f"{s.passed}/{s.entered}") for s in figures.by_subject],
        title="按科目统计合格率", low=LOW_RATE, testid="chart-subject")
    distributions = [
        (s, svg.histogram(s.buckets, s.bucket_labels, title=f"{s.label} 成绩分布（满分 {s.full_mark}）",
                          marker=s.pass_mark / s.full_mark if s.full_mark else None,
                          marker_label=f"合格线 {s.pass_mark}", testid=f"distribution-{s.subject_id}"))
        for s in figures.by_subject]
    return render_template("scores/stats_plan.html", stats=figures, charts=charts, shown=shown,
                           distributions=distributions, limit=CHART_ROWS)


def _largest(rows: list[stats_service.RateRow]) -> list[stats_service.RateRow]:
    """The groups with the most results, in their order (a national plan has thousands of schools)."""
    if len(rows) <= CHART_ROWS:
        return rows
    keep = {id(r) for r in sorted(rows, key=lambda r: -r.total)[:CHART_ROWS]}
    return [r for r in rows if id(r) in keep]


@bp.route("/stats/<int:plan_id>.xlsx")
def stats_export(plan_id: int):
    try:
        figures = stats_service.plan_stats(current_user, plan_id)
    except DomainError as exc:
        flash(exc.message, "warning")
        return redirect(url_for("scores.stats_index"))
    return send_file(stats_service.export_stats(figures), as_attachment=True,
                     download_name=f"成绩统计_{figures.plan.id}_{now():%Y%m%d}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# ---- the candidate's own scores -------------------------------------------------------------------

@bp.route("/mine")
def mine():
    """The signed-in candidate's scores and results, from the display period on."""
    return render_template("scores/mine.html", results=mine_service.my_results(current_user))


# ---- the public lookup -------------------------------------------------------------------

class LookupForm(BaseForm):
    # No length or format validators: a malformed number answers the same 未找到 as a wrong
    # one (the service bounds the length before any work).
    id_number = StringField("身份证件号码", validators=[DataRequired("请输入身份证件号码")])
    ticket_number = StringField("准考证号", validators=[DataRequired("请输入准考证号")])
    submit = SubmitField("查询")


def _lookup_limit() -> str:
    return current_app.config["SCORE_LOOKUP_RATE_LIMIT"]


@bp.route("/lookup", methods=["GET", "POST"])
@public
@limiter.limit(_lookup_limit, methods=["POST"])
def lookup():
    """成绩查询 by ID number and ticket number, both in the POST body; only final results."""
    form = LookupForm()
    answer, asked = None, False
    if form.validate_on_submit():
        asked = True
        answer = lookup_service.lookup_score(form.id_number.data, form.ticket_number.data)
        form.id_number.data = ""  # never echoed back into the page
    return render_template("scores/lookup.html", form=form, answer=answer, asked=asked)


@bp.after_request
def _no_store(response):
    # The lookup answers personal data to anonymous users: never kept by a browser or a proxy
    # (signed-in pages get this from core.web already). Also on the 429 of the rate limit.
    if request.endpoint == "scores.lookup":
        response.headers["Cache-Control"] = "no-store"
    return response

