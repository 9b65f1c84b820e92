"""The audit log's Chinese names for scores, score imports and objections."""
from __future__ import annotations

from ..core import audit

audit.register_fields("score", {"score": "成绩", "absent": "缺考", "violation": "违纪"})
audit.register_fields("score_objection", {"score_id": "成绩编号"})
audit.register_fields("exam_plan", {"file": "文件", "rows": "行数", "changed": "变更条数", "errors": "错误数"})
