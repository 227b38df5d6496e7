"""Periodic library jobs: overdue reminders, hold expiry with missed-pickup strikes."""

from __future__ import annotations

from flask import current_app

from core import jobs
from library.services import holds, loans


def _now():
    return current_app.extensions["clock"].now()


@jobs.periodic(jobs.crontab(minute="10"))
def send_due_reminders() -> int:
    """Hourly and idempotent: each reminder goes out once per loan and due date."""
    return loans.send_due_reminders(now=_now(), settings=current_app.extensions["library_settings"])


@jobs.periodic(jobs.crontab(minute="*/15"))
def expire_holds() -> int:
    """Ready holds not collected in time expire; repeated misses bar new holds."""
    expired = holds.expire_holds(now=_now(), settings=current_app.extensions["library_settings"])
    return len(expired)
