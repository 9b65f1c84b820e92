"""The audit log's Chinese names for exam sites."""
from __future__ import annotations

from ..core import audit
from .models import FACILITIES

audit.register_fields("exam_site", {
    "name": "站点名称", "address": "地址", "contact_name": "联系人", "contact_phone": "联系电话",
    "computer_rooms": "机房数", "seats": "座位数", **FACILITIES,
})
audit.register_fields("exam_site", {"stranded": "停用时仍在该站点的报考与考场"})
audit.ACTION_LABELS.setdefault("exam_site.disable_impact", "停用时站点上的报考与考场")
