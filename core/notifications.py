"""Notification outbox and its senders.

``notify(...)`` adds a row in the caller's transaction; after commit a job delivers it through
the configured sender. A failed delivery stays ``pending`` until it has failed
``MAX_ATTEMPTS`` times, and the periodic sweep retries it.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select

from core import jobs
from core.extensions import db
from core.models import Notification, User

log = logging.getLogger("happyhub.notifications")
MAX_ATTEMPTS = 5


def notify(
    user: User | None,
    kind: str,
    subject: str,
    body: str,
    *,
    now: datetime,
    recipient: str | None = None,
) -> Notification:
    item = Notification(
        user_id=user.id if user else None,
        recipient=recipient or (user.email if user else None),
        kind=kind,
        subject=subject,
        body=body,
        created_at=now,
    )
    db.session.add(item)
    db.session.flush()
    jobs.after_commit(deliver_notification, item.id)
    return item


class LoggingSender:
    def send(self, item: Notification) -> None:
        log.info("notify %s <%s> [%s] %s", item.kind, item.recipient, item.subject, item.body)


class SmtpSender:
    def __init__(self, config):
        self.config = config

    def send(self, item: Notification) -> None:
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


def deliver(item: Notification, now: datetime) -> None:
    if item.status != "pending":
        return
    item.attempts += 1
    try:
        sender().send(item)
    except Exception as error:  # a sender failure must not lose the notification
        log.warning("delivery of notification %s failed: %s", item.id, error)
        item.last_error = str(error)[:1000]
        if item.attempts >= MAX_ATTEMPTS:
            item.status = "failed"
        return
    item.status, item.sent_at, item.last_error = "sent", now, None


@jobs.task()
def deliver_notification(notification_id: int) -> None:
    item = db.session.get(Notification, notification_id)
    if item is not None:
        deliver(item, datetime.now(UTC))


@jobs.periodic(jobs.crontab(minute="*/5"))
def retry_pending_notifications() -> None:
    pending = db.session.scalars(
        select(Notification).where(Notification.status == "pending").limit(500)
    )
    now = datetime.now(UTC)
    for item in pending:
        deliver(item, now)
