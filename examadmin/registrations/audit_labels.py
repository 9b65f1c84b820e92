"""The audit log's Chinese names for registrations and payment orders."""
from __future__ import annotations

from ..core import audit
from ..pilots.models import ApplicationLine


def _line(line: ApplicationLine) -> str:
    """A quota line as the ledger names it: 2026 年初级「570116K 心理健康教育」."""
    return f"{line.application.year} 年{line.application.certificate_level.level.value}「{line.major_label}」"


audit.register_fields("registration", {
    "plan": "考试计划", "site": "考核站点", "id_number": "证件号码", "kind": "考生类型", "is_retake": "补考",
    "quota_line_id": ("使用指标", audit.lookup(ApplicationLine, _line)), "fee": "考试费（元）", "seat": "座位", "warning": "报考提醒",
    # the scheduling and check-in steps record on the registration too
    "ticket_number": "准考证号", "room": "考场", "session_id": "场次编号", "at": "时间",
})
# An import is recorded on the school that imported; candidates name the rest of its fields.
audit.register_fields("school", {"plan": "考试计划"})
audit.register_fields("payment_order", {
    "reference": "订单号", "kind": "订单类型", "amount": "金额（元）", "registrations": "报考数",
    "registration_ids": "报考编号",
})
