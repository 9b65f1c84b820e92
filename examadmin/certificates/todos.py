"""The certificates area's to-do sources (DOMAIN.md §10): what waits after the scores are final.

The org: plans whose scores are published but whose certificate records were never made
(生成证书记录), records waiting for its signature (待评价组织签发) and for 发放, per plan with a
link to that plan's records in that state. A school: its records waiting for 考核站点签发. Any
of its users may press 签发 (certificates.start_signoff); the signer (签发负责人) confirms by
scanning, so every school user sees the count and the hint says who does what.

Each org source is one grouped statement; the school's count joins the dashboard's one query.
"""
from __future__ import annotations

from typing import Any, Iterable

from flask import url_for
from sqlalchemy import func, select

from ..core import permissions
from ..core.todo import Todo, count_in_scope, source
from ..exams.models import ExamPlan
from ..extensions import db
from ..scores.models import Result, ScorePublication
from ..scores.states import PublicationStage
from .models import CertificateRecord
from .services import holds_the_level
from .states import CertificateState

#: plans listed at most per to-do (those with the most records first)
MAX_PLANS = 5

S = CertificateState
#: the org's waiting states: label, hint, and the permission the step needs
ORG_STEPS = {
    S.ORG_SIGNING: ("待评价组织签发", "核对发证信息后按“评价组织签发”，签发后等待考核站点签发", "certificates.org_sign"),
    S.READY: ("待发放的证书", "考核站点已签发：按“发放”编号并生成电子证书（须已上传电子印章）", "certificates.issue"),
}


@source("certificates.make_records", order=55)
def records_to_make(user: Any) -> Iterable[Todo]:
    """Final plans with passed results and no certificate record at all; the count is those results.

    Only plans without any record: telling a plan with a few results short of records would read
    every passed result of every published plan on each dashboard view."""
    if not permissions.can(user, "certificates.issue") or not permissions.can(user, "certificates.org_sign"):
        return []
    any_record = select(CertificateRecord.id).where(CertificateRecord.plan_id == ScorePublication.plan_id)
    final_without = select(ScorePublication.plan_id).where(ScorePublication.stage == PublicationStage.FINAL,
                                                           ~any_record.exists())
    passed = func.count(Result.id)
    rows = db.session.execute(
        select(Result.plan_id, ExamPlan.name, passed)
        .join(ExamPlan, ExamPlan.id == Result.plan_id)
        .where(Result.plan_id.in_(final_without), Result.passed.is_(True), permissions.scope_clause(user, Result),
               ~holds_the_level())  # those who hold the level already get no record
        .group_by(Result.plan_id, ExamPlan.name)
        .order_by(passed.desc(), Result.plan_id)
        .limit(MAX_PLANS)).all()
    return [Todo(f"待生成证书记录（{name}）", count, url_for("certificates.index", plan_id=plan_id),
                 "成绩已发布：按“生成证书记录”为合格的考生生成证书记录（数字为合格人数）")
            for plan_id, name, count in rows]


@source("certificates.org_steps", order=56)
def org_steps(user: Any) -> Iterable[Todo]:
    """The org's records per plan in 待评价组织签发 and 待发放, in one statement."""
    states = [s for s, (_, _, permission) in ORG_STEPS.items() if permissions.can(user, permission)]
    if not states or not permissions.can(user, "certificates.org_sign"):
        return []
    count = func.count(CertificateRecord.id)
    rows = db.session.execute(
        select(CertificateRecord.state, CertificateRecord.plan_id, ExamPlan.name, count)
        .join(ExamPlan, ExamPlan.id == CertificateRecord.plan_id)
        .where(permissions.scope_clause(user, CertificateRecord), CertificateRecord.state.in_(states))
        .group_by(CertificateRecord.state, CertificateRecord.plan_id, ExamPlan.name)
        .order_by(count.desc(), CertificateRecord.plan_id)).all()
    items: list[Todo] = []
    for state in states:
        label, hint, _ = ORG_STEPS[state]
        plans = [row for row in rows if row.state == state][:MAX_PLANS]
        items += [Todo(f"{label}（{name}）", n, url_for("certificates.index", plan_id=plan_id, state=state.value), hint)
                  for _, plan_id, name, n in plans]
    return items


@source("certificates.site_signing", order=57)
def site_signing(user: Any) -> Iterable[Todo]:
    """The school's records waiting for its sign-off; linked to the list with the 签发 buttons."""
    if not permissions.can(user, "certificates.site_sign"):
        return []
    count = count_in_scope(user, CertificateRecord, CertificateRecord.state == S.SITE_SIGNING)
    hint = ("按“签发”显示二维码，用您已登录的手机扫码确认" if getattr(user, "is_signer", False)
            else "按“签发”显示二维码，由本院校的签发负责人用已登录的手机扫码确认")
    return [Todo("考核站点待签发的证书", count, url_for("certificates.index", state=S.SITE_SIGNING.value), hint)]
