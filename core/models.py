"""Accounts, tokens, audit log, notification outbox and idempotency records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime
from core.extensions import db
from core.roles import ROLES

# Notifications a person may turn off, by group: receipts and reminders. Everything else is
# sent whatever the choice, because missing it costs the person something: a waitlist offer
# that lapses, a closure that cancels their session, a strike or suspension, a hold ready.
OPTIONAL_NOTIFICATIONS: dict[str, tuple[str, ...]] = {
    "booking_receipts": (
        "booking_held",
        "booking_confirmed",
        "booking_cancelled",
        "booking_expired",
    ),
    "library_reminders": ("library_due_soon", "library_due_today"),
}

_ROLE_LIST = ", ".join(f"'{r}'" for r in ROLES)


class User(db.Model):
    __tablename__ = "core_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased: uniqueness is case-insensitive on every backend.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(30))
    is_active: Mapped[bool] = mapped_column(default=True)
    resident_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resident_verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The groups of OPTIONAL_NOTIFICATIONS the person turned off.
    notifications_off: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> list[str]:
        return sorted(r.role for r in self.role_rows)

    @property
    def is_verified_resident(self) -> bool:
        return self.resident_verified_at is not None

    def has_any_role(self, roles) -> bool:
        held = set(self.roles)
        return "admin" in held or bool(held.intersection(roles))

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserRole(db.Model):
    __tablename__ = "core_user_role"
    __table_args__ = (
        UniqueConstraint("user_id", "role"),
        CheckConstraint(f"role IN ({_ROLE_LIST})", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(30))

    user: Mapped[User] = relationship(back_populates="role_rows")


class ApiToken(db.Model):
    __tablename__ = "core_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class AuditLog(db.Model):
    """Append-only: rows are never updated or deleted (enforced below)."""

    __tablename__ = "core_audit_log"
    __table_args__ = (Index("ix_core_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    # Who acted when it was not a user: "system", "kiosk:GN-01", "cli".
    actor_label: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str] = mapped_column(String(50))
    target_id: Mapped[str] = mapped_column(String(100))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
def _audit_is_append_only(_mapper, _connection, target):
    raise RuntimeError("the audit log is append-only")


class Notification(db.Model):
    """Outbox: written in the same transaction as the change it reports, delivered by a job."""

    __tablename__ = "core_notification"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_known"),
        Index("ix_core_notification_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"), index=True)
    recipient: Mapped[str | None] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A delivery run leases the row while it sends (see core.notifications); a run that dies
    # leaves the lease behind, and the row is deliverable again once it has run out.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(32))


class IdempotencyRecord(db.Model):
    """The first answer to a request made with an ``Idempotency-Key``, replayed on retries."""

    __tablename__ = "core_idempotency_record"
    __table_args__ = (UniqueConstraint("scope", "owner", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(50))
    owner: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RateWindow(db.Model):
    """A fixed rate-limit window (login and registration attempts) on the embedded setup: in
    the database, so every worker counts the same attempts and a restart forgets none."""

    __tablename__ = "core_rate_window"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    count: Mapped[int]


class FailedJob(db.Model):
    """A background job that failed with no retry left: its error, and what it takes to run
    it again (Huey's own serialized message), until an admin retries it."""

    __tablename__ = "core_failed_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), index=True)
    # The job's arguments as an admin reads them (the message below is what runs).
    arguments: Mapped[str] = mapped_column(Text)
    message: Mapped[bytes] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    retried_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retried_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))

    @property
    def status(self) -> str:
        return "retried" if self.retried_at is not None else "failed"
