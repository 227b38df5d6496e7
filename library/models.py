"""Smart-library tables: catalogue, copies, kiosks, patrons, loans, holds, the kiosk
transaction journal and the librarians' conflict queue.

Invariants live in the database where they can: a copy sits in at most one slot, a slot holds
at most one copy, and a copy is on at most one open loan (``Loan.active_copy_id`` is unique and
set exactly while the loan is open), so even two kiosks racing cannot lend a copy twice.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime
from core.extensions import db

COPY_STATUSES = (
    "available",  # on the library's shelf
    "in_kiosk",  # in a kiosk slot, free to borrow
    "on_loan",
    "reserved_for_pickup",  # in a kiosk slot, waiting for the patron who reserved it
    "in_transit",  # set aside for a hold, on its way to the pickup kiosk
    "lost",
    "withdrawn",
)
HOLD_STATUSES = ("waiting", "in_transit", "ready", "collected", "expired", "cancelled")
OPEN_HOLD_STATUSES = ("waiting", "in_transit", "ready")
KIOSK_FUNCTIONS = ("checkout", "return", "pickup")
# The faults a kiosk can report, and which functions each takes out of service until cleared.
FAULT_EFFECTS: dict[str, frozenset[str]] = {
    "return_slot_jammed": frozenset({"return"}),
    "dispenser_jammed": frozenset({"checkout", "pickup"}),
    "rfid_reader_error": frozenset({"checkout", "return", "pickup"}),
    "card_reader_error": frozenset({"checkout", "pickup"}),
    "door_open": frozenset({"checkout", "return", "pickup"}),
    "power_on_battery": frozenset(),
    "printer_error": frozenset(),
    "touchscreen_error": frozenset({"checkout", "return", "pickup"}),
}
CONFLICT_KINDS = ("replay", "inventory")
# The text encodings a kiosk's SIP2 connection may speak (older machines send CP949).
SIP2_ENCODINGS = ("utf-8", "cp949")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Title(db.Model):
    __tablename__ = "library_title"

    id: Mapped[int] = mapped_column(primary_key=True)
    isbn: Mapped[str] = mapped_column(String(13), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    author: Mapped[str] = mapped_column(String(200))
    publisher: Mapped[str | None] = mapped_column(String(200))
    year: Mapped[int | None]
    # 한국십진분류법 class, e.g. "813.7".
    kdc: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    copies: Mapped[list[Copy]] = relationship(back_populates="title_ref")


class Kiosk(db.Model):
    __tablename__ = "library_kiosk"
    __table_args__ = (
        CheckConstraint("slot_count > 0", name="slot_count_positive"),
        CheckConstraint(_in("sip2_encoding", SIP2_ENCODINGS), name="sip2_encoding_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    slot_count: Mapped[int]
    # SHA-256 of the device key; the key itself is shown once when issued.
    key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    key_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Functions librarians switched on; faults can still disable them.
    checkout_enabled: Mapped[bool] = mapped_column(default=True)
    return_enabled: Mapped[bool] = mapped_column(default=True)
    pickup_enabled: Mapped[bool] = mapped_column(default=True)
    faults: Mapped[list] = mapped_column(JSON, default=list)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The text encoding of its SIP2 connection: UTF-8, or CP949 for older machines.
    sip2_encoding: Mapped[str] = mapped_column(String(10), default="utf-8", server_default="utf-8")


class Copy(db.Model):
    __tablename__ = "library_copy"
    __table_args__ = (
        CheckConstraint(_in("status", COPY_STATUSES), name="status_known"),
        CheckConstraint("(kiosk_id IS NULL) = (slot IS NULL)", name="slot_with_kiosk"),
        CheckConstraint("slot IS NULL OR slot > 0", name="slot_positive"),
        UniqueConstraint("kiosk_id", "slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    barcode: Mapped[str] = mapped_column(String(40), unique=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("library_title.id"), index=True)
    status: Mapped[str] = mapped_column(String(30), default="available")
    # Where it is: a kiosk slot, or (both NULL) the library.
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("library_kiosk.id"))
    slot: Mapped[int | None]
    # When its status or place last changed: replayed transactions older than this conflict.
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    title_ref: Mapped[Title] = relationship(back_populates="copies")
    kiosk: Mapped[Kiosk | None] = relationship()


class Patron(db.Model):
    __tablename__ = "library_patron"
    __table_args__ = (
        CheckConstraint("loan_limit IS NULL OR loan_limit >= 0", name="loan_limit_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    card_number: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    pin_hash: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"), unique=True)
    # Overrides the configured loan limit for this patron.
    loan_limit: Mapped[int | None]
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    holds_barred_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_pin_attempts: Mapped[int] = mapped_column(default=0)
    pin_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Loan(db.Model):
    __tablename__ = "library_loan"
    __table_args__ = (
        CheckConstraint(
            "(returned_at IS NULL AND active_copy_id IS NOT NULL) OR "
            "(returned_at IS NOT NULL AND active_copy_id IS NULL)",
            name="active_while_open",
        ),
        CheckConstraint(
            "active_copy_id IS NULL OR active_copy_id = copy_id", name="active_is_copy"
        ),
        CheckConstraint("renewals >= 0", name="renewals_positive"),
        Index("ix_library_loan_patron_open", "patron_id", "returned_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(ForeignKey("library_copy.id"), index=True)
    # Equals copy_id while the loan is open, NULL after: unique, so one open loan per copy.
    active_copy_id: Mapped[int | None] = mapped_column(ForeignKey("library_copy.id"), unique=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("library_patron.id"))
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("library_kiosk.id"))
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("library_hold.id"))
    out_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    return_kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("library_kiosk.id"))
    renewals: Mapped[int] = mapped_column(default=0)
    overdue_days: Mapped[int | None]
    # The local due date each reminder was last sent for (a renewal moves the due date).
    reminded_before_for: Mapped[date | None] = mapped_column(Date)
    reminded_due_for: Mapped[date | None] = mapped_column(Date)

    copy: Mapped[Copy] = relationship(foreign_keys=[copy_id])
    patron: Mapped[Patron] = relationship()
    kiosk: Mapped[Kiosk | None] = relationship(foreign_keys=[kiosk_id])


class Hold(db.Model):
    __tablename__ = "library_hold"
    __table_args__ = (
        CheckConstraint(_in("status", HOLD_STATUSES), name="status_known"),
        Index("ix_library_hold_title_status", "title_id", "status"),
        Index("ix_library_hold_patron_status", "patron_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("library_title.id"))
    patron_id: Mapped[int] = mapped_column(ForeignKey("library_patron.id"))
    pickup_kiosk_id: Mapped[int] = mapped_column(ForeignKey("library_kiosk.id"))
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    # The copy set aside for it (in transit or in the pickup slot); kept for the record.
    copy_id: Mapped[int | None] = mapped_column(ForeignKey("library_copy.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pickup_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    title_ref: Mapped[Title] = relationship()
    patron: Mapped[Patron] = relationship()
    pickup_kiosk: Mapped[Kiosk] = relationship()
    copy: Mapped[Copy | None] = relationship()


class KioskTransaction(db.Model):
    """One row per kiosk transaction id: the first answer, replayed to any retry."""

    __tablename__ = "library_kiosk_transaction"
    __table_args__ = (UniqueConstraint("kiosk_id", "transaction_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("library_kiosk.id"))
    transaction_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    replayed: Mapped[bool] = mapped_column(default=False)
    # SHA-256 of the request without the PIN: a reused id with other content is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    request: Mapped[dict] = mapped_column(JSON)
    status_code: Mapped[int | None]
    response: Mapped[dict | None] = mapped_column(JSON)


class Conflict(db.Model):
    """Something a kiosk reported that the server could not apply; librarians resolve it."""

    __tablename__ = "library_conflict"
    __table_args__ = (
        CheckConstraint(_in("kind", CONFLICT_KINDS), name="kind_known"),
        Index("ix_library_conflict_open", "resolved_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("library_kiosk.id"))
    journal_id: Mapped[int | None] = mapped_column(ForeignKey("library_kiosk_transaction.id"))
    reason: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    resolution: Mapped[str | None] = mapped_column(Text)

    kiosk: Mapped[Kiosk] = relationship()
