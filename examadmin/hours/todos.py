"""The hours area's to-do source: records waiting for the holder's school or the org."""
from __future__ import annotations

from typing import Any, Iterable

from flask import url_for

from ..core import permissions
from ..core.todo import Todo, count_in_scope, source
from .models import HoursRecord
from .states import HoursState


@source("hours.pending", order=60)
def pending_hours(user: Any) -> Iterable[Todo]:
    if not permissions.can(user, "hours.review"):
        return []
    count = count_in_scope(user, HoursRecord, HoursRecord.state == HoursState.PENDING)
    return [Todo("待审核的学时记录", count, url_for("hours.index", state=HoursState.PENDING.value),
                 "查看证明材料后核验或退回")]
