"""Background jobs of the core: the audit-log export."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ..extensions import db
from . import audit, clock
from .excel import write_table
from .jobs import JobContext, handler

EXPORT_HEADERS = ["时间", "操作人", "角色", "操作", "对象类型", "对象编号", "对象", "变更内容", "IP"]


def _parse_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


@handler("audit_export", "导出审计日志")
def export_audit_log(ctx: JobContext) -> None:
    """Write the audit records the owner may see, with the filters they chose, to Excel."""
    p = ctx.params
    query = audit.list_entries(
        ctx.actor, action=p.get("action", ""), entity_type=p.get("entity_type", ""),
        actor_q=p.get("actor_q", ""), date_from=_parse_date(p.get("date_from")),
        date_to=_parse_date(p.get("date_to")),
    )
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    ctx.progress(0, total, "正在导出审计日志", force=True)

    def rows():
        for done, entry in enumerate(db.session.scalars(query.execution_options(yield_per=1000)), 1):
            if done % 1000 == 0:
                ctx.progress(done, total)
            yield [entry.at.strftime("%Y-%m-%d %H:%M:%S"), entry.actor_name, entry.actor_role_label,
                   entry.action_label, entry.entity_type_label, entry.entity_id, entry.entity_label,
                   audit.describe_change(entry), entry.ip]

    key = ctx.storage.new_key("exports", ".xlsx")
    written = write_table(ctx.storage.path(key), "审计日志", EXPORT_HEADERS, rows(),
                          widths=[20, 14, 14, 14, 10, 10, 30, 60, 16])
    ctx.set_result_file(key, f"审计日志_{clock.now():%Y%m%d}.xlsx")
    ctx.job.result = {"rows": written}
    ctx.progress(written, total, f"已导出 {written} 条记录", force=True)
