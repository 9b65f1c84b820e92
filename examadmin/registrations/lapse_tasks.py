"""The scheduled lapse: every 10 minutes the worker lapses overdue unpaid registrations.

Nothing depends on it having run (every service and page applies the same rule on demand);
it writes the outcome down so that places come back to the quota ledger promptly.
"""
from __future__ import annotations

import logging

from huey import crontab

from ..extensions import db, huey

log = logging.getLogger(__name__)


def run_lapse() -> dict[str, int]:
    """One scheduled run, in its own transaction."""
    from .lapse import lapse_overdue

    try:
        result = lapse_overdue()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if result.lapsed:
        log.info("lapsed %d unpaid registrations, returned %d places", result.lapsed, result.places_returned)
    return result.as_dict()


@huey.periodic_task(crontab(minute="*/10"), name="registrations.lapse_overdue")
def lapse_overdue_registrations() -> dict[str, int]:
    from ..core.jobs import _app

    with _app().app_context():
        return run_lapse()
