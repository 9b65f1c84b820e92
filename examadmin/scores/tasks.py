"""Background job of scores: the sheet import (a file of a whole plan may be large)."""
from __future__ import annotations

from flask import current_app

from ..core.excel import cell_text, read_first_sheet, write_table
from ..core.jobs import JobContext, handler, import_outcome
from .importer import find_columns, import_rows

#: errors kept in a job's result for the page; the downloadable sheet has them all
MAX_ERRORS_SHOWN = 5000


def summary(result: dict) -> tuple[str, str | None, str]:
    """The outcome line, state label and colour of a score import (as the candidate import's)."""
    return import_outcome(f"导入 {result['changed']} 行（未变 {result['unchanged']}）", result["error_count"],
                          result["imported"])


@handler("score_import", "导入成绩")
def run_import(ctx: JobContext) -> None:
    p = ctx.params
    report = import_rows(ctx.actor, p["plan_id"], ctx.input_path(), valid_only=p.get("valid_only", False),
                         reason=p.get("reason", ""), file_name=ctx.job.input_name or "",
                         progress=lambda done, total: ctx.progress(done, total, "正在检查"))
    result = report.as_dict()
    result["error_count"] = len(result["errors"])
    result["errors"] = result["errors"][:MAX_ERRORS_SHOWN]
    if report.errors:
        key = ctx.storage.new_key("exports", ".xlsx")
        error_workbook(ctx.input_path(), ctx.storage.path(key), report.as_dict()["errors"],
                       current_app.config["MAX_IMPORT_ROWS"])
        ctx.set_result_file(key, "成绩导入结果.xlsx")
    ctx.job.result = result
    ctx.progress(report.rows, report.rows, "已导入" if report.imported else "有错误，未导入", force=True)
    ctx.set_outcome(*summary(result))


def error_workbook(path, target, errors: list[dict], max_rows: int) -> None:
    """The uploaded sheet again, with a 错误说明 column on each row that has problems."""
    rows = read_first_sheet(path, max_rows=max_rows)
    by_row: dict[int, list[str]] = {}
    for problem in errors:
        by_row.setdefault(problem["row"], []).append(f"{problem['column']}：{problem['message']}")
    width = max((len(r) for r in rows), default=0)
    header_index, _ = find_columns(rows)
    out = []
    for index, cells in enumerate(rows):
        padded = [cell_text(c) for c in cells] + [""] * (width - len(cells))
        padded.append("错误说明" if index == header_index else "；".join(by_row.get(index + 1, [])))
        out.append(padded)
    write_table(target, "导入结果", out[header_index], out[header_index + 1:])
