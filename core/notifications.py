"""Notification outbox and its senders.

``notify(...)`` inserts a row in the caller's transaction; once that commits, a job delivers it
through the configured sender. A failed delivery stays ``pending`` until it has failed
``MAX_ATTEMPTS`` times, and the periodic sweep retries it.

Delivery never holds a write transaction while a sender runs: on SQLite a write transaction
holds the database's only write lock, so a slow SMTP server would stall every booking and loan
in the city. A run therefore *claims* a batch in one short transaction (a lease until
``claimed_until`` under a random ``claim_token``), sends with no transaction open, and *records*
the outcomes in a second short transaction on the rows that still carry its token. While a
lease lasts no other run can claim the row, so racing runs never send it twice; a run that dies
between claim and record leaves its rows leased, and they are delivered once the lease ends.
A claim counts as an attempt, so a row whose delivery never gets recorded (its sender kills
the process every time) is given up after ``MAX_ATTEMPTS`` claims like one that fails.

A rush stays cheap: commits do not queue a job each, but ask a coalesced job
(``jobs.Coalesced``) that each process queues at most twice a second, and a run takes the
never-tried rows in batches until one comes back short (rows committed later have runs of their
own). A run that finds nothing learns it from a plain read, without waiting for the write lock.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import and_, bindparam, case, exists, insert, or_, select, update

from core import clock, jobs
from core.db import intent
from core.extensions import db
from core.models import OPTIONAL_NOTIFICATIONS, Notification, User

log = logging.getLogger("happyhub.notifications")
MAX_ATTEMPTS = 5
BATCH_SIZE = 100
# A claim outlives any batch: a run stops sending once less than SEND_MARGIN of its lease is
# left (an SMTP send may take several 10 s timeouts), so no row is sent after its lease ended.
CLAIM_LEASE = timedelta(minutes=5)
SEND_MARGIN = timedelta(minutes=1)
# One sweep sends at most this many batches; the next sweep carries on.
SWEEP_BATCHES = 5

_outbox = Notification.__table__
# A plain INSERT built once: no ORM object to track, nothing else of the caller's is flushed,
# and callers such as a booking run it while holding the write lock.
_INSERT = insert(_outbox).returning(_outbox.c.id)


_GROUP_OF = {kind: group for group, kinds in OPTIONAL_NOTIFICATIONS.items() for kind in kinds}


def turned_off(user: User, kind: str) -> bool:
    group = _GROUP_OF.get(kind)
    return group is not None and group in (user.notifications_off or ())


def notify(
    user: User | None,
    kind: str,
    subject: str,
    body: str,
    *,
    now: datetime,
    recipient: str | None = None,
) -> int | None:
    """Add a notification in the caller's transaction and return its id; sent after commit.
    None when the person turned this kind off."""
    if user is not None and recipient is None and turned_off(user, kind):
        return None
    notification_id = db.session.execute(
        _INSERT,
        {
            "user_id": user.id if user else None,
            "recipient": recipient or (user.email if user else None),
            "kind": kind,
            "subject": subject,
            "body": body,
            "created_at": now,
        },
    ).scalar_one()
    jobs.after_commit(_deliver_soon)
    return notification_id


def notify_many(messages: Iterable[tuple[User, str, str, str]], *, now: datetime) -> int:
    """Add several notifications ``(user, kind, subject, body)`` in one statement (a draw
    tells thousands of people at once, and one INSERT each cost most of its time); sent after
    commit like ``notify``'s. Returns how many were added (kinds turned off are left out)."""
    rows = [
        {
            "user_id": user.id,
            "recipient": user.email,
            "kind": kind,
            "subject": subject,
            "body": body,
            "created_at": now,
        }
        for user, kind, subject, body in messages
        if not turned_off(user, kind)
    ]
    if rows:
        db.session.execute(insert(_outbox), rows)
        jobs.after_commit(_deliver_soon)
    return len(rows)


@dataclass(frozen=True)
class Outgoing:
    """A claimed notification's plain values: reading them never touches the database."""

    id: int
    user_id: int | None
    kind: str
    recipient: str | None
    subject: str
    body: str
    attempts: int


@dataclass(frozen=True)
class Claim:
    token: str
    until: datetime
    items: list[Outgoing]


class LoggingSender:
    def send(self, item: Outgoing) -> None:
        log.info("notify %s <%s> [%s] %s", item.kind, item.recipient, item.subject, item.body)


class SmtpSender:
    def __init__(self, config):
        self.config = config

    def send(self, item: Outgoing) -> None:
        if not item.recipient:
            raise ValueError("notification has no recipient")
        message = EmailMessage()
        message["From"] = self.config["SMTP_FROM"]
        message["To"] = item.recipient
        message["Subject"] = item.subject
        message.set_content(item.body)
        with smtplib.SMTP(self.config["SMTP_HOST"], self.config["SMTP_PORT"], timeout=10) as smtp:
            if self.config["SMTP_STARTTLS"]:
                smtp.starttls()
            if self.config["SMTP_USER"]:
                smtp.login(self.config["SMTP_USER"], self.config["SMTP_PASSWORD"])
            smtp.send_message(message)


def sender():
    """The app's sender; tests may put any object with ``send(item)`` in app.extensions."""
    custom = current_app.extensions.get("notification_sender")
    if custom is not None:
        return custom
    if current_app.config["NOTIFY_SENDER"] == "smtp":
        return SmtpSender(current_app.config)
    return LoggingSender()


def _deliverable(now: datetime, *, fresh: bool, after_id: int):
    conditions = [
        _outbox.c.status == "pending",
        or_(_outbox.c.claimed_until.is_(None), _outbox.c.claimed_until <= now),
        _outbox.c.attempts < MAX_ATTEMPTS,
        _outbox.c.id > after_id,
    ]
    if fresh:
        conditions.append(_outbox.c.attempts == 0)
    return and_(*conditions)


def _any(where) -> bool:
    # A read on its own connection: it never waits for, nor takes, the write lock.
    with intent(writes=False), db.engine.connect() as connection:
        return bool(connection.execute(select(exists().where(where))).scalar())


def claim(
    now: datetime,
    *,
    fresh: bool,
    after_id: int = 0,
    limit: int = BATCH_SIZE,
) -> Claim | None:
    """Lease up to ``limit`` deliverable rows (only never-tried ones when ``fresh``) with ids
    above ``after_id``, lowest first, in one short committed transaction. None, without
    writing, if none."""
    if db.session().in_transaction():
        raise RuntimeError("notification delivery commits on its own: end the transaction first")
    where = _deliverable(now, fresh=fresh, after_id=after_id)
    if not _any(where):
        return None
    # SKIP LOCKED lets a racing run on PostgreSQL take other rows; the outer WHERE is checked
    # again on a row another run claimed meanwhile, so it is left out. SQLite runs claims one
    # at a time (BEGIN IMMEDIATE) and ignores FOR UPDATE.
    chosen = select(_outbox.c.id).where(where).order_by(_outbox.c.id).limit(limit)
    token, until = secrets.token_hex(16), now + CLAIM_LEASE
    statement = (
        update(_outbox)
        .where(_outbox.c.id.in_(chosen.with_for_update(skip_locked=True)), where)
        .values(claimed_until=until, claim_token=token, attempts=_outbox.c.attempts + 1)
        .returning(*(_outbox.c[field.name] for field in fields(Outgoing)))
    )
    with intent(writes=True):
        rows = db.session.execute(statement).all()
        db.session.commit()
    if not rows:
        return None
    items = sorted((Outgoing(**row._mapping) for row in rows), key=lambda item: item.id)
    return Claim(token, until, items)


def send(batch: Claim) -> dict[int, str | None]:
    """Send each claimed item, with no transaction open: its error text, or None once sent.
    Items left out (the lease was running out) are not sent by this run."""
    chosen, outcomes = sender(), {}
    for item in batch.items:
        if clock.now() >= batch.until - SEND_MARGIN:
            break
        try:
            chosen.send(item)
        except Exception as error:  # a sender failure must not lose the notification
            log.warning("delivery of notification %s failed: %s", item.id, error)
            outcomes[item.id] = (str(error) or type(error).__name__)[:1000]
        else:
            outcomes[item.id] = None
    return outcomes


def record(batch: Claim, outcomes: dict[int, str | None], now: datetime) -> None:
    """Store the outcomes in one short transaction, on rows still under this claim, and
    release them (unsent ones become deliverable again at once, their attempt not counted)."""
    released = {"claimed_until": None, "claim_token": None}
    mine = _outbox.c.claim_token == batch.token
    sent = [i for i, error in outcomes.items() if error is None]
    failed = [{"row_id": i, "error": e} for i, e in outcomes.items() if e is not None]
    unsent = [item.id for item in batch.items if item.id not in outcomes]
    attempts = _outbox.c.attempts  # counted by the claim
    with intent(writes=True):
        if sent:
            db.session.execute(
                update(_outbox)
                .where(_outbox.c.id.in_(sent), mine)
                .values(status="sent", sent_at=now, last_error=None, **released)
            )
        if failed:
            db.session.execute(
                update(_outbox)
                .where(_outbox.c.id == bindparam("row_id"), mine)
                .values(
                    last_error=bindparam("error"),
                    status=case((attempts >= MAX_ATTEMPTS, "failed"), else_="pending"),
                    **released,
                ),
                failed,
            )
        if unsent:
            db.session.execute(
                update(_outbox)
                .where(_outbox.c.id.in_(unsent), mine)
                .values(attempts=attempts - 1, **released)
            )
        db.session.commit()


def deliver_batch(*, fresh: bool, after_id: int = 0) -> Claim | None:
    """Claim, send and record one batch; the claim, or None when there was nothing to send."""
    batch = claim(clock.now(), fresh=fresh, after_id=after_id)
    if batch is not None:
        record(batch, send(batch), clock.now())
    return batch


def deliver_batches(*, fresh: bool, most: int | None = None) -> None:
    """Deliver batch after batch, in id order (so a row that fails again is not retried twice
    by one run), until a batch comes back short or after ``most`` batches.

    A run does not chase rows committed while it works: each such commit has a run of its own
    queued after it (``jobs.Coalesced``). Chasing them, one run kept claiming a row or two at a
    time for as long as a booking rush lasted, each claim a write in line for the lock."""
    after_id, done = 0, 0
    while most is None or done < most:
        batch = deliver_batch(fresh=fresh, after_id=after_id)
        done += 1
        if batch is None or len(batch.items) < BATCH_SIZE:
            return
        after_id = batch.items[-1].id


@jobs.task()
def deliver_fresh_notifications() -> None:
    """Asked for after each commit that notified (coalesced): sends every never-tried row."""
    deliver_batches(fresh=True)


_deliver_soon = jobs.Coalesced(deliver_fresh_notifications, window=1.0)


@jobs.periodic(jobs.crontab(minute="*/5"))
def retry_pending_notifications() -> None:
    """Retries failed rows and sends fresh ones whose job was lost; the next sweep carries on
    after ``SWEEP_BATCHES`` batches. Rows whose last allowed claim ended unrecorded fail."""
    give_up_unfinished(clock.now())
    deliver_batches(fresh=False, most=SWEEP_BATCHES)


def give_up_unfinished(now: datetime) -> None:
    """Mark failed the rows claimed ``MAX_ATTEMPTS`` times whose last lease ended without an
    outcome: the run sending them stopped every time (a read only when there are none)."""
    where = and_(
        _outbox.c.status == "pending",
        _outbox.c.attempts >= MAX_ATTEMPTS,
        _outbox.c.claimed_until <= now,
    )
    if not _any(where):
        return
    with intent(writes=True):
        db.session.execute(
            update(_outbox)
            .where(where)
            .values(
                status="failed",
                last_error="delivery never finished: the sending process stopped each time",
                claimed_until=None,
                claim_token=None,
            )
        )
        db.session.commit()
