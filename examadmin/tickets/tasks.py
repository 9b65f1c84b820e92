"""Background jobs of tickets: a whole plan's tickets as one PDF, with progress."""
from __future__ import annotations

from ..core import jobs
from ..exams.models import ExamPlan
from ..extensions import db
from ..sites.models import ExamSite
from . import services


def file_name(plan_id: int, site_id: int | None) -> str:
    """准考证-<plan>[-<site>].pdf: the names the school knows the plan and site by, not their ids."""
    parts = [db.session.get(ExamPlan, plan_id).name]
    if site_id:
        parts.append(db.session.get(ExamSite, site_id).name)
    name = "-".join(["准考证", *parts]).replace("/", "／").replace("\\", "＼")
    return f"{name[:150]}.pdf"


@jobs.handler("tickets_pdf", "生成准考证")
def tickets_pdf(ctx: jobs.JobContext) -> None:
    plan_id, site_id = ctx.params["plan_id"], ctx.params.get("site_id")
    key = ctx.storage.new_key(f"tickets/{plan_id}", ".pdf")
    ctx.progress(0, 0, "正在读取考生与座位…", force=True)
    pages = services.write_plan_tickets(
        ctx.actor, plan_id, ctx.storage.path(key), site_id=site_id,
        progress=lambda done, total: ctx.progress(done, total, f"已生成 {done} / {total} 页"))
    ctx.set_result_file(key, file_name(plan_id, site_id))
    ctx.job.result = {"pages": pages}
    ctx.progress(pages, pages, f"共 {pages} 页", force=True)
