"""Library jobs: overdue reminders, hold expiry, missed-pickup strikes."""

from __future__ import annotations

from core import clock, jobs
from core.settings import settings_of
from library.services import holds, loans
from library.settings import LibrarySettings


@jobs.periodic(jobs.crontab(minute="10"))
def send_due_reminders() -> int:
    """Hourly and idempotent: each reminder goes out once per loan and due date."""
    return loans.send_due_reminders(now=clock.now(), settings=settings_of(LibrarySettings))


@jobs.periodic(jobs.crontab(minute="*/15"))
def expire_holds() -> int:
    """Ready holds not collected in time expire; then their patrons' strikes are counted."""
    expired = holds.expire_holds(now=clock.now(), settings=settings_of(LibrarySettings))
    patron_ids = sorted({hold.patron_id for hold in expired})
    if patron_ids:
        jobs.after_commit(apply_missed_pickup_strikes, patron_ids)
    return len(expired)


@jobs.task()
def apply_missed_pickup_strikes(patron_ids: list[int]) -> int:
    """Bar new holds for patrons who missed too many pickups (3 in 90 days: 30 days)."""
    return holds.apply_missed_pickup_strikes(
        patron_ids, now=clock.now(), settings=settings_of(LibrarySettings)
    )
