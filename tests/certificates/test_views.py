"""The issuance pages: lists and counts, the buttons of each stage, the QR sign-off from a
second session, the polling status, the seal upload, issue as a job."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from examadmin.catalog.models import School
from examadmin.certificates import services
from examadmin.certificates.models import CertificateRecord
from examadmin.certificates.pdf import demo_seal_png
from examadmin.certificates.states import CertificateState as S
from examadmin.core.audit import AuditLog
from examadmin.extensions import db
from tests.certificates.factories import make_setup
from tests.conftest import login_as, make_user


def states(plan):
    return db.session.scalars(select(CertificateRecord.state).where(CertificateRecord.plan_id == plan.id)
                              .order_by(CertificateRecord.id)).all()


def test_the_whole_issuance_through_the_pages(app, client):
    s = make_setup(passed=2, failed=1)
    org, school, phone = client, app.test_client(), app.test_client()
    login_as(org, s.org)
    page = org.get(f"/certificates/?plan_id={s.plan.id}")
    assert page.status_code == 200 and "生成证书记录" in page.text

    r = org.post("/certificates/make-records", data={"plan_id": s.plan.id}, follow_redirects=True)
    assert "已生成 2 条证书记录" in r.text
    r = org.post("/certificates/org-sign", data={"plan_id": s.plan.id}, follow_redirects=True)
    assert "2 份证书已处理" in r.text and states(s.plan) == [S.SITE_SIGNING] * 2

    login_as(school, s.school_user)
    listing = school.get("/certificates/")
    assert "待本院校签发" in listing.text and 'data-testid="site-sign"' in listing.text
    shown = school.post("/certificates/signoffs", data={"plan_id": s.plan.id, "site_id": s.site.id})
    assert shown.status_code == 200 and "data:image/png;base64," in shown.text
    assert "certificates_signoff.js" in shown.text and "<script>" not in shown.text
    url = re.search(r'data-url="([^"]+)"', shown.text).group(1)
    status_url = re.search(r'data-status-url="([^"]+)"', shown.text).group(1)
    assert school.get(status_url).json == {"confirmed": False, "expired": False, "count": 2}

    login_as(phone, s.signer)
    path = url.replace("http://examadmin.test", "")
    summary = phone.get(path)
    assert summary.status_code == 200 and "2 份" in summary.text and "确认签发" in summary.text
    done = phone.post(path, headers={"User-Agent": "Mozilla/5.0 (iPhone)"})
    assert "已确认签发 2 份证书" in done.text
    assert states(s.plan) == [S.READY] * 2
    assert school.get(status_url).json["confirmed"] is True
    again = phone.post(path)
    assert again.status_code == 400 and "已被使用" in again.text

    r = org.post("/certificates/issue", data={"plan_id": s.plan.id}, follow_redirects=True)
    assert "还没有上传电子印章" in r.text and states(s.plan) == [S.READY] * 2
    r = org.post("/certificates/seals", data={"certificate_id": s.plan.certificate_id,
                                               "image": (io.BytesIO(demo_seal_png("评价组织")), "seal.png")},
                 content_type="multipart/form-data", follow_redirects=True)
    assert "电子印章已上传" in r.text
    r = org.post("/certificates/issue", data={"plan_id": s.plan.id})
    assert r.status_code == 302 and "/jobs/" in r.headers["Location"]
    assert states(s.plan) == [S.ISSUED] * 2
    listing = school.get("/certificates/?state=已发放")
    assert listing.text.count('data-testid="record-row"') == 2


def test_signing_a_site_again_and_signing_the_ticked_with_none_ticked_say_what_is_wrong(client):
    s = make_setup(passed=2, failed=0)
    services.make_records(s.plan.id, s.org)
    login_as(client, s.org)
    page = client.get(f"/certificates/?plan_id={s.plan.id}&site_id={s.site.id}")
    assert 'data-testid="sign-selected"' in page.text and 'name="selected"' in page.text
    # 签发所选 with nothing ticked: the form posts its marker and no record_id
    r = client.post("/certificates/org-sign", data={"selected": "1"}, follow_redirects=True)
    assert "请先勾选证书记录" in r.text and "请选择考试计划" not in r.text
    assert states(s.plan) == [S.ORG_SIGNING] * 2
    r = client.post("/certificates/org-sign", data={"plan_id": s.plan.id, "site_id": s.site.id},
                    follow_redirects=True)
    assert "2 份证书已处理" in r.text and "被拒绝" not in r.text
    # signing the same plan and site again: nothing waits, no list of "refused" records
    r = client.post("/certificates/org-sign", data={"plan_id": s.plan.id, "site_id": s.site.id},
                    follow_redirects=True)
    assert "没有待评价组织签发的证书" in r.text and "被拒绝" not in r.text
    # no row can be ticked any more: no 签发所选 button
    page = client.get(f"/certificates/?plan_id={s.plan.id}&site_id={s.site.id}")
    assert 'data-testid="sign-selected"' not in page.text


def test_the_sign_off_pages_name_the_qr_codes_expiry_the_candidates_and_show_the_url(app, client):
    from examadmin.certificates.models import CertificateSignoff

    s = make_setup(passed=2, failed=0)
    services.make_records(s.plan.id, s.org)
    services.org_sign(s.org, s.plan.id)
    login_as(client, s.school_user)
    shown = client.post("/certificates/signoffs", data={"plan_id": s.plan.id, "site_id": s.site.id})
    url = re.search(r'data-url="([^"]+)"', shown.text).group(1)
    text = re.search(r'data-testid="signoff-url">(.*?)</p>', shown.text, re.S).group(1)
    assert "也可在手机浏览器中打开：" in text and f'href="{url}"' in text and f">{url}</a>" in text
    phone = app.test_client()
    login_as(phone, s.signer)
    summary = phone.get(url.replace("http://examadmin.test", "")).text
    signoff = db.session.scalar(select(CertificateSignoff))
    expires = re.search(r'<dt class="col-4">二维码有效期至</dt><dd[^>]*>([^<]+)</dd>', summary).group(1)
    assert expires == f"{signoff.expires_at:%Y-%m-%d %H:%M}"
    assert "<dt class=\"col-4\">有效期至</dt>" not in summary
    # the whole batch is listed: 考生, not 部分考生
    assert '<dt class="col-4">考生</dt>' in summary and "部分考生" not in summary


def test_a_batch_larger_than_the_sample_says_some_candidates(app, client, monkeypatch):
    monkeypatch.setattr(services, "SAMPLE_NAMES", 1)
    s = make_setup(passed=2, failed=0)
    services.make_records(s.plan.id, s.org)
    services.org_sign(s.org, s.plan.id)
    _, token = services.start_signoff(s.school_user, s.plan.id, s.site.id)
    login_as(client, s.signer)
    summary = client.get(f"/certificates/s/{token}").text
    assert '<dt class="col-4">部分考生</dt>' in summary and " 等" in summary


def test_a_non_signer_opening_the_qr_url_is_refused_and_logged(app, client):
    s = make_setup(passed=1, failed=0)
    services.make_records(s.plan.id, s.org)
    services.org_sign(s.org, s.plan.id)
    _, token = services.start_signoff(s.school_user, s.plan.id, s.site.id)
    plain = make_user("school", school=db.session.get(School, s.site.school_id))
    login_as(client, plain)
    r = client.post(f"/certificates/s/{token}")
    assert r.status_code == 400 and "签发负责人" in r.text
    assert states(s.plan) == [S.SITE_SIGNING]
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "certificate_signoff.refused"))
    assert entry is not None and entry.after["reason"] == "not_signer"
    r = client.get("/certificates/s/garbage-token")
    assert r.status_code == 400 and "无效" in r.text


def test_a_non_image_seal_is_refused_with_a_message(client):
    s = make_setup(passed=1, failed=0)
    login_as(client, s.org)
    r = client.post("/certificates/seals", data={"certificate_id": s.plan.certificate_id,
                                                  "image": (io.BytesIO(b"MZ\x90\x00 not an image"), "seal.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 200 and "不是 PNG 或 JPEG" in r.text
    assert services.seal_of(s.plan.certificate_id) is None


def test_the_seal_page_previews_the_seal_on_file_with_its_content_type(client):
    s = make_setup(passed=1, failed=0)
    login_as(client, s.org)
    cert_id = s.plan.certificate_id
    assert client.get(f"/certificates/seals/{cert_id}/image").status_code == 404  # none on file yet
    png = demo_seal_png("测试评价组织", size=120)
    r = client.post("/certificates/seals", data={"certificate_id": cert_id, "image": (io.BytesIO(png), "seal.png")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "电子印章已上传" in r.text
    preview = re.search(rf'<img class="seal-preview[^"]*" src="([^"]+)"[^>]*data-testid="seal-preview-{cert_id}"', r.text)
    assert preview is not None
    image = client.get(preview.group(1).replace("&amp;", "&"))
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == png
    assert "no-store" in image.headers["Cache-Control"]
    assert client.get("/certificates/seals/99999999/image").status_code == 404
    # only those who manage seals see it
    login_as(client, s.school_user)
    assert client.get(f"/certificates/seals/{cert_id}/image").status_code == 403


def test_a_school_cannot_use_org_buttons_and_sees_only_its_own(app, client):
    s = make_setup(passed=1, failed=0)
    other = make_setup(passed=1, failed=0)
    services.make_records(s.plan.id, s.org)
    services.make_records(other.plan.id, other.org)
    login_as(client, s.school_user)
    assert client.post("/certificates/org-sign", data={"plan_id": s.plan.id}).status_code == 403
    assert client.post("/certificates/issue", data={"plan_id": s.plan.id}).status_code == 403
    assert client.get("/certificates/seals").status_code == 403
    page = client.get("/certificates/?plan_id=abc&state=bogus&page=-3")
    assert page.status_code == 200 and page.text.count('data-testid="record-row"') == 1
    # a school's list is all its own: no 院校 column (the org's keeps it)
    assert "<th>院校</th>" not in page.text and "<th>考核站点</th>" in page.text
    login_as(client, s.org)
    assert "<th>院校</th>" in client.get("/certificates/").text
    login_as(client, s.school_user)
    candidate = make_user("candidate", school=db.session.get(School, s.site.school_id))
    login_as(client, candidate)
    assert client.get("/certificates/").status_code == 403


def _rows(page) -> int:
    return page.text.count('data-testid="record-row"')


def test_school_site_and_level_filters_are_offered_and_applied(app, client):
    from examadmin.catalog.models import Level
    from tests.certificates.factories import make_result
    from tests.sites.factories import make_site

    s = make_setup(passed=2, failed=0)
    other_site = make_site(make_user("school"), Level.MIDDLE)
    make_result(s.plan, other_site, True)
    elsewhere = make_setup(passed=1, failed=0)  # another plan, school and site
    services.make_records(s.plan.id, s.org)
    services.make_records(elsewhere.plan.id, elsewhere.org)
    school_a, school_b = (db.session.get(School, x.school_id) for x in (s.site, other_site))

    login_as(client, s.org)
    page = client.get(f"/certificates/?plan_id={s.plan.id}")
    assert _rows(page) == 3
    schools = re.search(r'data-testid="school-select">(.*?)</select>', page.text, re.S).group(1)
    assert school_a.name in schools and school_b.name in schools
    assert db.session.get(School, elsewhere.site.school_id).name not in schools  # not in this plan
    sites = re.search(r'data-testid="site-select">(.*?)</select>', page.text, re.S).group(1)
    assert f'value="{s.site.id}"' in sites and f'value="{other_site.id}"' in sites
    assert f'value="{elsewhere.site.id}"' not in sites

    by_school = client.get(f"/certificates/?plan_id={s.plan.id}&school_id={school_b.id}")
    assert _rows(by_school) == 1 and f'value="{school_b.id}" selected' in by_school.text
    sites = re.search(r'data-testid="site-select">(.*?)</select>', by_school.text, re.S).group(1)
    assert f'value="{other_site.id}"' in sites and f'value="{s.site.id}"' not in sites  # the school's sites
    by_site = client.get(f"/certificates/?plan_id={s.plan.id}&site_id={s.site.id}")
    assert _rows(by_site) == 2 and f'value="{s.site.id}" selected' in by_site.text
    by_level = client.get(f"/certificates/?certificate_level_id={other_site.certificate_level_id}")
    assert _rows(by_level) == 1 and "考生" in by_level.text
    assert _rows(client.get(f"/certificates/?plan_id={s.plan.id}&school_id=abc&site_id=99999999999999999999")) == 3
    # stage one per plan and site: the org signs the site it filtered
    client.post("/certificates/org-sign", data={"plan_id": s.plan.id, "site_id": s.site.id})
    assert sorted(states(s.plan)) == sorted([S.SITE_SIGNING, S.SITE_SIGNING, S.ORG_SIGNING])

    # a school: no school drop-down, only its own sites
    login_as(client, s.school_user)
    own = client.get("/certificates/")
    assert 'data-testid="school-select"' not in own.text and _rows(own) == 2
    sites = re.search(r'data-testid="site-select">(.*?)</select>', own.text, re.S).group(1)
    assert f'value="{s.site.id}"' in sites and f'value="{other_site.id}"' not in sites
    assert _rows(client.get(f"/certificates/?school_id={school_b.id}")) == 0


def test_too_many_schools_to_list_ask_for_a_plan_or_province_first(app, client, monkeypatch):
    s = make_setup(passed=1, failed=0)
    other = make_setup(passed=1, failed=0)
    services.make_records(s.plan.id, s.org)
    services.make_records(other.plan.id, other.org)
    monkeypatch.setattr(services, "CHOICES_MAX", 1)
    login_as(client, s.org)
    page = client.get("/certificates/")
    assert 'data-testid="school-narrow"' in page.text and 'data-testid="school-select"' not in page.text
    assert 'data-testid="school-select"' in client.get(f"/certificates/?plan_id={s.plan.id}").text


@pytest.mark.parametrize("case, reason, message", [
    ("expired", "expired", "已过期"),
    ("altered", "altered", "篡改"),
    ("replayed", "replayed", "已被使用"),
    ("other_school", "other_school", "其他院校"),
    ("org", "not_signer", "签发负责人"),
    ("province", "not_signer", "签发负责人"),
    ("candidate", "not_signer", "签发负责人"),
])
def test_every_refused_sign_off_is_answered_in_chinese_and_logged(app, client, monkeypatch, case, reason, message):
    from datetime import timedelta

    from examadmin.core import clock

    s = make_setup(passed=1, failed=0)
    services.make_records(s.plan.id, s.org)
    services.org_sign(s.org, s.plan.id)
    signoff, token = services.start_signoff(s.school_user, s.plan.id, s.site.id)
    school = db.session.get(School, s.site.school_id)
    user = {"other_school": lambda: make_user("school", signer=True), "org": lambda: s.org,
            "province": lambda: make_user("province"),
            "candidate": lambda: make_user("candidate", school=school)}.get(case, lambda: s.signer)()
    login_as(client, user)  # commits what was made so far (a savepoint of the test's transaction)
    expected_state = S.SITE_SIGNING
    if case == "altered":
        token = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    elif case == "replayed":
        services.confirm_signoff(s.signer, token)
        db.session.commit()
        expected_state = S.READY
    elif case == "expired":
        later = clock.now() + timedelta(minutes=services.SIGNOFF_MINUTES, seconds=5)
        monkeypatch.setattr(clock, "now", lambda: later)

    for answer in (client.get(f"/certificates/s/{token}"), client.post(f"/certificates/s/{token}")):
        assert answer.status_code == 400 and message in answer.text and 'data-testid="signoff-refused"' in answer.text
    entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "certificate_signoff.refused")).all()
    assert len(entries) == 2 and all(e.actor_id == user.id and e.after["reason"] == reason for e in entries)
    assert all(e.entity_id == (None if case == "altered" else signoff.id) for e in entries)
    assert states(s.plan) == [expected_state]


@pytest.mark.parametrize("query", ["plan_id=99999999999", "site_id=99999999999", "school_id=99999999999",
                                   "plan_id=%D9%A1", "plan_id=1_0"])
def test_ids_no_column_holds_are_ignored_in_filters_not_a_500(client, query):
    """PostgreSQL refuses to compare an INTEGER column with 99999999999 (a 500 before)."""
    s = make_setup()
    db.session.commit()
    login_as(client, s.org)
    assert client.get(f"/certificates/?{query}").status_code == 200


@pytest.mark.parametrize("data", [{"plan_id": "99999999999"}, {"plan_id": "1", "site_id": "99999999999"},
                                  {"selected": "1", "record_id": "99999999999"}])
def test_signing_with_ids_no_column_holds_is_refused_not_a_500(client, data):
    s = make_setup()
    db.session.commit()
    login_as(client, s.org)
    assert client.post("/certificates/org-sign", data=data).status_code in (302, 404)
