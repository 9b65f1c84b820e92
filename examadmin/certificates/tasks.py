"""Background jobs of certificates: generating the e-certificates of an issue (stage three)."""
from __future__ import annotations

from ..core.jobs import JobContext, handler


@handler("certificates.issue", "生成电子证书")
def generate_certificates(ctx: JobContext) -> None:
    from . import services

    issued = services.generate(ctx.actor, int(ctx.params["plan_id"]), base_url=ctx.params.get("base_url"),
                               progress=lambda done, total: ctx.progress(done, total, f"已生成 {done} / {total} 份"))
    ctx.job.result = {"issued": issued}
    ctx.progress(issued, issued, f"已发放 {issued} 份电子证书", force=True)
