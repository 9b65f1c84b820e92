"""The demo's certificates: the past plan's passed results carried through every stage, then
one revoked, paper certificates printed and sent, a verification.

Issuance runs through the real services as the people would: the org makes the records and
signs (stage one), school1 (the signer) starts and confirms the QR sign-off (stage two),
the org uploads a drawn seal and issues (stage three, generated here rather than in a job).
Nothing is inserted directly. Idempotent: run again, nothing changes.
"""
from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from ..catalog.models import School
from ..core.auth import User
from ..extensions import db
from ..exams.models import ExamPlan
from ..scores.models import ScorePublication
from ..scores.states import PublicationStage
from . import paper, revocation, services, verification
from .models import CertificateRecord, PaperBatch
from .states import CertificateState, PaperState

DEMO_SCHOOL = "5150000001"
#: whose demo certificate is revoked: the social candidate, not 陈同学 (the holder of the later demos)
REVOKED_NAME = "郑海"
REVOKE_REASON = "演示：考生身份信息核查不符，经评价组织复核撤销"
CARRIER, TRACKING = "中国邮政EMS", "EMS1082026001"


#: where `examadmin serve` listens by default; scripts/demo.sh passes PUBLIC_BASE_URL for another PORT
DEMO_BASE_URL = "http://127.0.0.1:5000"


def demo_base_url() -> str:
    """The address the demo's QR codes point to: PUBLIC_BASE_URL, else where the demo is served
    (scripts/demo.sh sets PUBLIC_BASE_URL from its PORT); never the unreachable http://localhost."""
    return current_app.config.get("PUBLIC_BASE_URL") or DEMO_BASE_URL


def issue_demo(org: User, signer: User) -> int:
    """The final plans' passed results issued through the three stages; how many were issued."""
    from .pdf import demo_seal_png

    issued = 0
    final_plans = db.session.scalars(select(ExamPlan).join(ScorePublication, ScorePublication.plan_id == ExamPlan.id)
                                     .where(ScorePublication.stage == PublicationStage.FINAL)).all()
    for plan in final_plans:
        services.make_records(plan.id, org)
        waiting = db.session.scalar(select(CertificateRecord.id).where(
            CertificateRecord.plan_id == plan.id, CertificateRecord.state == CertificateState.ORG_SIGNING))
        if waiting is not None:  # a second run: nothing waits, and org_sign would say so
            services.org_sign(org, plan.id)
        for batch in services.waiting_batches(signer):
            if batch["plan"].id == plan.id:
                _, token = services.start_signoff(signer, plan.id, batch["site"].id)
                services.confirm_signoff(signer, token, ip="127.0.0.1", device="演示数据")
        if services.seal_of(plan.certificate_id) is None:
            services.upload_seal(org, plan.certificate_id, demo_seal_png(plan.certificate.org_name))
        ready = db.session.scalar(select(CertificateRecord.id).where(CertificateRecord.plan_id == plan.id,
                                                                    CertificateRecord.state == CertificateState.READY))
        if ready is not None:
            services.issue(org, plan.id, as_job=False)
            issued += services.generate(org, plan.id, base_url=demo_base_url())
    return issued


def load_demo() -> dict[str, Any]:
    """Issue the final plans' certificates; revoke the last issued demo certificate, put the
    others on paper (sent), verify the first once."""
    org = db.session.scalar(select(User).where(User.username == "org"))
    signer = db.session.scalar(select(User).where(User.username == "school1"))
    school = db.session.scalar(select(School).where(School.code == DEMO_SCHOOL))
    if org is None or school is None:
        return {}
    if signer is not None:
        issue_demo(org, signer)
    records = db.session.scalars(
        select(CertificateRecord).where(CertificateRecord.school_id == school.id,
                                        CertificateRecord.state.in_([CertificateState.ISSUED,
                                                                     CertificateState.REVOKED]))
        .order_by(CertificateRecord.id)).all()
    if len(records) < 2:
        return {}
    done: dict[str, Any] = {"revoked": 0, "paper_batches": 0}
    if not any(r.state == CertificateState.REVOKED for r in records):
        # 郑海's (README names his number): not whoever's record happens to be last, which is
        # 陈同学's on some databases, whose certificate the hours and renewals demos need
        revoked = next((r for r in records if r.name == REVOKED_NAME), records[-1])
        revocation.revoke(org, revoked.id, REVOKE_REASON)
        done["revoked"] = 1
    plan_id = records[0].plan_id
    if any(r.paper_batch_id is None and r.state == CertificateState.ISSUED and r.plan_id == plan_id
           for r in records):
        paper.start_printing(org, plan_id, school.id)
        done["paper_batches"] = 1
    for batch in db.session.scalars(select(PaperBatch).where(PaperBatch.school_id == school.id,
                                                            PaperBatch.state == PaperState.PRINTING)):
        paper.ship(org, batch.id, CARRIER, TRACKING)
    first = records[0]
    if first.state == CertificateState.ISSUED:
        verification.verify_by_code(first.verify_code, ip="demo")
    db.session.flush()
    done["try_number"], done["try_id_number"] = first.number, first.id_number
    return done
