"""Certificate records, stage one, the QR sign-off and issue (DOMAIN.md §10), through the services."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden

from examadmin.catalog.models import School
from examadmin.certificates import numbers, services, signing
from examadmin.certificates.models import CertificateRecord, CertificateSignoff
from examadmin.certificates.pdf import demo_seal_png
from examadmin.certificates.states import CertificateState as S
from examadmin.core import clock
from examadmin.core.audit import AuditLog
from examadmin.core.errors import DomainError
from examadmin.core.storage import get_storage
from examadmin.extensions import db
from examadmin.scores.states import PublicationStage
from tests.certificates.factories import make_result, make_setup
from tests.conftest import make_user


def records(plan):
    return db.session.scalars(select(CertificateRecord).where(CertificateRecord.plan_id == plan.id)
                              .order_by(CertificateRecord.id)).all()


def seal(s):
    services.upload_seal(s.org, s.plan.certificate_id, demo_seal_png("测试评价组织"))


def to_site_signing(s):
    services.make_records(s.plan.id, s.org)
    services.org_sign(s.org, s.plan.id)


def to_ready(s):
    to_site_signing(s)
    _, token = services.start_signoff(s.school_user, s.plan.id, s.site.id)
    services.confirm_signoff(s.signer, token, ip="10.0.0.8", device="iPhone")


# ---- records -----------------------------------------------------------------------------------

def test_records_are_made_for_passed_final_results_only_and_once():
    s = make_setup(passed=3, failed=2)
    assert services.make_records(s.plan.id, s.org) == 3
    made = records(s.plan)
    assert [r.state for r in made] == [S.ORG_SIGNING] * 3
    passed = {r.id for r in s.results[:3]}
    assert {r.result_id for r in made} == passed
    first = made[0]
    candidate = first.result.registration.candidate
    assert (first.name, first.gender, first.id_number) == (candidate.name, candidate.gender, candidate.id_number)
    assert len({r.verify_code for r in made}) == 3 and all(len(r.verify_code) >= 30 for r in made)
    assert services.make_records(s.plan.id, s.org) == 0  # idempotent
    make_result(s.plan, s.site, True)
    assert services.make_records(s.plan.id, s.org) == 1
    assert len(records(s.plan)) == 4


def test_a_person_who_holds_a_certificate_of_the_level_gets_no_second_one():
    """Registered for one level in two plans before either was published, a person passes
    both; the second plan makes no second live certificate for them."""
    s = make_setup(passed=1, failed=0)
    assert services.make_records(s.plan.id, s.org) == 1
    held = records(s.plan)[0]
    again = make_result(s.plan, s.site, True, name="王重考")
    held.id_type, held.id_number = again.id_type, again.id_number  # the same person holds the level
    db.session.flush()
    assert services.make_records(s.plan.id, s.org) == 0
    assert services.holders_without_new_record(s.org, s.plan.id) == ["王重考"]
    assert services.plan_steps(s.org, s.plan.id).to_make == 0  # 生成证书记录 is not offered for them
    held.state = S.REVOKED  # a revoked certificate is none: the pass may be certified again
    db.session.flush()
    assert services.holders_without_new_record(s.org, s.plan.id) == []
    assert services.plan_steps(s.org, s.plan.id).to_make == 1
    assert services.make_records(s.plan.id, s.org) == 1


@pytest.mark.parametrize("stage", [PublicationStage.ENTERING, PublicationStage.DISPLAY])
def test_no_records_before_scores_are_final(stage):
    s = make_setup(stage=stage)
    with pytest.raises(DomainError, match="成绩尚未发布"):
        services.make_records(s.plan.id, s.org)
    assert records(s.plan) == []


def test_lists_are_filtered_counted_and_scoped_per_school():
    s = make_setup(passed=3, failed=0)
    other = make_setup(passed=2, failed=0)
    services.make_records(s.plan.id, s.org)
    services.make_records(other.plan.id, other.org)
    services.org_sign(s.org, record_ids=[records(s.plan)[0].id])

    counts = services.state_counts(s.org, {"plan_id": str(s.plan.id)})
    assert counts[S.ORG_SIGNING] == 2 and counts[S.SITE_SIGNING] == 1 and counts[S.ISSUED] == 0
    listed = db.session.scalars(services.list_records(s.org, {"plan_id": s.plan.id, "state": "考核站点待签发"})).all()
    assert [r.id for r in listed] == [records(s.plan)[0].id]
    # unknown filter values are ignored, not an error
    assert len(db.session.scalars(services.list_records(s.org, {"state": "nonsense", "site_id": "x"})).all()) >= 5
    # a school sees its own records only
    mine = db.session.scalars(services.list_records(s.school_user, {})).all()
    assert {r.school_id for r in mine} == {s.site.school_id} and len(mine) == 3
    assert sum(services.state_counts(other.school_user, {}).values()) == 2
    school_of_s = db.session.get(School, s.site.school_id)
    by_province = services.state_counts(s.org, {"province_id": school_of_s.province_id, "plan_id": s.plan.id})
    assert sum(by_province.values()) == 3


# ---- stage one ---------------------------------------------------------------------------------

def test_a_plan_batch_signs_only_the_waiting_records_and_reports_no_refusals():
    s = make_setup(passed=3, failed=0)
    services.make_records(s.plan.id, s.org)
    first = records(s.plan)[0]
    services.org_sign(s.org, record_ids=[first.id])
    outcome = services.org_sign(s.org, s.plan.id, s.site.id)
    # the record signed before is not part of the batch: no "1 份被拒绝" for it
    assert len(outcome.done) == 2 and outcome.refused == []
    assert outcome.message == "2 份证书已处理"
    assert all(r.state == S.SITE_SIGNING and r.org_signed_by_id == s.org.id for r in records(s.plan))
    with pytest.raises(DomainError, match="没有待评价组织签发的证书"):
        services.org_sign(s.org, s.plan.id, s.site.id)
    with pytest.raises(DomainError, match="没有待评价组织签发的证书"):
        services.org_sign(s.org, s.plan.id)


def test_ticked_records_whose_state_changed_meanwhile_are_refused_by_name():
    s = make_setup(passed=3, failed=0)
    services.make_records(s.plan.id, s.org)
    first, second, _ = records(s.plan)
    services.org_sign(s.org, record_ids=[first.id])
    outcome = services.org_sign(s.org, record_ids=[first.id, second.id])
    assert [r.id for r in outcome.done] == [second.id]
    assert [r.id for r, _ in outcome.refused] == [first.id]
    assert "考核站点待签发" in outcome.refused[0][1]


def test_signing_the_ticked_records_with_none_ticked_asks_to_tick_first():
    s = make_setup(passed=2, failed=0)
    services.make_records(s.plan.id, s.org)
    for nothing in ([], ["", "abc"]):
        with pytest.raises(DomainError, match="请先勾选证书记录"):
            services.org_sign(s.org, s.plan.id, None, nothing)
    assert all(r.state == S.ORG_SIGNING for r in records(s.plan))


def test_a_second_round_of_every_stage_takes_only_the_records_waiting_in_it():
    """Records already past a stage are not part of that stage's next batch: none is reported
    as refused in stage one, the school's sign-off or issue."""
    s = make_setup(passed=3, failed=0)
    services.make_records(s.plan.id, s.org)
    first = records(s.plan)[0]
    services.org_sign(s.org, record_ids=[first.id])
    to_ready_first = services.start_signoff(s.school_user, s.plan.id, s.site.id)[1]
    services.confirm_signoff(s.signer, to_ready_first)
    seal(s)
    services.issue(s.org, s.plan.id, as_job=False)
    services.generate(s.org, s.plan.id)
    assert db.session.get(CertificateRecord, first.id).state == S.ISSUED

    signed = services.org_sign(s.org, s.plan.id, s.site.id)
    assert len(signed.done) == 2 and signed.refused == []
    signoff, token = services.start_signoff(s.school_user, s.plan.id, s.site.id)
    assert first.id not in signoff.record_ids and len(signoff.record_ids) == 2
    confirmed = services.confirm_signoff(s.signer, token)
    assert len(confirmed.done) == 2 and confirmed.refused == []
    assert services.issue(s.org, s.plan.id, as_job=False)[1] == 2


def test_only_the_org_signs_stage_one():
    s = make_setup()
    services.make_records(s.plan.id, s.org)
    with pytest.raises(Forbidden):
        services.org_sign(s.school_user, s.plan.id)


# ---- stage two: the QR sign-off ----------------------------------------------------------------

def test_the_signer_confirms_the_batch_once_and_who_when_where_is_recorded():
    s = make_setup(passed=3, failed=0)
    to_site_signing(s)
    signoff, token = services.start_signoff(s.school_user, s.plan.id, s.site.id)
    summary = services.signoff_summary(s.signer, token)
    assert summary.count == 3 and len(summary.sample) == 3 and summary.plan.id == s.plan.id
    assert services.signoff_status(s.school_user, signoff.id)["confirmed"] is False

    outcome = services.confirm_signoff(s.signer, token, ip="10.0.0.8", device="Mozilla/5.0 (iPhone)")
    assert len(outcome.done) == 3
    assert all(r.state == S.READY and r.signoff_id == signoff.id for r in records(s.plan))
    db.session.refresh(signoff)
    assert signoff.confirmed_by_id == s.signer.id and signoff.confirmed_ip == "10.0.0.8"
    assert "iPhone" in signoff.confirmed_device and signoff.confirmed_at is not None
    assert services.signoff_status(s.school_user, signoff.id)["confirmed"] is True

    with pytest.raises(services.SignoffRefused, match="已被使用") as replay:
        services.confirm_signoff(s.signer, token)
    assert replay.value.reason == "replayed"


def test_refusals_expired_altered_other_school_and_non_signer(monkeypatch):
    s = make_setup(passed=2, failed=0)
    to_site_signing(s)
    signoff, token = services.start_signoff(s.school_user, s.plan.id, s.site.id)

    altered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    with pytest.raises(services.SignoffRefused, match="篡改"):
        services.confirm_signoff(s.signer, altered)
    other_signer = make_user("school", signer=True)
    with pytest.raises(services.SignoffRefused, match="其他院校"):
        services.confirm_signoff(other_signer, token)
    plain = make_user("school", school=db.session.get(School, s.site.school_id))
    with pytest.raises(services.SignoffRefused, match="签发负责人"):
        services.confirm_signoff(plain, token)
    with pytest.raises(services.SignoffRefused, match="签发负责人") as refused:
        services.confirm_signoff(s.org, token)
    assert refused.value.reason == "not_signer" and refused.value.signoff_id == signoff.id

    later = clock.now() + timedelta(minutes=services.SIGNOFF_MINUTES, seconds=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(services.SignoffRefused, match="过期"):
        services.confirm_signoff(s.signer, token)
    assert all(r.state == S.SITE_SIGNING for r in records(s.plan))
    assert db.session.get(CertificateSignoff, signoff.id).confirmed_at is None


def test_a_refusal_is_logged_in_the_audit_trail():
    s = make_setup(passed=1, failed=0)
    to_site_signing(s)
    signoff, token = services.start_signoff(s.school_user, s.plan.id, s.site.id)
    plain = make_user("school", school=db.session.get(School, s.site.school_id))
    try:
        services.confirm_signoff(plain, token)
    except services.SignoffRefused as exc:
        services.log_refusal(plain, exc, ip="10.0.0.9", device="phone")
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "certificate_signoff.refused"))
    assert entry.actor_id == plain.id and entry.entity_id == signoff.id
    assert entry.after["reason"] == "not_signer" and entry.after["ip"] == "10.0.0.9"


def test_nothing_to_sign_off_is_refused():
    s = make_setup()
    with pytest.raises(DomainError, match="没有待签发"):
        services.start_signoff(s.school_user, s.plan.id, s.site.id)


# ---- stage three: issue ------------------------------------------------------------------------

def test_issue_needs_a_seal_and_waiting_records():
    s = make_setup(passed=1, failed=0)
    to_ready(s)
    with pytest.raises(DomainError, match="电子印章"):
        services.issue(s.org, s.plan.id)
    seal(s)
    other = make_setup(passed=1, failed=0)
    with pytest.raises(DomainError, match="没有待发放"):
        services.issue(other.org, other.plan.id)


def test_issue_generates_signed_numbered_certificates_as_a_job():
    from examadmin.core import jobs

    s = make_setup(passed=3, failed=0)
    to_ready(s)
    seal(s)
    job, count = services.issue(s.org, s.plan.id)
    assert count == 3 and all(r.state == S.GENERATING for r in records(s.plan))
    jobs.dispatch(job)  # immediate mode: runs now
    job = db.session.get(jobs.Job, job.id)
    assert job.state == jobs.JobState.DONE, job.error
    assert job.result == {"issued": 3}
    issued = records(s.plan)
    assert all(r.state == S.ISSUED for r in issued)
    assert len({r.number for r in issued}) == 3
    assert all(numbers.is_well_formed(r.number) for r in issued)
    assert all(signing.verify_signature(r) for r in issued)
    pdf = get_storage().read(issued[0].file_key)
    assert pdf.startswith(b"%PDF") and b"/MediaBox [ 0 0 841.8898 595.2756 ]" in pdf
    assert b"FontFile2" in pdf  # the CJK font is embedded


def test_numbers_are_never_reused_across_issues():
    s = make_setup(passed=2, failed=0)
    to_ready(s)
    seal(s)
    services.issue(s.org, s.plan.id, as_job=False)
    services.generate(s.org, s.plan.id)
    first = {r.number for r in records(s.plan)}
    make_result(s.plan, s.site, True)
    services.make_records(s.plan.id, s.org)
    services.org_sign(s.org, s.plan.id)
    _, token = services.start_signoff(s.school_user, s.plan.id, s.site.id)
    services.confirm_signoff(s.signer, token)
    services.issue(s.org, s.plan.id, as_job=False)
    services.generate(s.org, s.plan.id)
    numbers_ = [r.number for r in records(s.plan)]
    assert len(set(numbers_)) == 3 and first < set(numbers_)
    assert max(int(n[8:16]) for n in numbers_) == 3


def test_a_record_altered_in_the_database_fails_verification():
    s = make_setup(passed=1, failed=0)
    to_ready(s)
    seal(s)
    services.issue(s.org, s.plan.id, as_job=False)
    services.generate(s.org, s.plan.id)
    record = records(s.plan)[0]
    assert signing.verify_signature(record)
    db.session.execute(CertificateRecord.__table__.update().where(CertificateRecord.id == record.id)
                       .values(name="王冒名"))
    db.session.expire_all()
    assert not signing.verify_signature(db.session.get(CertificateRecord, record.id))


# ---- seals -------------------------------------------------------------------------------------

def test_a_seal_that_is_not_an_image_is_refused():
    s = make_setup(passed=1, failed=0)
    with pytest.raises(DomainError, match="不是 PNG 或 JPEG"):
        services.upload_seal(s.org, s.plan.certificate_id, b"GIF89a" + b"\0" * 100)
    with pytest.raises(DomainError, match="不是 PNG 或 JPEG"):
        services.upload_seal(s.org, s.plan.certificate_id, b"%PDF-1.4 pretending")
    with pytest.raises(DomainError, match="已损坏"):
        services.upload_seal(s.org, s.plan.certificate_id, b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    with pytest.raises(Forbidden):
        services.upload_seal(s.school_user, s.plan.certificate_id, demo_seal_png("x"))
    assert services.seal_of(s.plan.certificate_id) is None
    seal(s)
    assert services.seal_of(s.plan.certificate_id) is not None


def test_counts_match_number_of_records():
    s = make_setup(passed=2, failed=0)
    services.make_records(s.plan.id, s.org)
    total = db.session.scalar(select(func.count()).select_from(CertificateRecord)
                              .where(CertificateRecord.plan_id == s.plan.id))
    assert sum(services.state_counts(s.org, {"plan_id": s.plan.id}).values()) == total == 2


def test_the_qr_url_carries_the_unguessable_code_at_the_public_address(app, monkeypatch):
    s = make_setup(passed=1, failed=0)
    services.make_records(s.plan.id, s.org)
    record = records(s.plan)[0]
    assert services.verify_url(record, "http://school-lan:8000/") == \
        f"http://school-lan:8000/certificates/v/{record.verify_code}"
    assert services.verify_url(record) == f"http://examadmin.test/certificates/v/{record.verify_code}"
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://zs.example.cn")
    assert services.verify_url(record, "http://school-lan:8000/") == \
        f"https://zs.example.cn/certificates/v/{record.verify_code}"


def test_the_e_certificate_shows_the_issued_data_the_photo_the_seal_and_the_qr_code():
    """What is printed: every field of the issued record (the ID number whole: the certificate is
    the holder's own document; public answers mask it), the photo, the seal and a QR code whose
    modules are exactly those of the record's verification URL."""
    import io

    from PIL import Image
    from pypdf import PdfReader

    from examadmin.certificates.pdf import _qr_matrix

    s = make_setup(passed=1, failed=0)
    candidate = s.results[0].registration.candidate
    photo = io.BytesIO()
    Image.new("RGB", (358, 441), (40, 90, 160)).save(photo, "JPEG", quality=85)
    candidate.photo_key = get_storage().save(get_storage().new_key("photos", ".jpg"), photo.getvalue())
    to_ready(s)
    seal(s)
    services.issue(s.org, s.plan.id, as_job=False)
    services.generate(s.org, s.plan.id, base_url="https://zs.example.cn")
    record = records(s.plan)[0]
    level = record.certificate_level
    page = PdfReader(io.BytesIO(get_storage().read(record.file_key))).pages[0]

    text = page.extract_text()
    day = record.issue_date
    for value in (record.name, record.gender, record.id_number, level.certificate.name, level.level.value,
                  record.number, f"{day.year}年{day.month}月{day.day}日", level.certificate.org_name):
        assert value in text, value

    images = {(im.image.width, im.image.height, im.image.mode): im.image for im in page.images}
    assert (358, 441, "RGB") in images  # the photo, as stored
    seal_image = next(im for (w, h, mode), im in images.items() if w == h and w >= 100)
    rgb = seal_image.convert("RGB").tobytes()
    red = sum(1 for i in range(0, len(rgb), 3) if rgb[i] > 150 and rgb[i + 1] < 100 and rgb[i + 2] < 100)
    assert red > 500  # the drawn seal's red ring and star
    matrix = _qr_matrix(services.verify_url(record, "https://zs.example.cn"))
    assert record.verify_code in services.verify_url(record, "https://zs.example.cn")
    n = len(matrix)
    qr = images[(n, n, "L")]
    assert [[qr.getpixel((x, y)) < 128 for x in range(n)] for y in range(n)] == \
        [[bool(dark) for dark in line] for line in matrix]
