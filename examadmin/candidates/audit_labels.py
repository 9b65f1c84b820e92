"""The audit log's Chinese names for candidates and correction requests."""
from __future__ import annotations

from ..catalog.models import Major
from ..core import audit
from .corrections import FIELD_LABELS
from .models import Candidate

_MAJOR = audit.lookup(Major, lambda m: f"{m.code} {m.name}")

audit.register_fields("candidate", {
    **FIELD_LABELS, "major_id": ("专业", _MAJOR), "photo": "照片", "correction_id": "更正申请编号",
})
# Imports are recorded on the school that imported (one entry per file).
audit.register_fields("school", {
    "rows": "数据行数", "created": "新增考生", "updated": "更新考生", "unchanged": "未变化", "errors": "错误数",
    "files": "照片文件数", "attached": "新增照片", "replaced": "更换照片", "skipped": "未使用的文件",
})
audit.register_fields("correction_request", {
    "candidate_id": ("考生", audit.lookup(Candidate)), "old": "原信息", "new": "更正为", "letter": "函件",
    **FIELD_LABELS,
})
