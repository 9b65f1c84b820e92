"""The background job of batch verification (批量认证)."""
from __future__ import annotations

from ..core.jobs import JobContext, handler
from .verification import summary, verify_batch


@handler("candidate_verify", "批量认证")
def run_verify(ctx: JobContext) -> None:
    ctx.progress(0, 0, "正在认证", force=True)
    result = verify_batch(ctx.actor, ctx.params, commit=True,
                          progress=lambda done, total: ctx.progress(done, total, "正在认证"))
    ctx.job.result = result
    ctx.progress(result["total"], result["total"], force=True)
    if result["failed"]:
        ctx.set_outcome(summary(result), "需人工确认", "warning")
    else:
        ctx.set_outcome(summary(result))
