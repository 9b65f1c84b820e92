"""The pages: the holder's journey over HTTP, PDFs, uploads, the reviewers, figures, export, verification."""
from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from examadmin.core import clock
from examadmin.core.todo import todos_for
from examadmin.extensions import db
from examadmin.renewals.models import RenewalApplication
from examadmin.renewals.states import RenewalState as S
from tests.conftest import login_as, make_user
from tests.renewals.factories import add_hours, make_holder

ISSUED = date(2026, 1, 15)
IN_WINDOW = datetime(2028, 11, 20, 10, 0)


@pytest.fixture
def holder(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: IN_WINDOW)
    return make_holder(ISSUED)


def csrf(client, url):
    import re

    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def test_the_holder_applies_over_http_and_follows_the_review(client, holder):
    add_hours(holder.record, "92", date(2027, 4, 1))
    login_as(client, holder.user)
    mine = client.get("/renewals/mine").get_data(as_text=True)
    assert "待再登记" in mine and "有效期至 2029-01-14" in mine
    page = client.get(f"/renewals/certificates/{holder.record.id}/apply").get_data(as_text=True)
    assert 'data-testid="cycle-hours">92.0' in page and "学时已达标" in page
    token = csrf(client, f"/renewals/certificates/{holder.record.id}/apply")
    response = client.post(f"/renewals/certificates/{holder.record.id}/apply", data={"csrf_token": token})
    application = db.session.scalar(select(RenewalApplication))
    assert response.headers["Location"].endswith(f"/renewals/applications/{application.id}")
    form = client.get(f"/renewals/applications/{application.id}/form.pdf")
    assert form.status_code == 200 and form.data.startswith(b"%PDF") and len(form.data) > 2000
    bad = client.post(f"/renewals/applications/{application.id}/attach/signed_form",
                      data={"csrf_token": token, "file": (io.BytesIO(b"plain text"), "form.pdf")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "按文件内容判断" in bad.get_data(as_text=True)
    client.post(f"/renewals/applications/{application.id}/attach/signed_form",
                data={"csrf_token": token, "file": (io.BytesIO(form.data), "signed.pdf")},
                content_type="multipart/form-data")
    done = client.post(f"/renewals/applications/{application.id}/submit", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "市级审核中" in done
    db.session.expire_all()
    assert application.state == S.CITY_REVIEW
    response = client.get(f"/renewals/applications/{application.id}/files/signed_form")
    assert response.data.startswith(b"%PDF")
    response.close()


def test_below_the_hours_the_page_warns_and_the_submit_is_refused(client, holder):
    add_hours(holder.record, "30", date(2027, 4, 1))
    login_as(client, holder.user)
    page = client.get(f"/renewals/certificates/{holder.record.id}/apply").get_data(as_text=True)
    assert "学时未达标将无法提交：还差 60.0 学时" in page


def test_reviewers_pass_and_approve_over_http_then_verification_shows_the_new_date(client, holder):
    from examadmin.renewals import services

    add_hours(holder.record, "90", date(2027, 4, 1))
    application = services.create_application(holder.user, holder.record.id)
    services.attach(holder.user, application.id, "signed_form", b"%PDF-1.4 x")
    services.submit_application(holder.user, application.id)
    login_as(client, holder.city_user)
    assert [t.label for t in todos_for(holder.city_user)] == ["待审核的再登记申请"]
    listing = client.get("/renewals/?state=市级审核中").get_data(as_text=True)
    assert f"/renewals/applications/{application.id}" in listing
    token = csrf(client, f"/renewals/applications/{application.id}")
    client.post(f"/renewals/applications/{application.id}/review/pass", data={"csrf_token": token})
    login_as(client, holder.province_user)
    assert any(t.label == "待审批的再登记申请" and t.count == 1 for t in todos_for(holder.province_user))
    token = csrf(client, f"/renewals/applications/{application.id}")
    page = client.post(f"/renewals/applications/{application.id}/review/approve", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "有效期延至 2032-01-14" in page
    record_pdf = client.get(f"/renewals/applications/{application.id}/registration.pdf")
    assert record_pdf.status_code == 200 and record_pdf.data.startswith(b"%PDF")
    answer = client.get(f"/certificates/v/{holder.record.verify_code}").get_data(as_text=True)
    assert 'data-testid="verify-valid-until">2032-01-14' in answer and "已再登记" in answer


def test_another_citys_staff_get_404(client, holder):
    from examadmin.renewals import services
    from tests.conftest import make_city

    application = services.create_application(holder.user, holder.record.id)
    login_as(client, make_user("city", city=make_city()))
    assert client.get(f"/renewals/applications/{application.id}").status_code == 404
    assert client.get(f"/renewals/applications/{application.id}/form.pdf").status_code == 404


def test_verification_says_when_the_registration_expired(client, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2029, 2, 1, 9, 0))
    holder = make_holder(ISSUED)
    page = client.get(f"/certificates/v/{holder.record.verify_code}").get_data(as_text=True)
    assert "查验结果：未再登记" in page and "2029-01-14" in page
    monkeypatch.setattr(clock, "now", lambda: datetime(2030, 2, 1, 9, 0))
    page = client.get(f"/certificates/v/{holder.record.verify_code}").get_data(as_text=True)
    assert "查验结果：已失效" in page


def test_the_certificate_list_and_detail_show_validity(client, holder):
    school_user = make_user("school", school=holder.school)
    login_as(client, school_user)
    listing = client.get("/certificates/").get_data(as_text=True)
    assert 'data-testid="validity-state">待再登记' in listing
    detail = client.get(f"/certificates/{holder.record.id}/history").get_data(as_text=True)
    assert "有效期至 2029-01-14" in detail
    login_as(client, holder.user)
    assert "有效期至 2029-01-14" in client.get("/certificates/mine").get_data(as_text=True)


def test_figures_by_validity_state_and_the_export(client, holder):
    make_holder(date(2027, 6, 1))
    login_as(client, make_user("org"))
    page = client.get("/renewals/overview").get_data(as_text=True)
    assert 'data-testid="validity-chart"' in page
    # each count said once, with its unit: "1 份", never "1 份 (1)"
    assert ">1 份<" in page and "份 (" not in page
    assert 'data-testid="total-待再登记">1<' in page and 'data-testid="total-有效">1<' in page
    export = client.get("/renewals/overview.xlsx")
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["类别", "证书等级/地市", "状态", "数量"]
    assert ["证书有效期状态", "合计", "待再登记", 1] in rows


def test_a_province_counts_only_its_own_schools(client, holder):
    login_as(client, make_user("province", province_code="51"))
    page = client.get("/renewals/overview").get_data(as_text=True)
    assert 'data-testid="total-待再登记">0<' in page
    login_as(client, make_user("school", school=holder.school))
    assert client.get("/renewals/overview").status_code == 403


def test_the_org_edits_the_policy_on_its_page(client):
    login_as(client, make_user("org"))
    token = csrf(client, "/renewals/policies")
    from tests.conftest import the_certificate

    data = {"csrf_token": token, "certificate_id": the_certificate().id, "validity_years": "4", "window_months": "3",
            "hours_required": "90", "late_hours_required": "10", "grace_months": "12"}
    page = client.post("/renewals/policies", data=data, follow_redirects=True).get_data(as_text=True)
    assert "补办所需学时不能少于按期再登记所需学时" in page
    page = client.post("/renewals/policies", data=data | {"late_hours_required": "120"},
                       follow_redirects=True).get_data(as_text=True)
    assert "再登记规则已保存" in page and 'value="4"' in page


def _approved(holder):
    from examadmin.renewals import services

    add_hours(holder.record, "92", date(2027, 4, 1))
    application = services.create_application(holder.user, holder.record.id)
    services.attach(holder.user, application.id, "signed_form", b"%PDF-1.4 signed")
    services.submit_application(holder.user, application.id)
    services.pass_to_province(holder.city_user, application.id)
    services.approve_application(holder.province_user, application.id)
    return application


def test_after_approval_the_pages_show_the_new_validity_and_the_next_window(client, holder):
    application = _approved(holder)
    login_as(client, holder.user)
    page = client.get(f"/renewals/applications/{application.id}").get_data(as_text=True)
    assert "已延至 2032-01-14" in page and "有效期至 2032-01-14" in page
    assert "提交时已核验 92.0 学时" in page and "当前已核验" not in page and "需 90" not in page
    apply = client.get(f"/renewals/certificates/{holder.record.id}/apply").get_data(as_text=True)
    assert "学时未达标" not in apply and 'data-testid="hours-short"' not in apply
    assert "下一次再登记窗口 2031-10-15 开放" in apply and 'data-testid="start-application"' not in apply


def test_a_lapsed_certificate_says_why_and_offers_no_form(client, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2030, 3, 1, 9, 0))
    holder = make_holder(ISSUED)
    login_as(client, holder.user)
    apply = client.get(f"/renewals/certificates/{holder.record.id}/apply").get_data(as_text=True)
    assert 'data-testid="lapsed"' in apply and "2029-01-14 届满" in apply and "2030-01-15 起失效" in apply
    assert "重新报名参加考核" in apply and holder.school.name in apply
    assert "起可申请再登记" not in apply and "学时未达标" not in apply and "start-application" not in apply
    mine = client.get("/renewals/mine").get_data(as_text=True)
    assert "补办期限已过" in mine and "重新报名考核" in mine


def test_a_draft_below_the_hours_warns_in_red_and_disables_submit(client, holder):
    from examadmin.renewals import services

    add_hours(holder.record, "60", date(2027, 4, 1))
    application = services.create_application(holder.user, holder.record.id)
    login_as(client, holder.user)
    page = client.get(f"/renewals/applications/{application.id}").get_data(as_text=True)
    assert "学时未达标将无法提交：还差 30.0 学时" in page and 'alert-danger' in page
    assert 'data-testid="submit" disabled' in page
    add_hours(holder.record, "30", date(2027, 5, 1))
    page = client.get(f"/renewals/applications/{application.id}").get_data(as_text=True)
    assert "学时未达标" not in page and 'data-testid="submit">' in page


def test_verification_shows_the_registration_number_and_recognises_it_typed_as_a_number(client, holder):
    from examadmin.certificates import verification

    application = _approved(holder)
    page = client.get(f"/certificates/v/{holder.record.verify_code}").get_data(as_text=True)
    assert f'data-testid="verify-registration-number">{application.registration_number}' in page
    answer = verification.verify_by_number(holder.record.number, holder.record.id_number)
    assert answer.registration_number == application.registration_number and answer.as_json()["registration_number"]
    typed = verification.verify_by_number(application.registration_number.lower(), holder.record.id_number)
    assert not typed.found and "是再登记凭证编号" in typed.message and "请输入证书编号" in typed.message
    assert "校验位不符" not in typed.message
    fresh = make_holder(date(2027, 6, 1))
    page = client.get(f"/certificates/v/{fresh.record.verify_code}").get_data(as_text=True)
    assert "再登记编号" not in page


def test_reviewers_see_the_hours_behind_the_total_with_their_evidence(client, holder):
    from examadmin.core.storage import get_storage
    from examadmin.hours.states import HoursState
    from examadmin.renewals import services

    png = b"\x89PNG\r\n\x1a\n evidence"
    counted = add_hours(holder.record, "60", date(2027, 4, 1))
    storage = get_storage()
    counted.evidence_key = storage.save(storage.new_key("hours", ".png"), png)
    counted.evidence_filename = "培训证明.png"
    add_hours(holder.record, "32", date(2027, 9, 1))
    pending = add_hours(holder.record, "40", date(2027, 10, 1), state=HoursState.PENDING)
    pending.evidence_key = storage.save(storage.new_key("hours", ".png"), png)
    application = services.create_application(holder.user, holder.record.id)
    services.attach(holder.user, application.id, "signed_form", b"%PDF-1.4 signed")
    services.submit_application(holder.user, application.id)
    db.session.flush()
    url = f"/renewals/applications/{application.id}/hours"
    for reviewer in (holder.city_user, holder.province_user):
        login_as(client, reviewer)
        page = client.get(f"/renewals/applications/{application.id}").get_data(as_text=True)
        assert page.count('data-testid="hour-record"') == 2 and "测试培训机构" in page
        assert 'data-testid="hour-total">92.0' in page
        response = client.get(f"{url}/{counted.id}/evidence")
        assert response.status_code == 200 and response.data == png
        response.close()
        assert client.get(f"{url}/{pending.id}/evidence").status_code == 404  # not counted
        if reviewer is holder.city_user:
            services.pass_to_province(holder.city_user, application.id)
            db.session.flush()
    login_as(client, make_user("city"))
    assert client.get(f"{url}/{counted.id}/evidence").status_code == 404


def test_the_reviewers_list_filters_and_hides_drafts(client, holder):
    from examadmin.renewals import services

    add_hours(holder.record, "92", date(2027, 4, 1))
    submitted = services.create_application(holder.user, holder.record.id)
    services.attach(holder.user, submitted.id, "signed_form", b"%PDF-1.4 signed")
    services.submit_application(holder.user, submitted.id)
    other = make_holder(date(2026, 1, 20))  # another school and city, a draft only
    draft = services.create_application(other.user, other.record.id)
    db.session.flush()
    login_as(client, holder.city_user)
    page = client.get("/renewals/").get_data(as_text=True)
    assert 'data-testid="count-未提交"' not in page and "data-testid=\"count-市级审核中\"" in page
    assert client.get("/renewals/?state=未提交").get_data(as_text=True).count('data-testid="application-row"') == 1
    login_as(client, other.province_user)
    page = client.get("/renewals/").get_data(as_text=True)
    assert f'data-testid="open-{draft.id}"' not in page  # the province never sees the draft
    login_as(client, make_user("org"))
    assert f'data-testid="open-{draft.id}"' in client.get("/renewals/").get_data(as_text=True)
    token = csrf(client, "/renewals/")
    found = client.post("/renewals/", data={"csrf_token": token, "q": holder.record.id_number},
                        follow_redirects=True)
    assert holder.record.id_number not in found.request.url
    text = found.get_data(as_text=True)
    assert f'data-testid="open-{submitted.id}"' in text and f'data-testid="open-{draft.id}"' not in text
    by_school = client.get(f"/renewals/?school={other.school.id}").get_data(as_text=True)
    assert f'data-testid="open-{draft.id}"' in by_school and f'data-testid="open-{submitted.id}"' not in by_school
    by_city = client.get(f"/renewals/?city={holder.school.city_id}").get_data(as_text=True)
    assert f'data-testid="open-{submitted.id}"' in by_city and f'data-testid="open-{draft.id}"' not in by_city
    by_level = client.get(f"/renewals/?level={holder.record.certificate_level_id}").get_data(as_text=True)
    assert f'data-testid="open-{submitted.id}"' in by_level
    login_as(client, other.city_user)
    assert client.get(f"/renewals/applications/{draft.id}").status_code == 404


def test_the_holders_home_links_their_renewals_and_staff_step_12_the_list(client, holder):
    login_as(client, holder.user)
    # a holder's home is the portal (not the staff 工作台 with its 12 steps): it links 再登记
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'data-testid="workflow-steps"' not in page
    assert 'href="/renewals/mine" data-testid="portal-renewals-link"' in page
    login_as(client, make_user("province"))
    page = client.get("/").get_data(as_text=True)
    assert 'href="/renewals/"' in page.split('<span class="step-no">12</span>', 1)[1].split("</li>", 1)[0]


def test_the_apply_page_lists_past_exams_with_their_result(client, holder):
    from examadmin.registrations.states import RegistrationState
    from examadmin.scores.states import PublicationStage
    from tests.scores.factories import set_stage

    registration = holder.record.registration
    registration.state = RegistrationState.SCHEDULED  # the exam was held (setup only)
    set_stage(registration.plan_id, PublicationStage.FINAL)
    login_as(client, holder.user)
    page = client.get(f"/renewals/certificates/{holder.record.id}/apply").get_data(as_text=True)
    assert 'data-testid="past-registration-state">合格<' in page and "已排考" not in page


def test_a_revoked_certificate_lists_no_renewal_window(client, monkeypatch):
    from examadmin.certificates.states import CertificateState

    monkeypatch.setattr(clock, "now", lambda: IN_WINDOW)
    revoked = make_holder(ISSUED, state=CertificateState.REVOKED)
    login_as(client, revoked.user)
    mine = client.get("/renewals/mine").get_data(as_text=True)
    assert "证书已撤销，不可再登记" in mine
    assert 'data-testid="renewal-window"><span class="text-secondary">—</span></td>' in mine
    assert "至 2029-01-14" not in mine and "起可申请" not in mine


def test_the_certificate_detail_page_is_titled_for_what_it_is(client, holder):
    login_as(client, make_user("org"))
    page = client.get(f"/certificates/{holder.record.id}/history").get_data(as_text=True)
    assert f"<title>证书详情 · {holder.record.name}" in page and "证书详情：" in page
    assert "证书查验记录" not in page and 'data-testid="revoke-form"' in page


def test_the_school_is_offered_no_city_or_school_filter_it_cannot_use(client, holder):
    login_as(client, make_user("school", school=holder.school))
    page = client.get("/renewals/").get_data(as_text=True)
    assert 'data-testid="search-form"' in page
    assert "全部地市" not in page and "全部院校" not in page and "全部证书等级" in page
    login_as(client, holder.province_user)
    page = client.get("/renewals/").get_data(as_text=True)
    assert "全部地市" in page and "全部院校" in page
