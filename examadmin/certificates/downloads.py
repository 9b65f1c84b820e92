"""Downloads of issued e-certificates: one PDF (school, org, the holder) and a school's zip per plan and site.

A zip of many PDFs is built by a background job (never inside a request); a revoked
certificate is not handed out any more.
"""
from __future__ import annotations

import re
import zipfile
from typing import Any

from sqlalchemy import func, select

from ..core import audit, clock, jobs, permissions
from ..core.audit import AuditLog
from ..core.errors import DomainError
from ..core.jobs import JobContext
from ..core.storage import get_storage
from ..core.roles import Role
from ..exams.models import ExamPlan
from ..extensions import db
from ..sites.models import ExamSite
from .models import CertificateRecord
from .states import CertificateState
from .verification import revoked_but_not_in_state

#: a record revoked once whose state says otherwise (verification answers 记录异常): not handed out
ANOMALY_REFUSAL = "该证书记录异常（曾被撤销，但记录状态与撤销记录不符），不能下载，请联系评价组织核实。"

ZIP_JOB = "certificates_zip"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def file_name(record: CertificateRecord) -> str:
    """The PDF's name in a download: number and name, nothing a file system would refuse."""
    return _UNSAFE.sub("_", f"{record.number}_{record.name}.pdf")


def open_pdf(actor: Any, record_id: int) -> tuple[CertificateRecord, Any]:
    """The e-certificate of an issued record in the actor's scope, as (record, local path)."""
    permissions.require(actor, "certificates.download")
    record = permissions.get_for(actor, CertificateRecord, record_id)
    if record.state == CertificateState.REVOKED:
        raise DomainError("该证书已被撤销，不能再下载")
    if record.state != CertificateState.ISSUED or not record.file_key:
        raise DomainError("该证书尚未发放，暂不能下载")
    if revoked_but_not_in_state(record):
        raise DomainError(ANOMALY_REFUSAL)
    storage = get_storage()
    if not storage.exists(record.file_key):
        raise DomainError("电子证书文件不存在，请联系评价组织重新生成")
    audit.record(actor, "certificate_record.download", record)
    return record, storage.path(record.file_key)


def my_certificates(actor: Any) -> list[CertificateRecord]:
    """A candidate's own issued (or revoked) certificates, newest first."""
    permissions.require(actor, "certificates.download")
    return list(db.session.scalars(permissions.scoped(actor, select(CertificateRecord))
                                   .order_by(CertificateRecord.issued_at.desc(), CertificateRecord.id.desc())
                                   .limit(100)))


def _not_revoked_in_the_audit_trail():
    """Leaves out issued records that the audit trail says were revoked (记录异常)."""
    return ~select(AuditLog.id).where(AuditLog.entity_type == CertificateRecord.__tablename__,
                                      AuditLog.entity_id == CertificateRecord.id,
                                      AuditLog.action == "certificate.revoke").exists()


def _zip_scope(actor: Any, plan_id: int, site_id: int):
    return (permissions.scoped(actor, select(CertificateRecord))
            .where(CertificateRecord.plan_id == plan_id, CertificateRecord.site_id == site_id,
                   CertificateRecord.state == CertificateState.ISSUED, _not_revoked_in_the_audit_trail()))


def request_zip(actor: Any, plan_id: int, site_id: int) -> jobs.Job:
    """Start the job that zips the issued e-certificates of a plan and site (a school: its own)."""
    permissions.require(actor, "certificates.download")
    if actor.role == Role.CANDIDATE:
        raise DomainError("考生请在“我的证书”中下载本人证书")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    site = permissions.get_for(actor, ExamSite, site_id)
    count = db.session.scalar(select(func.count()).select_from(_zip_scope(actor, plan.id, site.id).subquery()))
    if not count:
        raise DomainError(f"考核站点「{site.name}」在该考试计划中没有已发放的证书")
    return jobs.submit(actor, ZIP_JOB, {"plan_id": plan.id, "site_id": site.id},
                       title=f"打包下载电子证书：{plan.name} · {site.name}")


@jobs.handler(ZIP_JOB, "打包下载电子证书")
def build_zip(ctx: JobContext) -> None:
    """Write the issued e-certificates of a plan and site into one zip (PDFs are stored, not recompressed)."""
    plan_id, site_id = int(ctx.params["plan_id"]), int(ctx.params["site_id"])
    plan = permissions.get_for(ctx.actor, ExamPlan, plan_id)
    site = permissions.get_for(ctx.actor, ExamSite, site_id)
    records = db.session.scalars(_zip_scope(ctx.actor, plan.id, site.id).order_by(CertificateRecord.number)).all()
    total = len(records)
    ctx.progress(0, total, "正在打包电子证书", force=True)
    key = ctx.storage.new_key("exports", ".zip")
    written, missing = 0, []
    with zipfile.ZipFile(ctx.storage.path(key), "w", compression=zipfile.ZIP_STORED) as archive:
        for done, record in enumerate(records, 1):
            if record.file_key and ctx.storage.exists(record.file_key):
                archive.write(ctx.storage.path(record.file_key), file_name(record))
                written += 1
            else:
                missing.append(record.number)
            ctx.progress(done, total)
    if not written:
        ctx.storage.delete(key)
        raise DomainError("没有可打包的电子证书文件")
    ctx.set_result_file(key, _UNSAFE.sub("_", f"电子证书_{plan.name}_{site.name}_{clock.now():%Y%m%d}.zip"))
    ctx.job.result = {"certificates": written, "missing": missing[:50]}
    message = f"已打包 {written} 份电子证书"
    if missing:
        message += f"，{len(missing)} 份文件缺失"
    ctx.progress(total, total, message, force=True)


def zip_groups(actor: Any):
    """Per plan and site in the actor's scope: how many issued certificates a zip would hold."""
    permissions.require(actor, "certificates.download")
    if actor.role == Role.CANDIDATE:
        return []
    query = (permissions.scoped(actor, select(CertificateRecord.plan_id, ExamPlan.name, CertificateRecord.site_id,
                                              ExamSite.name, func.count()), CertificateRecord)
             .join(ExamPlan, ExamPlan.id == CertificateRecord.plan_id)
             .join(ExamSite, ExamSite.id == CertificateRecord.site_id)
             .where(CertificateRecord.state == CertificateState.ISSUED, _not_revoked_in_the_audit_trail())
             .group_by(CertificateRecord.plan_id, ExamPlan.name, CertificateRecord.site_id, ExamSite.name)
             .order_by(CertificateRecord.plan_id.desc(), ExamSite.name).limit(200))
    return db.session.execute(query).all()
