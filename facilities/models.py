"""Facilities, bookable resources, slot templates, slots, bookings, waitlists, closures,
check-in gates, strikes and suspensions.

Capacity is guarded twice: the booking service locks the slot row and keeps ``booked`` in the
same transaction as the booking, and the database refuses ``booked > capacity`` (CHECK) and a
second active booking of an exclusive resource (curling sheet) in one slot (partial UNIQUE).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, time

from itsdangerous import URLSafeSerializer
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime
from core.extensions import db
from core.models import User

FACILITY_KINDS = ("ice_rink", "curling_centre")
RESOURCE_KINDS = ("rink", "sheet")
SLOT_STATUSES = ("open", "closed")
BOOKING_STATUSES = ("held", "confirmed", "checked_in", "no_show", "cancelled", "expired")
# Bookings that hold a place in their slot.
ACTIVE_STATUSES = ("held", "confirmed", "checked_in")
WAITLIST_STATUSES = ("waiting", "offered", "accepted", "expired", "skipped", "left", "cancelled")

_ACTIVE_SQL = "status IN ('held', 'confirmed', 'checked_in')"
# Check-in codes are signed with the app's secret under this salt (services.checkin reads them).
CHECK_IN_SALT = "facilities.check-in"

# Per-facility booking rules live in the facility row as JSON so each facility can differ;
# everything missing falls back to the defaults below (the city's standard rules).
CATEGORIES = ("adult", "youth", "child", "senior", "disabled", "veteran")
HOLIDAY_RULES = ("weekend", "closed")


def _default_discounts() -> dict[str, int]:
    return {"adult": 0, "youth": 20, "child": 50, "senior": 50, "disabled": 50, "veteran": 30}


def _default_refunds() -> list[list[int]]:
    # [minimum days of notice, refund percent], most generous first.
    return [[7, 100], [2, 80], [1, 50], [0, 0]]


@dataclass(frozen=True)
class Rules:
    opens_days_before: int = 14
    opens_at: str = "10:00"
    hold_minutes: int = 15
    offer_minutes: int = 30
    max_active_bookings: int = 4
    max_bookings_per_day: int = 1
    min_party: int = 1
    max_party: int = 10
    holiday_rule: str = "weekend"
    checkin_before_minutes: int = 30
    checkin_after_minutes: int = 15
    strike_limit: int = 3
    strike_window_days: int = 90
    suspension_days: int = 30
    resident_discount: int = 10
    category_discounts: dict = field(default_factory=_default_discounts)
    refund_tiers: list = field(default_factory=_default_refunds)

    @classmethod
    def from_json(cls, data: dict | None) -> Rules:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def opens_at_time(self) -> time:
        hour, minute = self.opens_at.split(":")
        return time(int(hour), int(minute))

    def refund_percent(self, days_of_notice: int) -> int:
        for min_days, percent in sorted(self.refund_tiers, key=lambda t: -t[0]):
            if days_of_notice >= min_days:
                return int(percent)
        return 0


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class Facility(db.Model):
    __tablename__ = "facilities_facility"
    __table_args__ = (CheckConstraint(f"kind IN {_in(FACILITY_KINDS)}", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    timezone: Mapped[str] = mapped_column(String(50), default="Asia/Seoul")
    address: Mapped[str] = mapped_column(String(300), default="")
    rules_json: Mapped[dict] = mapped_column("rules", JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    resources: Mapped[list[Resource]] = relationship(
        back_populates="facility", order_by="Resource.position, Resource.id"
    )

    @property
    def rules(self) -> Rules:
        return Rules.from_json(self.rules_json)


class Resource(db.Model):
    """The rink (shared by many skaters) or one curling sheet (booked whole)."""

    __tablename__ = "facilities_resource"
    __table_args__ = (
        UniqueConstraint("facility_id", "name"),
        CheckConstraint(f"kind IN {_in(RESOURCE_KINDS)}", name="kind_known"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities_facility.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(10))
    # Places per slot: skaters on the rink; 1 (one team) on a sheet.
    capacity: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    facility: Mapped[Facility] = relationship(back_populates="resources")

    @property
    def exclusive(self) -> bool:
        return self.kind == "sheet"


class SlotTemplate(db.Model):
    """A weekly pattern of sessions on one resource, materialized into slots ahead of time."""

    __tablename__ = "facilities_slot_template"
    __table_args__ = (
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("base_price >= 0", name="price_not_negative"),
        CheckConstraint("buffer_after_minutes >= 0", name="buffer_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("facilities_resource.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    # ISO weekdays as a list of ints, Monday = 0 ... Sunday = 6.
    weekdays: Mapped[list] = mapped_column(JSON)
    # Local start times "HH:MM".
    start_times: Mapped[list] = mapped_column(JSON)
    duration_minutes: Mapped[int]
    buffer_after_minutes: Mapped[int] = mapped_column(default=0)
    capacity: Mapped[int]
    base_price: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    resource: Mapped[Resource] = relationship()


class Slot(db.Model):
    __tablename__ = "facilities_slot"
    __table_args__ = (
        UniqueConstraint("resource_id", "starts_at"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="within_capacity"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(f"status IN {_in(SLOT_STATUSES)}", name="status_known"),
        Index("ix_facilities_slot_facility_day", "facility_id", "local_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities_facility.id"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("facilities_resource.id"))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("facilities_slot_template.id", ondelete="SET NULL")
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The facility-local day, for "per day" rules and reports.
    local_date: Mapped[date] = mapped_column(Date)
    capacity: Mapped[int]
    # Places taken by active bookings; updated with them, under the slot's row lock.
    booked: Mapped[int] = mapped_column(default=0)
    base_price: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default="open")
    closure_id: Mapped[int | None] = mapped_column(
        ForeignKey("facilities_closure.id", ondelete="SET NULL")
    )

    # Loaded with the slot: every booking rule needs both.
    resource: Mapped[Resource] = relationship(lazy="joined", innerjoin=True)
    facility: Mapped[Facility] = relationship(lazy="joined", innerjoin=True)

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)


class Booking(db.Model):
    __tablename__ = "facilities_booking"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(BOOKING_STATUSES)}", name="status_known"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("units > 0", name="units_positive"),
        CheckConstraint("refund_amount IS NULL OR refund_amount <= price", name="refund_le_price"),
        # A curling sheet takes one team per slot.
        Index(
            "uq_facilities_booking_exclusive_slot",
            "slot_id",
            unique=True,
            sqlite_where=text(f"is_exclusive AND {_ACTIVE_SQL}"),
            postgresql_where=text(f"is_exclusive AND {_ACTIVE_SQL}"),
        ),
        # One active booking per person per slot.
        Index(
            "uq_facilities_booking_user_slot",
            "user_id",
            "slot_id",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        Index("ix_facilities_booking_user_start", "user_id", "starts_at"),
        Index("ix_facilities_booking_facility_day", "facility_id", "local_date"),
        Index("ix_facilities_booking_status_hold", "status", "hold_expires_at"),
        Index("ix_facilities_booking_status_start", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("facilities_slot.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"))
    # Copied from the slot so the per-user rules need no joins.
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities_facility.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    local_date: Mapped[date] = mapped_column(Date)
    is_exclusive: Mapped[bool] = mapped_column(default=False)
    # People per price category, e.g. {"adult": 2, "child": 1}.
    party: Mapped[dict] = mapped_column(JSON)
    party_size: Mapped[int]
    # Places taken in the slot: the party on the rink, 1 on a sheet.
    units: Mapped[int]
    status: Mapped[str] = mapped_column(String(12))
    # Frozen at booking: the total and how it was made up.
    price: Mapped[int]
    price_lines: Mapped[list] = mapped_column(JSON, default=list)
    refund_amount: Mapped[int | None]
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payment_reference: Mapped[str | None] = mapped_column(String(100), unique=True)
    is_offer: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    cancel_reason: Mapped[str | None] = mapped_column(String(200))

    slot: Mapped[Slot] = relationship(lazy="joined")
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def resource_id(self) -> int:
        return self.slot.resource_id

    def check_in_code(self, secret: str) -> str | None:
        """The signed token shown as a QR code at the door, once the booking is confirmed."""
        if self.status not in ("confirmed", "checked_in"):
            return None
        return URLSafeSerializer(secret, salt=CHECK_IN_SALT).dumps({"b": self.id})


class WaitlistEntry(db.Model):
    __tablename__ = "facilities_waitlist_entry"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(WAITLIST_STATUSES)}", name="status_known"),
        Index(
            "uq_facilities_waitlist_entry_user_slot",
            "slot_id",
            "user_id",
            unique=True,
            sqlite_where=text("status IN ('waiting', 'offered')"),
            postgresql_where=text("status IN ('waiting', 'offered')"),
        ),
        Index("ix_facilities_waitlist_entry_slot_status", "slot_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("facilities_slot.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"), index=True)
    party: Mapped[dict] = mapped_column(JSON)
    units: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("facilities_booking.id"))

    slot: Mapped[Slot] = relationship()
    user: Mapped[User] = relationship()


class Closure(db.Model):
    __tablename__ = "facilities_closure"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities_facility.id"), index=True)
    # None closes every resource of the facility.
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("facilities_resource.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    slots_closed: Mapped[int] = mapped_column(default=0)
    bookings_cancelled: Mapped[int] = mapped_column(default=0)
    # Set when the closure is lifted early: its slots not started yet reopened (unless another
    # closure still covers them); the cancelled bookings stay cancelled.
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    slots_reopened: Mapped[int | None]

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


class Gate(db.Model):
    """A check-in gate at a facility's door. It calls with its own key (``Authorization: Gate
    <key>``); only the key's SHA-256 hash is kept, so the key is shown once, when issued."""

    __tablename__ = "facilities_gate"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities_facility.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Strike(db.Model):
    """A no-show. Enough of them within the window suspend new bookings."""

    __tablename__ = "facilities_strike"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("facilities_booking.id"), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Suspension(db.Model):
    __tablename__ = "facilities_suspension"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)


class CalendarFeed(db.Model):
    """A private calendar URL per user: only the token's hash is kept; regenerating replaces it."""

    __tablename__ = "facilities_calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
