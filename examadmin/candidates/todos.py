"""To-dos of candidates: manual checks for a school, corrections for the org and answered ones."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterable

from flask import url_for

from ..core import clock, permissions
from ..core.todo import Todo, count_in_scope, source
from .models import Candidate, CorrectionRequest
from .states import CandidateState, CorrectionState

#: how far back a school is reminded of corrections the org has answered
ANSWERED_DAYS = 30


@source("candidates.needs_review")
def needs_review(user: Any) -> Iterable[Todo]:
    if not permissions.can(user, "candidates.verify"):
        return []
    state = CandidateState.NEEDS_REVIEW
    count = count_in_scope(user, Candidate, Candidate.state == state, Candidate.hidden.is_(False))
    return [Todo("需人工确认的考生", count, url_for("candidates.index", state=state.value),
                 "按列出的原因修改后重新认证；照片问题须补传照片，其余可核对原件后人工确认")]


@source("candidates.corrections_to_review")
def corrections_to_review(user: Any) -> Iterable[Todo]:
    if not permissions.can(user, "candidates.review_corrections"):
        return []
    state = CorrectionState.PENDING
    count = count_in_scope(user, CorrectionRequest, CorrectionRequest.state == state)
    return [Todo("待审核的信息更正", count, url_for("candidates.corrections", state=state.value),
                 "核对函件后通过或驳回")]


@source("candidates.corrections_answered")
def corrections_answered(user: Any) -> Iterable[Todo]:
    if not permissions.can(user, "candidates.correct"):
        return []
    since = clock.now() - timedelta(days=ANSWERED_DAYS)
    items = []
    for state, label in ((CorrectionState.APPROVED, "已通过的信息更正"), (CorrectionState.REJECTED, "被驳回的信息更正")):
        count = count_in_scope(user, CorrectionRequest, CorrectionRequest.state == state,
                               CorrectionRequest.decided_at >= since)
        items.append(Todo(f"{label}（近 {ANSWERED_DAYS} 天）", count,
                          url_for("candidates.corrections", state=state.value), "查看评价组织的审核意见"))
    return items
