"""Downloads: a school's zip of PDFs per plan and site (a job), the candidate's own PDF."""
from __future__ import annotations

import io
import zipfile

import pytest
from werkzeug.exceptions import Forbidden, NotFound

from examadmin.certificates import downloads, revocation
from examadmin.certificates.states import CertificateState
from examadmin.core import jobs
from examadmin.core.errors import DomainError
from examadmin.core.jobs import Job, JobState
from examadmin.core.storage import get_storage
from examadmin.extensions import db
from tests.conftest import login_as, make_user

from .factories_issued import make_candidate_user, make_plan_and_site, make_record


@pytest.fixture
def setup():
    plan, site, school_user = make_plan_and_site()
    issued = [make_record(plan, site, name=f"考生甲{i}") for i in range(3)]
    not_yet = make_record(plan, site, state=CertificateState.READY)
    return plan, site, school_user, issued, not_yet


def test_school_zip_job_holds_the_issued_pdfs_of_the_plan_and_site(setup):
    plan, site, school_user, issued, _ = setup
    revoked = make_record(plan, site)
    revocation.revoke(make_user("org"), revoked.id, "原因")
    job = downloads.request_zip(school_user, plan.id, site.id)
    job_id = job.id
    jobs.dispatch(job)
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job.state == JobState.DONE, job.error
    assert job.result["certificates"] == 3
    with zipfile.ZipFile(get_storage().path(job.result_key)) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(downloads.file_name(r) for r in issued)
        first = next(r for r in issued if downloads.file_name(r) == names[0])
        assert archive.read(names[0]) == get_storage().read(first.file_key)
        assert archive.read(names[0]).startswith(b"%PDF")
    assert job.result_name.endswith(".zip")


def test_another_school_cannot_zip_or_download(setup):
    plan, site, _, issued, _ = setup
    stranger = make_user("school")
    with pytest.raises(NotFound):
        downloads.request_zip(stranger, plan.id, site.id)
    with pytest.raises(NotFound):
        downloads.open_pdf(stranger, issued[0].id)
    with pytest.raises(Forbidden):
        downloads.open_pdf(make_user("province"), issued[0].id)


def test_nothing_issued_gives_a_clear_message():
    plan, site, school_user = make_plan_and_site()
    make_record(plan, site, state=CertificateState.READY)
    with pytest.raises(DomainError, match="没有已发放的证书"):
        downloads.request_zip(school_user, plan.id, site.id)


def test_the_candidate_downloads_their_own_from_mine(app, setup):
    _, _, _, issued, not_yet = setup
    mine, other = issued[0], issued[1]
    candidate = app.test_client()
    login_as(candidate, make_candidate_user(mine))
    page = candidate.get("/certificates/mine").get_data(as_text=True)
    assert mine.number in page and other.number not in page
    # on a phone each certificate is a card of labelled lines (.table-stack), its button on a line of its own
    assert 'table-stack" data-testid="my-certificates"' in page and 'data-label="证书编号"' in page
    assert f'<td class="text-nowrap"><a class="btn btn-sm btn-outline-primary" href="/certificates/{mine.id}/download"' in page
    with candidate.get(f"/certificates/{mine.id}/download") as response:
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.data == get_storage().read(mine.file_key)
    assert candidate.get(f"/certificates/{other.id}/download").status_code == 404
    assert candidate.post("/certificates/zip", data={"plan_id": mine.plan_id, "site_id": mine.site_id},
                          follow_redirects=True).status_code == 200
    assert db.session.query(Job).filter(Job.kind == downloads.ZIP_JOB).count() == 0


def test_a_revoked_or_unissued_certificate_is_not_handed_out(setup):
    _, _, school_user, issued, not_yet = setup
    with pytest.raises(DomainError, match="尚未发放"):
        downloads.open_pdf(school_user, not_yet.id)
    revocation.revoke(make_user("org"), issued[0].id, "原因")
    with pytest.raises(DomainError, match="已被撤销"):
        downloads.open_pdf(make_candidate_user(issued[0]), issued[0].id)


def test_school_pages_list_and_zip(app, setup):
    plan, site, school_user, issued, _ = setup
    school = app.test_client()
    login_as(school, school_user)
    page = school.get("/certificates/downloads").get_data(as_text=True)
    assert f"zip-{plan.id}-{site.id}" in page and site.name in page
    response = school.post("/certificates/zip", data={"plan_id": plan.id, "site_id": site.id})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    with school.get(f"/jobs/{job_id}/download") as download:
        assert download.status_code == 200
        assert len(zipfile.ZipFile(io.BytesIO(download.data)).namelist()) == 3
    bad = school.post("/certificates/zip", data={"plan_id": "abc", "site_id": ""}, follow_redirects=True)
    assert "请选择考试计划和考核站点" in bad.get_data(as_text=True)
    with school.get(f"/certificates/{issued[0].id}/download") as single:
        assert single.status_code == 200 and single.data.startswith(b"%PDF")


def _undo_revocation(record):
    """What a hand-edited database does: the state back to 已发放, the revocation's traces gone."""
    db.session.execute(db.text("UPDATE certificate_record SET state = :state, revoked_at = NULL, revoke_reason = '' "
                               "WHERE id = :id"), {"state": CertificateState.ISSUED.value, "id": record.id})
    db.session.expire_all()


def test_a_revocation_undone_in_the_database_is_flagged_on_the_history_page_and_not_handed_out(app, setup):
    plan, site, school_user, issued, _ = setup
    tampered, sound = issued[0], issued[1]
    revocation.revoke(make_user("org"), tampered.id, "冒名顶替")
    db.session.flush()
    _undo_revocation(tampered)
    for actor in (school_user, make_candidate_user(tampered)):
        with pytest.raises(DomainError, match="记录异常"):
            downloads.open_pdf(actor, tampered.id)
    assert downloads.open_pdf(school_user, sound.id)[0].id == sound.id

    school = app.test_client()
    login_as(school, school_user)
    page = school.get(f"/certificates/{tampered.id}/history").get_data(as_text=True)
    assert 'data-testid="record-anomaly"' in page and "记录异常" in page
    assert "下载电子证书" not in page and 'data-testid="record-validity"' not in page
    fine = school.get(f"/certificates/{sound.id}/history").get_data(as_text=True)
    assert "记录异常" not in fine and "下载电子证书" in fine and 'data-testid="record-validity"' in fine
    listing = school.get(f"/certificates/?plan_id={plan.id}").get_data(as_text=True)
    assert listing.count('data-testid="record-anomaly"') == 1  # the list says so too, not 有效
    refused = school.get(f"/certificates/{tampered.id}/download", headers={"Referer": "/certificates/"},
                         follow_redirects=True)
    assert refused.headers["Content-Type"].startswith("text/html") and "记录异常" in refused.get_data(as_text=True)

    candidate = app.test_client()
    login_as(candidate, make_candidate_user(tampered))
    mine = candidate.get("/certificates/mine").get_data(as_text=True)
    assert f'data-testid="anomaly-{tampered.id}"' in mine and f'data-testid="download-{tampered.id}"' not in mine
    # the zip of the plan and site leaves it out too
    job = downloads.request_zip(school_user, plan.id, site.id)
    jobs.dispatch(job)
    job = db.session.get(Job, job.id)
    assert job.state == JobState.DONE and job.result["certificates"] == 2
