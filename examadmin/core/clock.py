"""The one clock of the system.

Every time is Beijing time (the system serves China only) and stored without a zone,
so that a window typed as "2023-03-10 23:59" means the same on screen and in the
database. Tests move the clock by patching `now`.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def now() -> datetime:
    return datetime.now(BEIJING).replace(tzinfo=None, microsecond=0)
