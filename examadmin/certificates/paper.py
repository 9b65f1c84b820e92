"""Paper certificates (纸质证书): the org records 印制中 and 已寄出 per school batch.

Printing follows issue by 1-5 working days. A batch covers the issued certificates of one
school and plan that no batch holds yet; shipping records the carrier and tracking number.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select, update

from ..core import audit, clock, permissions
from ..core.errors import DomainError
from ..exams.models import ExamPlan
from ..catalog.models import School
from ..extensions import db
from .models import CertificateRecord, PaperBatch
from .states import PAPER, CertificateState

_TRACKING = re.compile(r"^[A-Za-z0-9\-]{6,40}$")


def start_printing(actor: Any, plan_id: int, school_id: int) -> PaperBatch:
    """Put the school's issued certificates of a plan that are not in a batch yet into a new batch 印制中."""
    permissions.require(actor, "certificates.paper")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    school = permissions.get_for(actor, School, school_id)
    waiting = (CertificateRecord.plan_id == plan.id, CertificateRecord.school_id == school.id,
               CertificateRecord.state == CertificateState.ISSUED, CertificateRecord.paper_batch_id.is_(None))
    count = db.session.scalar(select(func.count()).select_from(CertificateRecord).where(*waiting))
    if not count:
        raise DomainError(f"{school.name}在该考试计划中没有待印制的已发放证书")
    batch = PaperBatch(plan_id=plan.id, school_id=school.id)
    db.session.add(batch)
    db.session.flush()
    # One set-based update; the condition is repeated so a concurrent batch cannot take the same record.
    taken = db.session.execute(update(CertificateRecord).where(*waiting).values(paper_batch_id=batch.id)
                               .execution_options(synchronize_session="fetch")).rowcount
    if not taken:
        raise DomainError(f"{school.name}在该考试计划中没有待印制的已发放证书")
    audit.record(actor, "paper_batch.create", batch, after={"state": batch.state.value, "certificates": taken})
    return batch


def ship(actor: Any, batch_id: int, carrier: str, tracking_number: str) -> PaperBatch:
    """Record that a batch was sent (已寄出) with its carrier and tracking number."""
    permissions.require(actor, "certificates.paper")
    batch = permissions.get_for(actor, PaperBatch, batch_id)
    carrier = (carrier or "").strip()
    tracking_number = (tracking_number or "").strip()
    if not carrier:
        raise DomainError("请填写快递公司", field="carrier")
    if len(carrier) > 40:
        raise DomainError("快递公司不能超过 40 个字", field="carrier")
    if not _TRACKING.match(tracking_number):
        raise DomainError("快递单号应为 6-40 位字母、数字或连字符", field="tracking_number")
    PAPER.move(batch, "ship", actor)
    batch.carrier, batch.tracking_number, batch.shipped_at = carrier, tracking_number, clock.now()
    audit.record(actor, "paper_batch.tracking", batch, after={"carrier": carrier, "tracking_number": tracking_number})
    return batch


def list_batches(actor: Any, plan_id: int | None = None):
    """The paper batches the actor may see (the org all, a school its own), newest first, with counts."""
    permissions.require(actor, "certificates.history")
    count = (select(func.count()).where(CertificateRecord.paper_batch_id == PaperBatch.id)
             .correlate(PaperBatch).scalar_subquery())
    query = permissions.scoped(actor, select(PaperBatch, count.label("certificates")), PaperBatch)
    if plan_id:
        query = query.where(PaperBatch.plan_id == plan_id)
    return query.order_by(PaperBatch.id.desc())


def waiting_counts(actor: Any):
    """Per plan and school, how many issued certificates wait for a paper batch (for the org's page)."""
    permissions.require(actor, "certificates.paper")
    return db.session.execute(
        select(CertificateRecord.plan_id, ExamPlan.name, CertificateRecord.school_id, School.name,
               func.count())
        .join(ExamPlan, ExamPlan.id == CertificateRecord.plan_id)
        .join(School, School.id == CertificateRecord.school_id)
        .where(CertificateRecord.state == CertificateState.ISSUED, CertificateRecord.paper_batch_id.is_(None))
        .group_by(CertificateRecord.plan_id, ExamPlan.name, CertificateRecord.school_id, School.name)
        .order_by(CertificateRecord.plan_id, School.name).limit(200)).all()
