"""Background jobs of registrations: the 批量导入报考 sheet import, and the lapse of unpaid ones."""
from __future__ import annotations

from typing import Any

from flask import current_app

from ..core import jobs, permissions
from ..core.jobs import Job, JobContext, handler
from ..candidates.tasks import import_summary
from .importer import error_workbook, import_rows

#: errors kept in a job's result for the page
MAX_ERRORS_SHOWN = 5000


@handler("registration_import", "批量导入报考")
def run_import(ctx: JobContext) -> None:
    p = ctx.params
    report = import_rows(ctx.actor, p["school_id"], p["plan_id"], ctx.input_path(),
                         valid_only=p.get("valid_only", False), file_name=ctx.job.input_name or "",
                         progress=lambda done, total: ctx.progress(done, total, "正在检查"))
    result = report.as_dict()
    result["error_count"] = len(result["errors"])
    result["bad_rows"] = len({problem.row for problem in report.errors})
    result["errors"] = result["errors"][:MAX_ERRORS_SHOWN]
    result["plan_id"] = p["plan_id"]
    if report.errors:
        key = ctx.storage.new_key("exports", ".xlsx")
        error_workbook(ctx.input_path(), ctx.storage.path(key), result["errors"],
                       current_app.config["MAX_IMPORT_ROWS"])
        ctx.set_result_file(key, "报考导入结果.xlsx")
    ctx.job.result = result
    ctx.progress(report.rows, report.rows, "已导入" if report.imported else "有错误，未导入", force=True)
    ctx.set_outcome(*import_summary(result))


def start_valid_rows_import(actor: Any, job_id: int) -> Job:
    """只导入正确的行 of a 报考 import refused for its errors, from the file it already keeps (the rows
    are checked again: whatever changed since, such as the places left or the window, decides)."""
    permissions.require(actor, "registrations.manage")
    return jobs.rerun_valid_rows(actor, job_id, "registration_import")


from . import lapse_tasks as _lapse_tasks  # noqa: E402,F401
