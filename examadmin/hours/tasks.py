"""Background job of hours: the providers' sheet import (a national provider's list may be large)."""
from __future__ import annotations

from flask import current_app

from ..core.jobs import JobContext, handler, import_outcome
from .importer import error_workbook, import_rows

#: errors kept in a job's result for the page; the downloadable sheet has them all
MAX_ERRORS_SHOWN = 5000


def summary(result: dict) -> tuple[str, str | None, str]:
    """The outcome line, state label and colour of an hours import (as the candidate import's)."""
    return import_outcome(f"导入 {result['created']} 行（已导入过 {result['unchanged']}）", result["error_count"],
                          result["imported"])


@handler("hours_import", "导入学时")
def run_import(ctx: JobContext) -> None:
    # A file that cannot be read at all raises core.jobs.InputRefused: 未导入 with the reason.
    report = import_rows(ctx.actor, ctx.input_path(), valid_only=ctx.params.get("valid_only", False),
                         file_name=ctx.job.input_name or "",
                         progress=lambda done, total: ctx.progress(done, total, "正在检查"))
    result = report.as_dict()
    result["error_count"] = len(result["errors"])
    result["errors"] = result["errors"][:MAX_ERRORS_SHOWN]
    if report.errors:
        key = ctx.storage.new_key("exports", ".xlsx")
        error_workbook(ctx.input_path(), ctx.storage.path(key), report.as_dict()["errors"],
                       current_app.config["MAX_IMPORT_ROWS"])
        ctx.set_result_file(key, "学时导入结果.xlsx")
    ctx.job.result = result
    ctx.progress(report.rows, report.rows, "已导入" if report.imported else "有错误，未导入", force=True)
    ctx.set_outcome(*summary(result))
