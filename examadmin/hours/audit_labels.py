"""The audit log's Chinese names for hours records and requirements."""
from __future__ import annotations

from ..core import audit

audit.register_fields("hours_record", {
    "kind": "类别", "date": "日期", "provider": "机构", "hours": "学时", "id_number": "证件号码",
    "evidence": "证明材料", "file": "文件", "rows": "行数", "created": "新增", "unchanged": "已导入过",
    "errors": "错误数",
})
audit.register_fields("hours_requirement", {
    "level": "证书等级", "min_supervision": "督导学时要求", "min_practice": "实践学时要求", "mode": "未达要求时",
})
