"""The audit log's Chinese names for application plans and pilot applications."""
from __future__ import annotations

from ..core import audit

audit.register_fields("application_plan", {
    "year": "年度", "batch": "批次", "window_start": "申报开始时间", "window_end": "申报截止时间",
    "requires_majors": "要求按专业申报", "requires_city_review": "需地市级审核", "all_levels": "开放全部证书等级",
    "levels": "开放的证书等级",
})
audit.register_fields("application", {
    "explanation": "申报说明", "lines": "拟申报专业", "major": "专业", "students": "在校学生数",
    "teachers": "专任教师数", "requested": "申请人数", "approved": "批准人数", "used": "已使用",
    "quota": "核定指标",
})
