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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, partial_unique
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
# A programme participant's code has a salt of its own: it never passes as a booking's.
ATTENDANCE_SALT = "facilities.programme-attendance"

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
        CheckConstraint("allocation IN ('first_come', 'lottery')", name="allocation_known"),
        CheckConstraint("lottery_window_hours > 0", name="lottery_window_positive"),
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
    # "lottery": each session's places are drawn among those who applied in a window that
    # opens when booking would open and lasts ``lottery_window_hours``.
    allocation: Mapped[str] = mapped_column(String(12), default="first_come")
    lottery_window_hours: Mapped[int] = mapped_column(default=24)
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
        partial_unique(
            "uq_facilities_booking_exclusive_slot",
            "slot_id",
            where=f"is_exclusive AND {_ACTIVE_SQL}",
        ),
        # One active booking per person per slot.
        partial_unique("uq_facilities_booking_user_slot", "user_id", "slot_id", where=_ACTIVE_SQL),
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
        partial_unique(
            "uq_facilities_waitlist_entry_user_slot",
            "slot_id",
            "user_id",
            where="status IN ('waiting', 'offered')",
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


# Lesson programmes, lotteries and their applications --------------------------------------

PROGRAMME_LEVELS = ("beginner", "intermediate", "advanced")
ENROLMENT_MODES = ("first_come", "lottery")
PROGRAMME_STATUSES = ("open", "cancelled")
ALLOCATIONS = ("first_come", "lottery")
LOTTERY_STATUSES = ("open", "drawn", "cancelled")
# Priority groups a lottery may rank, in its own order: verified city residents, anyone.
PRIORITY_GROUPS = ("resident", "everyone")
APPLICATION_STATUSES = (
    "applied",  # in a lottery, waiting for the draw
    "held",  # a place held for payment until hold_expires_at
    "enrolled",  # paid (or free): the place is theirs
    "waiting",  # lost the draw (or the places ran out): waiting in order
    "expired",  # the payment deadline passed
    "withdrawn",  # taken back while the window was open
    "cancelled",  # the programme (or the session) was cancelled
    "closed",  # still waiting when the term or the session began
)
# Applications that hold one of the programme's places.
HOLDING_STATUSES = ("held", "enrolled")
_LIVE_APPLICATION_SQL = "status <> 'withdrawn'"


class Dependent(db.Model):
    """A child (or another person) a resident applies for, with the birth year the age bands
    are checked against."""

    __tablename__ = "facilities_dependent"
    __table_args__ = (
        UniqueConstraint("user_id", "name"),
        CheckConstraint("birth_year BETWEEN 1900 AND 2100", name="birth_year_plausible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    birth_year: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Programme(db.Model):
    """A lesson programme for one term: weekly sessions on one resource, a number of places,
    a price for the term per price category, enrolled first come or by lottery.

    ``enrolled`` counts the applications holding a place (held or enrolled); it changes only
    under the programme's row lock, and the database refuses it above ``capacity``."""

    __tablename__ = "facilities_programme"
    __table_args__ = (
        CheckConstraint(f"level IN {_in(PROGRAMME_LEVELS)}", name="level_known"),
        CheckConstraint(f"enrolment IN {_in(ENROLMENT_MODES)}", name="enrolment_known"),
        CheckConstraint(f"status IN {_in(PROGRAMME_STATUSES)}", name="status_known"),
        CheckConstraint("term_end >= term_start", name="term_ordered"),
        CheckConstraint("window_closes_at > window_opens_at", name="window_ordered"),
        CheckConstraint("min_age >= 0 AND max_age >= min_age", name="age_band_ordered"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint(
            "min_enrolment >= 0 AND min_enrolment <= capacity", name="min_enrolment_in_range"
        ),
        CheckConstraint("enrolled >= 0 AND enrolled <= capacity", name="within_capacity"),
        CheckConstraint("rink_places > 0", name="rink_places_positive"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("payment_hours > 0", name="payment_hours_positive"),
        Index("ix_facilities_programme_facility_term", "facility_id", "term_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities_facility.id"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("facilities_resource.id"))
    title: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(20))
    min_age: Mapped[int]
    max_age: Mapped[int]
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date] = mapped_column(Date)
    # Mon = 0 ... Sun = 6, and the local start time "HH:MM" of every session.
    weekdays: Mapped[list] = mapped_column(JSON)
    start_time: Mapped[str] = mapped_column(String(5))
    duration_minutes: Mapped[int]
    capacity: Mapped[int]
    min_enrolment: Mapped[int] = mapped_column(default=0)
    enrolled: Mapped[int] = mapped_column(default=0)
    # The term's price per price category in KRW, e.g. {"adult": 120000, "child": 80000}.
    prices: Mapped[dict] = mapped_column(JSON)
    instructor: Mapped[str] = mapped_column(String(100), default="")
    # Places public sessions on the rink lose during the programme's sessions (a sheet is
    # taken whole whatever this says).
    rink_places: Mapped[int] = mapped_column(default=1)
    enrolment: Mapped[str] = mapped_column(String(12))
    window_opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    window_closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # How long a place is held for payment once given.
    payment_hours: Mapped[int] = mapped_column(default=48)
    # The same class in the previous term: its lottery's losers may get a second ticket.
    previous_programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("facilities_programme.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(10), default="open")
    # Set when the window's end has been dealt with (minimum enrolment, waitlist closed).
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(String(200))

    facility: Mapped[Facility] = relationship()
    resource: Mapped[Resource] = relationship()

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.enrolled, 0)


class ProgrammeSession(db.Model):
    """One weekly occurrence of a programme on its resource: the ice it occupies."""

    __tablename__ = "facilities_programme_session"
    __table_args__ = (
        UniqueConstraint("programme_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("status IN ('scheduled', 'cancelled')", name="status_known"),
        Index("ix_facilities_programme_session_resource_start", "resource_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("facilities_programme.id", ondelete="CASCADE")
    )
    resource_id: Mapped[int] = mapped_column(ForeignKey("facilities_resource.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    local_date: Mapped[date] = mapped_column(Date)
    # Rink places taken from public sessions (a sheet: 1, the whole sheet).
    places: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default="scheduled")
    closure_id: Mapped[int | None] = mapped_column(
        ForeignKey("facilities_closure.id", ondelete="SET NULL")
    )


class Lottery(db.Model):
    """A draw for a programme's places or a session's (a slot of an ``allocation: lottery``
    template). The commitment is published when the lottery is made; the seed stays secret
    until the draw, then the seed, the applications as drawn and the order are published and
    can never change (database triggers refuse it)."""

    __tablename__ = "facilities_lottery"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(LOTTERY_STATUSES)}", name="status_known"),
        CheckConstraint("(programme_id IS NULL) <> (slot_id IS NULL)", name="programme_or_slot"),
        CheckConstraint("window_closes_at > window_opens_at", name="window_ordered"),
        CheckConstraint("places > 0", name="places_positive"),
        CheckConstraint(
            "status <> 'drawn' OR (drawn_at IS NOT NULL AND published_order IS NOT NULL"
            " AND published_applications IS NOT NULL)",
            name="drawn_is_published",
        ),
        Index("ix_facilities_lottery_status_close", "status", "window_closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities_facility.id"))
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("facilities_programme.id"), unique=True
    )
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("facilities_slot.id"), unique=True)
    places: Mapped[int]
    window_opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    window_closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    priority_groups: Mapped[list] = mapped_column(JSON)
    second_ticket: Mapped[bool] = mapped_column(default=False)
    procedure: Mapped[str] = mapped_column(String(20))
    commitment: Mapped[str] = mapped_column(String(64))
    seed: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="open")
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_applications: Mapped[list | None] = mapped_column(JSON)
    published_order: Mapped[list | None] = mapped_column(JSON)
    applications_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def is_drawn(self) -> bool:
        return self.status == "drawn"


class Application(db.Model):
    """An application for a programme (for oneself or a dependent) or for a lottery session.
    Its id is the application number the draw publishes.

    One per person per programme (and so per term), and per person per lottery session: a
    partial UNIQUE over the applications not withdrawn."""

    __tablename__ = "facilities_application"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(APPLICATION_STATUSES)}", name="status_known"),
        CheckConstraint(
            "programme_id IS NOT NULL OR lottery_id IS NOT NULL", name="programme_or_lottery"
        ),
        CheckConstraint("tickets IN (1, 2)", name="tickets_known"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("refund_amount IS NULL OR refund_amount <= price", name="refund_le_price"),
        partial_unique(
            "uq_facilities_application_programme_participant",
            "programme_id",
            "participant",
            where=f"programme_id IS NOT NULL AND {_LIVE_APPLICATION_SQL}",
        ),
        partial_unique(
            "uq_facilities_application_lottery_participant",
            "lottery_id",
            "participant",
            where=f"lottery_id IS NOT NULL AND {_LIVE_APPLICATION_SQL}",
        ),
        Index("ix_facilities_application_lottery_status", "lottery_id", "status"),
        Index("ix_facilities_application_programme_status", "programme_id", "status"),
        Index("ix_facilities_application_status_hold", "status", "hold_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("facilities_programme.id"))
    lottery_id: Mapped[int | None] = mapped_column(ForeignKey("facilities_lottery.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"), index=True)
    dependent_id: Mapped[int | None] = mapped_column(
        ForeignKey("facilities_dependent.id", ondelete="SET NULL")
    )
    # Who takes the place: "u<user id>" for the applicant, "d<dependent id>" for a dependent.
    participant: Mapped[str] = mapped_column(String(20))
    participant_name: Mapped[str] = mapped_column(String(100))
    birth_year: Mapped[int | None]
    # The programme's price category, or a session's party per category.
    category: Mapped[str | None] = mapped_column(String(12))
    party: Mapped[dict | None] = mapped_column(JSON)
    priority_group: Mapped[str | None] = mapped_column(String(12))
    tickets: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(10))
    # 1-based place in the drawn order (lotteries), or in the waitlist's order.
    draw_position: Mapped[int | None]
    price: Mapped[int] = mapped_column(default=0)
    refund_amount: Mapped[int | None]
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payment_reference: Mapped[str | None] = mapped_column(String(100), unique=True)
    # A lottery session's winner gets a held booking of the slot.
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("facilities_booking.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    def check_in_code(self, secret: str) -> str | None:
        """The signed token an enrolled participant shows (as a QR code) at each session."""
        if self.status != "enrolled" or self.programme_id is None:
            return None
        return URLSafeSerializer(secret, salt=ATTENDANCE_SALT).dumps({"a": self.id})


class Attendance(db.Model):
    """An enrolled participant checked in at one of the programme's sessions."""

    __tablename__ = "facilities_attendance"
    __table_args__ = (UniqueConstraint("session_id", "application_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("facilities_programme_session.id", ondelete="CASCADE")
    )
    application_id: Mapped[int] = mapped_column(ForeignKey("facilities_application.id"))
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime())
