"""Background jobs of candidates: the sheet import (photos and batch verification add theirs)."""
from __future__ import annotations

from typing import Any

from flask import current_app

from ..core import jobs, permissions
from ..core.jobs import Job, JobContext, handler
from .importer import error_workbook, import_rows

#: errors kept in a job's result for the page; the downloadable sheet has them all
MAX_ERRORS_SHOWN = 5000


def import_summary(result: dict[str, Any]) -> tuple[str, str | None, str]:
    """The outcome line, state label and colour of an import, e.g. 导入 0 行，6 处错误 / 未导入."""
    written = result["created"] + result["updated"] + result["unchanged"]
    errors = result["error_count"]
    text = f"导入 {written} 行"
    if written:
        text += f"（新增 {result['created']}，更新 {result['updated']}，未变 {result['unchanged']}）"
    if errors:
        text += f"，{errors} 处错误"
        if result["imported"]:
            text += f"（{result['bad_rows']} 行未导入）"
    if result["warnings"]:
        text += f"，{len(result['warnings'])} 条提示"
    if not result["imported"]:
        return text, "未导入", "danger"
    if errors:
        return text, "部分导入", "warning"
    return text, None, "success"


@handler("candidate_import", "导入考生")
def run_import(ctx: JobContext) -> None:
    p = ctx.params
    report = import_rows(ctx.actor, p["school_id"], ctx.input_path(), valid_only=p.get("valid_only", False),
                         file_name=ctx.job.input_name or "", progress=lambda done, total: ctx.progress(
                             done, total, "正在检查"))
    result = report.as_dict()
    result["error_count"] = len(result["errors"])
    result["bad_rows"] = len({problem.row for problem in report.errors})
    result["errors"] = result["errors"][:MAX_ERRORS_SHOWN]
    if report.errors or report.warnings:
        # The annotated sheet carries the warnings too, marked as such, beside the errors.
        notes = result["errors"] + [{**w, "column": f"{w['column']}（提示）"} for w in result["warnings"]]
        key = ctx.storage.new_key("exports", ".xlsx")
        error_workbook(ctx.input_path(), ctx.storage.path(key), notes,
                       current_app.config["MAX_IMPORT_ROWS"], ctx.job.input_name or "")
        ctx.set_result_file(key, f"导入结果_{ctx.job.input_name or '考生'}.xlsx".replace(".xlsx.xlsx", ".xlsx"))
    ctx.job.result = result
    ctx.progress(report.rows, report.rows, force=True)
    ctx.set_outcome(*import_summary(result))


def start_valid_rows_import(actor: Any, job_id: int) -> Job:
    """只导入正确的行 of an import refused for its errors, from the file it already keeps."""
    permissions.require(actor, "candidates.manage")
    return jobs.rerun_valid_rows(actor, job_id, "candidate_import")


from . import verify_tasks as _verify_tasks  # noqa: E402,F401
from . import photo_tasks as _photo_tasks  # noqa: E402,F401
