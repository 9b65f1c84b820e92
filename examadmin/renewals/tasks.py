"""The daily reminder run: holders whose window opened or whose expiry is a month away, once each.

The validity itself never depends on this job (it is computed on read); the job only sends
the notices, and the unique reminder rows make a repeated or overlapping run send nothing twice.
"""
from __future__ import annotations

import logging

from huey import crontab

from ..extensions import db, huey

log = logging.getLogger(__name__)


def run_reminders() -> dict[str, int]:
    """One run, in its own transaction."""
    from .reminders import send_due_reminders

    try:
        outcome = send_due_reminders()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if outcome.reminded:
        log.info("renewal reminders: %s", outcome.as_dict())
    return outcome.as_dict()


@huey.periodic_task(crontab(hour="8", minute="0"), name="renewals.send_reminders")
def send_reminders_daily() -> dict[str, int]:
    from ..core.jobs import _app

    with _app().app_context():
        return run_reminders()
