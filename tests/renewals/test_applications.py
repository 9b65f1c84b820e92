"""Re-registration applications: the refusals, city then province review, return and resubmission, scope."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from examadmin.core import clock
from examadmin.core.errors import DomainError
from examadmin.extensions import db
from examadmin.hours.states import HoursState
from examadmin.renewals import services
from examadmin.renewals.models import RenewalApplication
from examadmin.renewals.states import RENEWAL, RenewalState as S
from tests.conftest import make_city, make_user
from tests.renewals.factories import add_hours, make_holder
from tests.workflow_table import check_move

ISSUED = date(2026, 1, 15)
IN_WINDOW = datetime(2028, 11, 20, 10, 0)
LATE = datetime(2029, 3, 1, 10, 0)
PDF = b"%PDF-1.4 signed form"


@pytest.fixture
def holder(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: IN_WINDOW)
    return make_holder(ISSUED)


def ready(holder, hours="90"):
    add_hours(holder.record, hours, date(2027, 3, 1))
    application = services.create_application(holder.user, holder.record.id)
    services.attach(holder.user, application.id, "signed_form", PDF)
    return application


def test_outside_the_window_no_application(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2028, 10, 14, 12, 0))
    holder = make_holder(ISSUED)
    with pytest.raises(DomainError, match="不在再登记时间内.*2028-10-15 起开放"):
        services.create_application(holder.user, holder.record.id)


def test_after_the_grace_period_no_application(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2030, 1, 15, 9, 0))
    holder = make_holder(ISSUED)
    with pytest.raises(DomainError, match="证书已失效"):
        services.create_application(holder.user, holder.record.id)


def test_a_revocation_undone_in_the_database_cannot_be_renewed(holder):
    """记录异常 (the audit trail holds a revocation, the state says 已发放): treated as revoked."""
    from examadmin.certificates import revocation

    revocation.revoke(make_user("org"), holder.record.id, "冒名顶替")
    db.session.flush()
    db.session.execute(db.text("UPDATE certificate_record SET state = '已发放', revoked_at = NULL WHERE id = :id"),
                       {"id": holder.record.id})
    db.session.expire_all()
    for attempt in (services.apply_page, services.create_application):
        with pytest.raises(DomainError, match="记录异常"):
            attempt(holder.user, holder.record.id)
    assert db.session.scalar(select(RenewalApplication)) is None


def test_below_ninety_hours_cannot_be_submitted(holder):
    application = ready(holder, "89.5")
    with pytest.raises(DomainError, match="学时未达标将无法提交.*90.*89.5.*还差 0.5"):
        services.submit_application(holder.user, application.id)
    assert application.state == S.DRAFT


def test_only_verified_continuing_hours_of_the_cycle_count(holder):
    from examadmin.hours.models import HoursKind

    add_hours(holder.record, "50", date(2027, 3, 1), state=HoursState.PENDING)
    add_hours(holder.record, "50", date(2027, 3, 1), kind=HoursKind.PRACTICE)
    add_hours(holder.record, "50", date(2025, 12, 1))  # before the cycle began
    application = ready(holder, "40")
    with pytest.raises(DomainError, match="目前 40.0 学时"):
        services.submit_application(holder.user, application.id)


def test_a_missing_signed_form_is_refused(holder):
    add_hours(holder.record, "95", date(2027, 3, 1))
    application = services.create_application(holder.user, holder.record.id)
    with pytest.raises(DomainError, match="签字后上传"):
        services.submit_application(holder.user, application.id)


def test_a_second_application_in_one_cycle_is_refused(holder):
    ready(holder)
    with pytest.raises(DomainError, match="每个周期只能申请一次"):
        services.create_application(holder.user, holder.record.id)
    assert len(db.session.scalars(select(RenewalApplication)).all()) == 1


@pytest.mark.parametrize("data, message", [
    (b"GIF89a....", "应为 PDF、JPEG 或 PNG 文件（"),
    (b"", "请选择"),
    (b"MZ\x90\x00 renamed.pdf", "按文件内容判断"),
])
def test_the_signed_form_is_checked_by_its_first_bytes(holder, data, message):
    application = services.create_application(holder.user, holder.record.id)
    with pytest.raises(DomainError, match=message):
        services.attach(holder.user, application.id, "signed_form", data)
    assert application.signed_form_key is None


def test_a_photo_must_be_an_image(holder):
    application = services.create_application(holder.user, holder.record.id)
    with pytest.raises(DomainError, match="JPEG 或 PNG 图片"):
        services.attach(holder.user, application.id, "photo", PDF)
    services.attach(holder.user, application.id, "photo", b"\xff\xd8\xff\xe0 jpeg")
    assert application.photo_key.endswith(".jpg")


def test_city_then_province_approve_and_validity_moves_on(holder):
    application = ready(holder)
    services.submit_application(holder.user, application.id)
    assert application.state == S.CITY_REVIEW and application.hours == 90
    with pytest.raises(Exception):
        services.approve_application(holder.city_user, application.id)  # the city cannot approve
    services.pass_to_province(holder.city_user, application.id)
    assert application.state == S.PROVINCE_REVIEW
    services.approve_application(holder.province_user, application.id)
    assert application.state == S.APPROVED
    assert application.new_expiry == date(2032, 1, 14)
    assert application.registration_number == f"ZC{IN_WINDOW.year}{application.id:08d}"


def test_a_return_is_corrected_and_resubmitted_as_the_same_application(holder):
    application = ready(holder)
    services.submit_application(holder.user, application.id)
    with pytest.raises(DomainError, match="退回原因"):
        services.return_application(holder.city_user, application.id, "  ")
    services.return_application(holder.city_user, application.id, "签字不清晰")
    assert application.state == S.RETURNED and application.return_reason == "签字不清晰"
    services.attach(holder.user, application.id, "signed_form", PDF + b" again")
    services.submit_application(holder.user, application.id)
    assert application.state == S.CITY_REVIEW  # the city returned it: back to the city
    services.pass_to_province(holder.city_user, application.id)
    services.return_application(holder.province_user, application.id, "照片不符")
    services.submit_application(holder.user, application.id)
    assert application.state == S.PROVINCE_REVIEW  # the province returned it: straight back there
    assert len(db.session.scalars(select(RenewalApplication)).all()) == 1


def test_an_application_in_review_cannot_be_changed(holder):
    application = ready(holder)
    services.submit_application(holder.user, application.id)
    with pytest.raises(DomainError, match="不能修改"):
        services.attach(holder.user, application.id, "signed_form", PDF)


def test_late_re_registration_asks_120_hours_and_an_explanation(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: LATE)
    holder = make_holder(ISSUED)
    application = ready(holder, "100")
    assert application.late
    with pytest.raises(DomainError, match="补办再登记需.*120 学时"):
        services.submit_application(holder.user, application.id)
    add_hours(holder.record, "20", date(2028, 6, 1))
    with pytest.raises(DomainError, match="须填写情况说明"):
        services.submit_application(holder.user, application.id)
    services.save_explanation(holder.user, application.id, "工作外派，未能按期办理")
    services.submit_application(holder.user, application.id)
    assert application.state == S.CITY_REVIEW and application.hours == 120


def test_another_citys_application_is_not_found(holder):
    application = ready(holder)
    services.submit_application(holder.user, application.id)
    other_city = make_user("city", city=make_city())
    with pytest.raises(NotFound):
        services.pass_to_province(other_city, application.id)
    other_province = make_user("province", province_code="51")
    with pytest.raises(NotFound):
        services.get_application(other_province, application.id)
    other_holder = make_holder(ISSUED)
    with pytest.raises(NotFound):
        services.get_application(other_holder.user, application.id)
    with pytest.raises(NotFound):
        services.create_application(other_holder.user, holder.record.id)


def test_a_revoked_certificate_cannot_be_renewed(monkeypatch):
    from examadmin.certificates.states import CertificateState

    monkeypatch.setattr(clock, "now", lambda: IN_WINDOW)
    holder = make_holder(ISSUED, state=CertificateState.REVOKED)
    with pytest.raises(DomainError, match="已被撤销"):
        services.create_application(holder.user, holder.record.id)


# ---- the state machine, move by move --------------------------------------------------------------

ROLES = ["sysadmin", "org", "province", "city", "school", "candidate", None]
ALLOWED = {
    (S.DRAFT, "submit", "candidate", None): S.CITY_REVIEW,
    (S.RETURNED, "submit", "candidate", "city"): S.CITY_REVIEW,
    (S.RETURNED, "submit", "candidate", "province"): S.PROVINCE_REVIEW,
    (S.CITY_REVIEW, "pass", "city", None): S.PROVINCE_REVIEW,
    (S.CITY_REVIEW, "return", "city", None): S.RETURNED,
    (S.PROVINCE_REVIEW, "return", "province", None): S.RETURNED,
    (S.PROVINCE_REVIEW, "approve", "province", None): S.APPROVED,
}
CASES = [(state, action, role, returned_by)
         for state in S for action in ("submit", "pass", "return", "approve") for role in ROLES
         for returned_by in ((None, "city", "province") if state == S.RETURNED else (None,))]


@pytest.mark.parametrize("state, action, role, returned_by", CASES)
def test_every_move(state, action, role, returned_by, monkeypatch):
    from types import SimpleNamespace

    record = SimpleNamespace(state=state, returned_by=returned_by, id=1)
    expected = ALLOWED.get((state, action, role, returned_by))
    if state == S.RETURNED and returned_by is None and action == "submit" and role == "candidate":
        expected = S.CITY_REVIEW
    check_move(RENEWAL, record, action, role, expected, monkeypatch)


def test_late_renewal_hours_do_not_count_again_in_the_next_cycle(monkeypatch):
    """Security review (issue 14): a late application counts hours up to its submission, which lie
    in the next cycle's first months; the next cycle counts from the day after that submission."""
    from examadmin.renewals.validity import cycle

    now = {"t": datetime(2029, 3, 1, 10, 0)}
    monkeypatch.setattr(clock, "now", lambda: now["t"])
    h = make_holder(ISSUED)
    add_hours(h.record, "120", date(2029, 2, 1))
    a = services.create_application(h.user, h.record.id)
    services.save_explanation(h.user, a.id, "出国")
    services.attach(h.user, a.id, "signed_form", b"%PDF-1.4 x")
    services.submit_application(h.user, a.id)
    services.pass_to_province(h.city_user, a.id)
    services.approve_application(h.province_user, a.id)
    add_hours(h.record, "8", date(2029, 3, 2))  # the day after the submission: counts in the next cycle
    now["t"] = datetime(2031, 11, 20, 10, 0)  # the next window
    assert services.cycle_hours(h.record, cycle(h.record)) == 8
