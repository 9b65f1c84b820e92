"""The audit log's Chinese names for schedule runs, seats, proctors and their rooms."""
from __future__ import annotations

from ..core import audit

audit.register_fields("schedule_run", {
    "plan": "考试计划", "site": "考核站点", "seed": "随机种子", "placed": "已排考人数",
})
audit.register_fields("proctor", {
    "name": "姓名", "phone": "手机号码", "id_type": "证件类型", "id_number": "证件号码", "role": "监考角色",
    "active": "启用", "username": "登录账号", "room": "考场", "session": "场次",
})
# Releasing seats is recorded on the site; placing a room on the room.
audit.register_fields("exam_site", {"plan": "考试计划", "freed": "释放座位数"})
audit.register_fields("exam_room", {"number": "考场号"})
