"""The audit log's Chinese names for ticket downloads, test-exam lists and check-in."""
from __future__ import annotations

from ..core import audit
from ..exams.models import ExamRoom
from ..sites.models import ExamSite

audit.register_fields("exam_plan", {
    "pages": "页数", "site_id": ("考核站点", audit.lookup(ExamSite)), "room_id": ("考场", audit.lookup(ExamRoom)),
    "rows": "行数", "format": "文件格式",
})
audit.register_fields("exam_room", {"session_id": "场次编号", "session": "场次", "absent": "缺考人数"})
