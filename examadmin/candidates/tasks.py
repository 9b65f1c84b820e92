"""Background jobs of candidates: the sheet import (photos and batch verification add theirs)."""
from __future__ import annotations

from flask import current_app

from ..core.jobs import JobContext, handler
from .importer import error_workbook, import_rows

#: errors kept in a job's result for the page; the downloadable sheet has them all
MAX_ERRORS_SHOWN = 5000


@handler("candidate_import", "导入考生")
def run_import(ctx: JobContext) -> None:
    p = ctx.params
    report = import_rows(ctx.actor, p["school_id"], ctx.input_path(), valid_only=p.get("valid_only", False),
                         file_name=ctx.job.input_name or "", progress=lambda done, total: ctx.progress(
                             done, total, "正在检查"))
    result = report.as_dict()
    result["error_count"] = len(result["errors"])
    result["errors"] = result["errors"][:MAX_ERRORS_SHOWN]
    if report.errors:
        key = ctx.storage.new_key("exports", ".xlsx")
        error_workbook(ctx.input_path(), ctx.storage.path(key), result["errors"],
                       current_app.config["MAX_IMPORT_ROWS"], ctx.job.input_name or "")
        ctx.set_result_file(key, f"导入结果_{ctx.job.input_name or '考生'}.xlsx".replace(".xlsx.xlsx", ".xlsx"))
    ctx.job.result = result
    ctx.progress(report.rows, report.rows, "已导入" if report.imported else "有错误，未导入", force=True)

from . import verify_tasks as _verify_tasks  # noqa: E402,F401
from . import photo_tasks as _photo_tasks  # noqa: E402,F401
