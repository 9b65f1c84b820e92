"""Background jobs and the audit log, as their users see them."""
from __future__ import annotations

import io
import re

import openpyxl
import pytest
from sqlalchemy import select, text

from examadmin.catalog import services as catalog
from examadmin.catalog.models import Certificate
from examadmin.core import audit, jobs
from examadmin.core.auth import SYSTEM
from examadmin.core.jobs import Job, JobState, handler
from examadmin.extensions import db
from tests.conftest import login_as, make_school, make_user


def test_audit_record_keeps_who_what_before_after_and_ip(client):
    org = make_user("org")
    login_as(client, org)
    cert = catalog.save_certificate(SYSTEM, {"code": "T-1", "name": "测试证书", "org_name": "测试组织"})
    db.session.commit()
    client.post(f"/catalog/certificates/{cert.id}/state", data={"enabled": "0"},
                environ_base={"REMOTE_ADDR": "10.1.2.3"})
    entry = db.session.scalars(audit.list_entries(org, action="certificate.disable")).first()
    assert entry.actor_name == org.name and entry.ip == "10.1.2.3"
    assert entry.before == {"state": "启用"} and entry.after == {"state": "停用"}
    body = re.sub(r"<[^>]+>", "", client.get("/audit/?action=certificate.disable").get_data(as_text=True))
    assert "停用证书" in body and "状态：启用 → 停用" in body


def test_audit_export_runs_as_a_job_and_gives_an_excel_file(client):
    org = make_user("org")
    school = make_school(name="导出测试学院")
    catalog.save_school(SYSTEM, {"code": school.code, "name": "导出测试学院（改名）", "type": school.type,
                                 "province_id": school.province_id, "city_id": school.city_id}, school.id)
    login_as(client, org)
    response = client.post("/audit/export", data={"action": "school.update"})
    assert response.status_code == 302
    job = db.session.scalars(jobs.list_jobs(org)).first()
    assert job.state == JobState.DONE and job.result == {"rows": 1}
    status = client.get(f"/jobs/{job.id}.json").get_json()
    assert status["percent"] == 100 and status["finished"] and status["download_url"]
    download = client.get(status["download_url"])
    data = download.data
    download.close()
    assert "attachment" in download.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "时间" and len(rows) == 2
    assert "导出测试学院（改名）" in rows[1][7]
    assert "下载结果" in client.get(f"/jobs/{job.id}").get_data(as_text=True)


@handler("test_explode", "测试：会失败的任务")
def _explode(ctx):
    ctx.progress(1, 2, "做了一半")
    catalog.save_certificate(ctx.actor, {"code": "HALF", "name": "半途证书", "org_name": "x"})
    raise RuntimeError("磁盘已满")


def test_a_failed_job_shows_a_chinese_message_with_a_reference_keeps_its_input_and_writes_nothing_half(
        client, caplog):
    org = make_user("org")
    job = jobs.submit(org, "test_explode", {"file": "a.xlsx"}, input_key="uploads/a.xlsx", input_name="a.xlsx")
    db.session.commit()
    jobs.dispatch(job)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    # The user reads Chinese and a reference, never the exception's text.
    assert job.state == JobState.FAILED and f"错误编号 J{job.id}" in job.error
    assert "磁盘已满" not in job.error and "RuntimeError" not in job.error
    # The detail is kept for the sysadmin, and in the log with the same reference.
    assert "RuntimeError: 磁盘已满" in job.error_detail
    assert any(f"J{job.id}" in r.getMessage() and r.exc_info for r in caplog.records)
    assert job.params == {"file": "a.xlsx"} and job.input_key == "uploads/a.xlsx"
    assert db.session.scalar(select(Certificate).where(Certificate.code == "HALF")) is None
    login_as(client, org)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert f"错误编号 J{job.id}" in page and "a.xlsx" in page and "重新运行" in page
    assert "磁盘已满" not in page and "RuntimeError" not in page and "Traceback" not in page
    status = client.get(f"/jobs/{job.id}.json").get_json()
    assert "磁盘已满" not in str(status) and status["state_label"] == "失败"
    admin = make_user("sysadmin")
    login_as(client, admin)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "错误详情" in page and "RuntimeError: 磁盘已满" in page
    login_as(client, org)
    again = client.post(f"/jobs/{job.id}/retry")
    assert again.status_code == 302
    new_job = db.session.scalars(jobs.list_jobs(org)).first()
    assert new_job.id != job.id and new_job.input_key == "uploads/a.xlsx"


@handler("test_result_file", "测试：带结果文件的任务")
def _result_file(ctx):
    key = ctx.storage.new_key("test", ".xlsx")
    ctx.storage.save(key, b"110101200001011237")
    ctx.set_result_file(key, "结果.xlsx")


def test_the_sysadmin_sees_a_job_but_not_its_files_which_only_its_owner_gets(client):
    """A result (an annotated import sheet, tickets) holds whole ID numbers; the sysadmin helps
    with every job's state and error but neither downloads its files nor runs it again."""
    school = make_user("school")
    job = jobs.submit(school, "test_result_file", {}, input_key="uploads/b.xlsx", input_name="b.xlsx")
    db.session.commit()
    jobs.dispatch(job)
    admin = make_user("sysadmin")
    db.session.commit()
    login_as(client, admin)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "已完成" in page and "只有发起人可以下载" in page and f"/jobs/{job.id}/download" not in page
    assert "download_url" not in client.get(f"/jobs/{job.id}.json").get_json()
    assert client.get(f"/jobs/{job.id}/download").status_code == 404
    with pytest.raises(jobs.permissions.NotInScope):
        jobs.retry(admin, job.id)
    login_as(client, school)
    assert f"/jobs/{job.id}/download" in client.get(f"/jobs/{job.id}").get_data(as_text=True)
    response = client.get(f"/jobs/{job.id}/download")
    body = response.data
    response.close()
    assert response.status_code == 200 and body == b"110101200001011237"


@handler("test_refuse", "测试：因用户可改正的错误失败")
def _refuse(ctx):
    from examadmin.core.errors import DomainError

    raise DomainError("第 3 行：证件号码格式不正确")


def test_a_job_refused_for_a_domain_error_shows_that_message_and_no_detail():
    org = make_user("org")
    job = jobs.submit(org, "test_refuse", {})
    db.session.commit()
    jobs.dispatch(job)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.error == "第 3 行：证件号码格式不正确" and job.error_detail is None


def test_only_failed_jobs_can_be_retried():
    org = make_user("org")
    job = jobs.submit(org, "audit_export", {})
    db.session.commit()
    jobs.dispatch(job)
    with pytest.raises(Exception, match="只有失败的任务"):
        jobs.retry(org, job.id)


@handler("test_explode_with_a_number", "测试：异常里有证件号码的任务")
def _explode_with_a_number(ctx):
    raise ValueError("考生 110101199003074477 的记录有误，电话 13800138000")


def test_a_failed_jobs_detail_keeps_no_whole_id_or_mobile_number():
    org = make_user("org")
    job = jobs.submit(org, "test_explode_with_a_number", {})
    db.session.commit()
    jobs.dispatch(job)
    db.session.expire_all()
    detail = db.session.get(Job, job.id).error_detail
    assert "ValueError" in detail and "110101199003074477" not in detail and "13800138000" not in detail
    stored = db.session.execute(text("SELECT error_detail FROM job WHERE id = :id"), {"id": job.id}).scalar()
    assert "110101199003074477" not in stored


def test_a_queued_job_says_it_waits_rather_than_0_of_0(client):
    org = make_user("org")
    job = jobs.submit(org, "test_refuse", {})  # not dispatched: it waits in the queue
    db.session.commit()
    login_as(client, org)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "排队中，等待后台处理" in page and "0 / 0" not in page
