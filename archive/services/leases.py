"""Leases on long work that a dying job consumer must not lose: uploaded CSV imports and
media processing.

A job that starts such work first claims its row (``claim``): it writes ``lease_until``, now
plus the lease, in a short transaction the caller commits, unless another job's lease on the
row has not run out. While it works it renews the lease: with the progress each batch commits
(imports), or from a heartbeat thread (``kept``) when one step may outlast the lease (OCR of a
page). The progress itself is the domain's own, kept with each finished step, so work taken
up again goes on after the last one.

A consumer that dies leaves its lease behind, and the lease runs out. The archive's sweep
(``archive.jobs``: every minute, and when a consumer starts) asks for the rows that are due
(``due``): work whose lease ran out is queued at once, and work whose lease runs out before
the next sweep is queued for that moment, so a dead consumer's work is taken up within a
lease of its death rather than a lease and a minute. A take-up that finds the lease renewed
(its holder is alive) does nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from core.extensions import db

log = logging.getLogger(__name__)

# A take-up queued for a lease's end runs this much after it: a moment early, it would find
# the lease still held and leave the work to the next sweep.
TAKE_UP_MARGIN_SECONDS = 1.0


def expiry(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)


def held(lease_until: datetime | None, now: datetime) -> bool:
    """Whether a job holds the row: a lease that has not run out."""
    return lease_until is not None and lease_until > now


def claim(model, row_id: int, *, now: datetime, seconds: int, claimable: Callable[[object], bool]):
    """The row, locked, with a lease of ``seconds`` written on it for this job; None when it
    is gone, not ``claimable`` (finished), or another job's lease on it has not run out. The
    caller adds what else taking it means and commits at once, so the lease is seen."""
    row = db.session.scalar(
        select(model)
        .where(model.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None or not claimable(row) or held(row.lease_until, now):
        return None
    row.lease_until = expiry(now, seconds)
    return row


@dataclass
class Due:
    """What a sweep takes up: ``lapsed`` (a job held it and its lease ran out), ``waiting``
    (no job ever took it, for longer than the sweep allows: its queued job was lost), and
    ``expiring`` (held, with the lease running out before the next sweep: (id, seconds
    until a take-up may claim it))."""

    lapsed: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    expiring: list[tuple[int, float]] = field(default_factory=list)


def due(
    model, *, active, now: datetime, horizon: timedelta, waiting_since, wait_limit: timedelta
) -> Due:
    """The rows of ``model`` matching ``active`` (not finished) that a sweep at ``now`` takes
    up, the next sweep being ``horizon`` later; a row no job has claimed counts as lost once
    its ``waiting_since`` column is older than ``wait_limit``."""
    rows = db.session.execute(
        select(model.id, model.lease_until)
        .where(
            active,
            or_(
                model.lease_until < now + horizon,
                and_(model.lease_until.is_(None), waiting_since < now - wait_limit),
            ),
        )
        .order_by(model.id)
    ).all()
    found = Due()
    for row_id, lease_until in rows:
        if lease_until is None:
            found.waiting.append(row_id)
        elif lease_until <= now:
            found.lapsed.append(row_id)
        else:
            left = (lease_until - now).total_seconds() + TAKE_UP_MARGIN_SECONDS
            found.expiring.append((row_id, left))
    return found


@contextlib.contextmanager
def kept(model, row_id: int, *, seconds: int, clock: Callable[[], datetime], active):
    """Renew the row's lease every third of ``seconds`` while the block runs.

    The renewals come from a thread, on a connection of their own, so that a step longer than
    the lease (one OCR page may take minutes) does not lose it while the work holds no
    transaction open. A renewal writes only while the row is ``active`` and still leased:
    work that ended (the lease cleared) is never leased again by a late beat. The thread runs
    in a copy of the caller's context, so ``clock`` is the app's clock and its transactions
    are begun as the caller's are (SQLite: queued as a writer). A failed renewal is logged
    and tried again at the next beat."""
    engine = db.engine  # read here: the thread has no session of its own
    renew = (
        update(model)
        .where(model.id == row_id, model.lease_until.is_not(None), active)
        .execution_options(synchronize_session=False)
    )
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(seconds / 3):
            try:
                with engine.begin() as connection:
                    connection.execute(renew.values(lease_until=expiry(clock(), seconds)))
            except Exception:
                log.exception("renewing the lease of %s %s failed", model.__name__, row_id)

    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(beat,), name=f"lease-{model.__tablename__}-{row_id}", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
