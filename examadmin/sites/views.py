"""Exam-site pages: a school's applications, the org's review queue, one site's page."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..catalog import services as catalog
from ..core import audit, permissions
from ..core.forms import ConfirmForm, opts
from ..core.web import choice_arg, commit_or_flash, int_arg, paginate, service_view
from ..extensions import db
from . import services
from .forms import ReasonForm, SiteForm
from .models import FACILITIES, REQUIRED_FOR_COMPUTER_EXAMS
from .states import EXAM_SITE, SiteState

bp = Blueprint("sites", __name__, url_prefix="/sites")


def _form_data(form) -> dict:
    return {name: field.data for name, field in form._fields.items() if name not in ("submit", "csrf_token")}


def _level_choices(form: SiteForm) -> None:
    form.certificate_level_id.choices = opts(
        [("", "请选择")] + [(lv.id, lv.label) for lv in services.levels_open_for_application()])


@bp.route("/")
def index():
    args = request.args
    query = services.list_sites(current_user, state=choice_arg("state", SiteState), province_id=int_arg("province_id"),
                                certificate_level_id=int_arg("level_id"), q=args.get("q", ""))
    return render_template("sites/index.html", page=paginate(query), counts=services.count_by_state(current_user),
                           states=list(SiteState), provinces=catalog.provinces(),
                           levels=services.levels_open_for_application(),
                           can_apply=permissions.can(current_user, "sites.apply"),
                           can_review=permissions.can(current_user, "sites.review"))


@bp.route("/new", methods=["GET", "POST"])
def apply():
    permissions.require(current_user, "sites.apply")
    form = SiteForm()
    _level_choices(form)
    if form.validate_on_submit():
        site, ok = commit_or_flash(services.apply_site, current_user, _form_data(form), form=form)
        if ok:
            flash(f"已提交考核站点申报「{site.name}」，请等待评价组织审核。", "success")
            return redirect(url_for("sites.show", site_id=site.id))
    return render_template("sites/form.html", form=form, site=None, facilities=FACILITIES,
                           required=REQUIRED_FOR_COMPUTER_EXAMS)


@bp.route("/<int:site_id>/edit", methods=["GET", "POST"])
def edit(site_id: int):
    permissions.require(current_user, "sites.apply")
    site = services.get_site(current_user, site_id)
    form = SiteForm(obj=site)
    _level_choices(form)
    form.certificate_level_id.data = site.certificate_level_id  # fixed after the application
    resubmits = site.state == SiteState.REJECTED
    form.submit.label.text = "保存并重新提交" if resubmits else "保存"
    if form.validate_on_submit():
        _, ok = commit_or_flash(services.update_site, current_user, site_id, _form_data(form), form=form)
        if ok:
            flash("已修改并重新提交，请等待评价组织审核。" if resubmits else "已保存。", "success")
            return redirect(url_for("sites.show", site_id=site_id))
    return render_template("sites/form.html", form=form, site=site, facilities=FACILITIES,
                           required=REQUIRED_FOR_COMPUTER_EXAMS)


@bp.route("/<int:site_id>")
def show(site_id: int):
    site = services.get_site(current_user, site_id)
    actions = EXAM_SITE.actions_for(site, current_user)
    impact = services.disable_impact(current_user, site_id) if "disable" in actions else []
    return render_template("sites/show.html", site=site, history=audit.history(site),
                           actions=actions, impact=impact, reason_form=ReasonForm(),
                           confirm=ConfirmForm(), facilities=FACILITIES,
                           can_edit=permissions.can(current_user, "sites.apply")
                           and site.state in (SiteState.PENDING, SiteState.REJECTED))


@bp.route("/<int:site_id>/approve", methods=["POST"])
@service_view
def approve(site_id: int):
    if ConfirmForm().validate_on_submit():
        site = services.approve_site(current_user, site_id)
        db.session.commit()
        flash(f"考核站点「{site.name}」已审核通过。", "success")
    return redirect(url_for("sites.show", site_id=site_id))


@bp.route("/<int:site_id>/reject", methods=["POST"])
@service_view
def reject(site_id: int):
    site = services.reject_site(current_user, site_id, request.form.get("reason"))
    db.session.commit()
    flash(f"考核站点「{site.name}」已驳回。", "warning")
    return redirect(url_for("sites.show", site_id=site_id))


@bp.route("/<int:site_id>/disable", methods=["POST"])
@service_view
def disable(site_id: int):
    site = services.disable_site(current_user, site_id, request.form.get("reason"))
    stranded = sum(row["registrations"] for row in services.disable_impact(current_user, site_id))
    db.session.commit()
    flash(f"考核站点「{site.name}」已停用。" + (
        f"该站点仍有 {stranded} 人的报考无法排考，已列入院校和评价组织的待办「站点已停用的报考」。"
        if stranded else ""), "warning")
    return redirect(url_for("sites.show", site_id=site_id))


@bp.route("/<int:site_id>/enable", methods=["POST"])
@service_view
def enable(site_id: int):
    if ConfirmForm().validate_on_submit():
        site = services.enable_site(current_user, site_id)
        waiting = sum(row["registrations"] for row in services.disable_impact(current_user, site_id))
        db.session.commit()
        flash(f"考核站点「{site.name}」已启用。" + (f"该站点 {waiting} 人的报考可以继续缴费、排考。" if waiting else ""),
              "success")
    return redirect(url_for("sites.show", site_id=site_id))
