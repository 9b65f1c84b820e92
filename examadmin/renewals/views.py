"""Re-registration pages: the holder's (再登记, 我的申请), the reviewers', figures, policies and the outbox."""
from __future__ import annotations

import io
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from ..core import idcard, permissions
from ..core.errors import DomainError
from ..core.forms import ConfirmForm
from ..core.roles import Role
from ..core.svg import Bar, hbar_chart
from ..core.web import choice_arg, paginate, service_view
from ..extensions import db
from ..registrations import outcomes as registration_outcomes
from . import pdf, reminders, services, stats
from .models import RenewalApplication
from .states import EDITABLE, RENEWAL, RenewalState, Validity
from .validity import cycle, cycles

bp = Blueprint("renewals", __name__, url_prefix="/renewals")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


INDEX_FILTERS = ("state", "school", "city", "level")


@bp.route("/", methods=["GET", "POST"])
def index():
    """持证后管理: the holder's certificates, or the applications in the staff member's scope."""
    from sqlalchemy import select

    from ..catalog.models import Certificate, CertificateLevel, City, School
    from ..core.todo import count_in_scope
    from ..core.web import int_arg, posted_search, search_text

    if current_user.role == Role.CANDIDATE:
        return redirect(url_for("renewals.mine"))
    if request.method == "POST":  # the search text (an ID number perhaps) never goes into the URL
        return posted_search("renewals.index", INDEX_FILTERS)
    states = services.visible_states(current_user)
    state = choice_arg("state", [s.value for s in states])
    q = search_text("renewals.index")
    filters = {"school_id": int_arg("school"), "city_id": int_arg("city"), "level_id": int_arg("level")}
    page = paginate(services.list_applications(current_user, state=state, q=q, **filters))
    counts = {s: count_in_scope(current_user, RenewalApplication, RenewalApplication.state == s) for s in states}
    # a school sees only its own: no 地市 or 院校 to choose (nor a city its one city)
    schools = [] if current_user.role == Role.SCHOOL else db.session.scalars(
        permissions.scoped(current_user, select(School)).order_by(School.name).limit(500)).all()
    cities = [] if current_user.role in (Role.CITY, Role.SCHOOL) else db.session.scalars(
        select(City).where(City.id.in_({s.city_id for s in schools if s.city_id})).order_by(City.code)).all()
    levels = db.session.scalars(select(CertificateLevel).join(Certificate)
                                .order_by(Certificate.name, CertificateLevel.rank)).all()
    return render_template("renewals/index.html", page=page, state=state, states=states, counts=counts,
                           mask=idcard.mask, q=q, filters=filters, schools=schools, cities=cities, levels=levels,
                           confirm=ConfirmForm())


@bp.route("/mine", methods=["GET", "POST"])
def mine():
    """再登记: the holder's certificates with validity, 我的申请 / 审核进度, notices and the reminder e-mail."""
    permissions.require(current_user, "renewals.apply")
    if request.method == "POST":
        if ConfirmForm().validate_on_submit():
            try:
                reminders.save_contact(current_user, request.form.get("email", "")[:300])
                db.session.commit()
                flash("提醒邮箱已保存。", "success")
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
        return redirect(url_for("renewals.mine"))
    return render_template("renewals/mine.html", certificates=services.my_certificates(current_user),
                           applications=services.my_applications(current_user),
                           notices=reminders.notices(current_user), notice_text=reminders.notice_text, email=reminders.contact_of(current_user),
                           confirm=ConfirmForm())


@bp.route("/certificates/<int:record_id>/apply", methods=["GET", "POST"])
def apply(record_id: int):
    """The holder's view before applying (data, registrations, hours) and the start of an application."""
    permissions.require(current_user, "renewals.apply")
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            return redirect(url_for("renewals.apply", record_id=record_id))
        try:
            application = services.create_application(current_user, record_id)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return redirect(url_for("renewals.apply", record_id=record_id))
        flash("已创建再登记申请：请下载《再登记申请表》，签字后上传，再提交。", "success")
        return redirect(url_for("renewals.application", application_id=application.id))
    page = services.apply_page(current_user, record_id)
    return render_template("renewals/apply.html", page=page, confirm=ConfirmForm(), mask=idcard.mask,
                           one_day=timedelta(days=1))


@bp.route("/applications/<int:application_id>")
def application(application_id: int):
    """An application with its progress (审核进度), attachments and the actions of whoever looks at it."""
    app = services.get_application(current_user, application_id)
    current = cycle(app.record)
    # the live count matters only while the application can still be submitted (a draft or
    # returned one of the current cycle); after that the page shows the hours as submitted
    open_cycle = current is not None and current.valid_until == app.cycle_expiry and current.can_apply
    hours = services.cycle_hours(app.record, current) if open_cycle and app.state in EDITABLE else None
    from ..core import audit

    history = audit.history(app)
    _, hour_rows = services.application_hours(current_user, application_id)
    return render_template("renewals/application.html", app=app, cycle=current, hours=hours, hour_rows=hour_rows,
                           actions=RENEWAL.actions_for(app, current_user), confirm=ConfirmForm(),
                           attachments=services.ATTACHMENTS, mask=idcard.mask, history=history,
                           is_holder=current_user.role == Role.CANDIDATE)


@bp.route("/applications/<int:application_id>/explanation", methods=["POST"])
@service_view
def explanation(application_id: int):
    if ConfirmForm().validate_on_submit():
        services.save_explanation(current_user, application_id, request.form.get("explanation", "")[:5000])
        db.session.commit()
        flash("已保存。", "success")
    return redirect(url_for("renewals.application", application_id=application_id))


@bp.route("/applications/<int:application_id>/attach/<kind>", methods=["POST"])
@service_view
def attach(application_id: int, kind: str):
    if kind not in services.ATTACHMENTS:
        abort(404)
    if ConfirmForm().validate_on_submit():
        upload = request.files.get("file")
        data = upload.read(services.MAX_UPLOAD_BYTES + 1) if upload else b""
        services.attach(current_user, application_id, kind, data)
        db.session.commit()
        flash(f"{services.ATTACHMENTS[kind][1]}已上传。", "success")
    return redirect(url_for("renewals.application", application_id=application_id))


@bp.route("/applications/<int:application_id>/files/<kind>")
@service_view
def attachment(application_id: int, kind: str):
    if kind not in services.ATTACHMENTS:
        abort(404)
    _, path, mime = services.attachment(current_user, application_id, kind)
    return _no_store(send_file(path, mimetype=mime))


@bp.route("/applications/<int:application_id>/hours/<int:hours_id>/evidence")
def hours_evidence(application_id: int, hours_id: int):
    """The evidence of a 继续教育 record counted for the application, for the holder and the reviewers in scope."""
    path, mime, name = services.hours_evidence(current_user, application_id, hours_id)
    inline = mime.startswith("image/") or mime == "application/pdf"
    return _no_store(send_file(path, mimetype=mime, as_attachment=not inline, download_name=name))


@bp.route("/applications/<int:application_id>/form.pdf")
def form_pdf(application_id: int):
    """《再登记申请表》 to print and sign."""
    app = services.get_application(current_user, application_id)
    current = cycle(app.record)
    if current is None:
        abort(404)
    registrations, certificates = services.past(app.record)
    shown = registration_outcomes.outcomes(registrations)
    history = [(r.plan.name, f"{r.certificate_level.label} · {shown[r.id].label if r.id in shown else r.state.value}")
               for r in registrations]
    history += [(f"证书 {c.number}", f"{c.certificate_level.label} · {c.issue_date:%Y-%m-%d}") for c in certificates]
    hours = services.cycle_hours(app.record, current)
    data = pdf.application_form(app, current, hours, history)
    return _no_store(send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                               download_name=f"再登记申请表_{app.id}.pdf"))


@bp.route("/applications/<int:application_id>/registration.pdf")
def registration_pdf(application_id: int):
    """电子再登记凭证 of an approved application."""
    app = services.get_application(current_user, application_id)
    if app.state != RenewalState.APPROVED:
        abort(404)
    from ..certificates.services import verify_url

    url = verify_url(app.record, request.host_url)  # PUBLIC_BASE_URL first, like the certificate's own QR code
    return _no_store(send_file(io.BytesIO(pdf.registration_record(app, url)), mimetype="application/pdf",
                               as_attachment=True, download_name=f"电子再登记凭证_{app.registration_number}.pdf"))


@bp.route("/applications/<int:application_id>/submit", methods=["POST"])
@service_view
def submit(application_id: int):
    if ConfirmForm().validate_on_submit():
        app = services.submit_application(current_user, application_id)
        db.session.commit()
        flash(f"已提交，当前状态：{app.state.value}。", "success")
    return redirect(url_for("renewals.application", application_id=application_id))


@bp.route("/applications/<int:application_id>/review/<action>", methods=["POST"])
@service_view
def review(application_id: int, action: str):
    """市级审核通过, 退回 (with a reason) or 审核通过 (the province)."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("renewals.application", application_id=application_id))
    if action == "pass":
        services.pass_to_province(current_user, application_id)
        message = "已审核通过，转省级审核。"
    elif action == "return":
        services.return_application(current_user, application_id, request.form.get("reason", "")[:3000])
        message = "已退回持证人。"
    elif action == "approve":
        app = services.approve_application(current_user, application_id)
        message = f"已审核通过：有效期延至 {app.new_expiry:%Y-%m-%d}，再登记编号 {app.registration_number}。"
    else:
        abort(404)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("renewals.application", application_id=application_id))


# ---- figures, policies, outbox -------------------------------------------------------------------

@bp.route("/overview")
def overview():
    """Certificates by validity state (chart) and applications waiting per reviewer level."""
    data = stats.figures(current_user)
    total = max(data.total, 1)
    # the count once, as "2 份": the bar's value with its unit, no note repeating it
    chart = hbar_chart([Bar(s.value, data.by_state.get(s, 0)) for s in Validity],
                       title="证书有效期状态", maximum=max(max(data.by_state.values() or [0]), 1), unit=" 份",
                       testid="validity-chart", label_chars=6)
    return render_template("renewals/overview.html", data=data, chart=chart, states=list(Validity), total=total)


@bp.route("/overview.xlsx")
def overview_export():
    data = stats.export(current_user)
    return _no_store(send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name="再登记统计.xlsx"))


def _certificate_filters() -> dict:
    from ..core.web import int_arg

    return {"state": choice_arg("state", Validity), "level_id": int_arg("level")}


@bp.route("/certificates")
def certificates():
    """证书有效期清单: the certificates behind the overview's counts, by validity state, paged."""
    from sqlalchemy import select

    from ..catalog.models import Certificate, CertificateLevel

    filters = _certificate_filters()
    page = paginate(stats.certificates_by_state(current_user, **filters))
    levels = db.session.scalars(select(CertificateLevel).join(Certificate)
                                .order_by(Certificate.name, CertificateLevel.rank)).all()
    return render_template("renewals/certificates.html", page=page, found=cycles(list(page.items)),
                           states=list(Validity), levels=levels, filters=filters, mask=idcard.mask)


@bp.route("/certificates.xlsx")
def certificates_export():
    data = stats.export_certificates(current_user, **_certificate_filters())
    return _no_store(send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name="证书有效期清单.xlsx"))


@bp.route("/policies", methods=["GET", "POST"])
def policies():
    """Each certificate's validity years, window, hours and grace period; the org edits them."""
    rows = services.list_policies(current_user)
    if request.method == "POST":
        permissions.require(current_user, "renewals.policy")
        if ConfirmForm().validate_on_submit():
            try:
                services.save_policy(current_user, request.form.get("certificate_id"), request.form)
                db.session.commit()
                flash("再登记规则已保存。", "success")
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
        return redirect(url_for("renewals.policies"))
    return render_template("renewals/policies.html", rows=rows, bounds=services.POLICY_BOUNDS, confirm=ConfirmForm(),
                           can_edit=permissions.can(current_user, "renewals.policy"))


@bp.route("/outbox")
def outbox():
    """发件箱: reminders that would have been e-mailed (no SMTP server configured), addresses masked."""
    page = paginate(reminders.outbox(current_user))
    return render_template("renewals/outbox.html", page=page, mask_email=reminders.mask_email)

