"""Master data pages: thin; each parses a request, calls one service and renders."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..core import permissions
from ..core.forms import ConfirmForm, opts
from ..core.web import choice_arg, commit_or_flash, int_arg, paginate, service_view
from ..extensions import db
from . import services
from .forms import CertificateForm, CityForm, LevelForm, MajorForm, ProvinceForm, SchoolForm
from .models import Certificate, City, Major, Province, School, SchoolType

bp = Blueprint("catalog", __name__, url_prefix="/catalog")


def _form_data(form) -> dict:
    return {name: field.data for name, field in form._fields.items() if name not in ("submit", "csrf_token")}


def _province_choices(form) -> None:
    form.province_id.choices = opts([("", "请选择")] + [(p.id, p.name) for p in services.provinces()])


# ---- provinces and cities ------------------------------------------------------------

@bp.route("/provinces")
def provinces():
    permissions.require(current_user, "catalog.manage_places")
    province_id = int_arg("province_id")
    return render_template("catalog/provinces.html", provinces=services.provinces(),
                           cities=services.cities(province_id), province_id=province_id)


@bp.route("/provinces/new", methods=["GET", "POST"])
@bp.route("/provinces/<int:province_id>", methods=["GET", "POST"])
def province_form(province_id: int | None = None):
    permissions.require(current_user, "catalog.manage_places")
    province = permissions.get_for(current_user, Province, province_id) if province_id else None
    form = ProvinceForm(obj=province)
    if form.validate_on_submit():
        _, ok = commit_or_flash(services.save_province, current_user, _form_data(form), province_id, form=form)
        if ok:
            flash("省份已保存。", "success")
            return redirect(url_for("catalog.provinces"))
    return render_template("form.html", form=form, title="编辑省份" if province else "新增省份",
                           back=url_for("catalog.provinces"))


@bp.route("/cities/new", methods=["GET", "POST"])
@bp.route("/cities/<int:city_id>", methods=["GET", "POST"])
def city_form(city_id: int | None = None):
    permissions.require(current_user, "catalog.manage_places")
    city = permissions.get_for(current_user, City, city_id) if city_id else None
    form = CityForm(obj=city)
    _province_choices(form)
    if request.method == "GET" and not city and int_arg("province_id"):
        form.province_id.data = int_arg("province_id")
    if form.validate_on_submit():
        saved, ok = commit_or_flash(services.save_city, current_user, _form_data(form), city_id, form=form)
        if ok:
            flash("地市已保存。", "success")
            return redirect(url_for("catalog.provinces", province_id=saved.province_id))
    return render_template("form.html", form=form, title="编辑地市" if city else "新增地市",
                           back=url_for("catalog.provinces"))


# ---- schools ---------------------------------------------------------------------------

@bp.route("/schools")
def schools():
    query = services.list_schools(current_user, q=request.args.get("q", ""),
                                  province_id=int_arg("province_id"),
                                  school_type=choice_arg("type", SchoolType))
    return render_template("catalog/schools.html", page=paginate(query), provinces=services.provinces(),
                           types=list(SchoolType),
                           can_edit=permissions.can(current_user, "catalog.manage_places"))


@bp.route("/schools/new", methods=["GET", "POST"])
@bp.route("/schools/<int:school_id>", methods=["GET", "POST"])
def school_form(school_id: int | None = None):
    permissions.require(current_user, "catalog.manage_places")
    school = permissions.get_for(current_user, School, school_id) if school_id else None
    form = SchoolForm(obj=school)
    _province_choices(form)
    form.city_id.choices = opts([("", "（无）")] + [(c.id, f"{c.province.name} {c.name}")
                                                   for c in services.cities()])
    if form.validate_on_submit():
        _, ok = commit_or_flash(services.save_school, current_user, _form_data(form), school_id, form=form)
        if ok:
            flash("院校已保存。", "success")
            return redirect(url_for("catalog.schools"))
    return render_template("form.html", form=form, title="编辑院校" if school else "新增院校",
                           back=url_for("catalog.schools"))


# ---- majors ----------------------------------------------------------------------------

@bp.route("/majors")
def majors():
    query = services.list_majors(current_user, q=request.args.get("q", ""),
                                 school_type=choice_arg("school_type", SchoolType),
                                 version=request.args.get("version", ""))
    versions = sorted(set(db.session.scalars(db.select(Major.catalogue_version).distinct())))
    return render_template("catalog/majors.html", page=paginate(query), types=list(SchoolType),
                           versions=versions, can_edit=permissions.can(current_user, "catalog.manage_places"))


@bp.route("/majors/new", methods=["GET", "POST"])
@bp.route("/majors/<int:major_id>", methods=["GET", "POST"])
def major_form(major_id: int | None = None):
    permissions.require(current_user, "catalog.manage_places")
    major = permissions.get_for(current_user, Major, major_id) if major_id else None
    form = MajorForm(obj=major)
    if form.validate_on_submit():
        _, ok = commit_or_flash(services.save_major, current_user, _form_data(form), major_id, form=form)
        if ok:
            flash("专业已保存。", "success")
            return redirect(url_for("catalog.majors"))
    return render_template("form.html", form=form, title="编辑专业" if major else "新增专业",
                           back=url_for("catalog.majors"))


# ---- certificates ----------------------------------------------------------------------

@bp.route("/certificates")
def certificates():
    rows = db.session.scalars(services.list_certificates(current_user)).all()
    return render_template("catalog/certificates.html", certificates=rows, confirm=ConfirmForm(),
                           can_edit=permissions.can(current_user, "catalog.manage_certificates"))


@bp.route("/certificates/new", methods=["GET", "POST"])
@bp.route("/certificates/<int:certificate_id>", methods=["GET", "POST"])
def certificate_form(certificate_id: int | None = None):
    permissions.require(current_user, "catalog.manage_certificates")
    certificate = permissions.get_for(current_user, Certificate, certificate_id) if certificate_id else None
    form = CertificateForm(obj=certificate)
    level_form = LevelForm(prefix="lv")
    if form.validate_on_submit():
        saved, ok = commit_or_flash(services.save_certificate, current_user, _form_data(form), certificate_id,
                                    form=form)
        if ok:
            flash("证书已保存。", "success")
            return redirect(url_for("catalog.certificate_form", certificate_id=saved.id))
    return render_template("catalog/certificate.html", form=form, level_form=level_form,
                           certificate=certificate, confirm=ConfirmForm())


@bp.route("/certificates/<int:certificate_id>/levels", methods=["POST"])
@service_view
def add_level(certificate_id: int):
    form = LevelForm(prefix="lv")
    if form.validate_on_submit():
        services.add_level(current_user, certificate_id, form.level.data, form.description.data or "")
        db.session.commit()
        flash("等级已添加。", "success")
    return redirect(url_for("catalog.certificate_form", certificate_id=certificate_id))


@bp.route("/certificates/<int:certificate_id>/state", methods=["POST"])
@service_view
def set_certificate_state(certificate_id: int):
    if ConfirmForm().validate_on_submit():
        enabled = request.form.get("enabled") == "1"
        certificate = services.set_certificate_enabled(current_user, certificate_id, enabled)
        db.session.commit()
        flash(f"证书「{certificate.name}」已{'启用' if enabled else '停用'}。", "success")
    return redirect(url_for("catalog.certificates"))
