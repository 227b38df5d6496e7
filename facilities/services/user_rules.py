"""Per-person rules: suspensions, active bookings per facility, one a day, no overlaps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, or_, select

from core.db import execute_plain
from core.errors import Forbidden, RuleViolation
from core.extensions import db
from facilities.models import ACTIVE_STATUSES, Booking, Rules, Slot, Suspension

# Built once: checked on every booking request.
_ACTIVE_SUSPENSION = (
    select(Suspension)
    .where(
        Suspension.user_id == bindparam("user_id"),
        Suspension.starts_at <= bindparam("now", type_=Suspension.starts_at.type),
        Suspension.ends_at > bindparam("now", type_=Suspension.ends_at.type),
    )
    .order_by(Suspension.ends_at.desc())
    .limit(1)
)


def active_suspension(user_id: int, now: datetime) -> Suspension | None:
    return db.session.scalar(_ACTIVE_SUSPENSION, {"user_id": user_id, "now": now})


# When the person's current suspension ends (NULL if none), for statements that ask it
# together with other things; takes the same ``user_id`` and ``now`` parameters.
SUSPENDED_UNTIL = _ACTIVE_SUSPENSION.with_only_columns(Suspension.ends_at).scalar_subquery()


def refuse_if_suspended(ends_at: datetime | None) -> None:
    if ends_at is not None:
        raise Forbidden(
            "Bookings are suspended after repeated no-shows",
            code="booking_suspended",
            suspended_until=ends_at.isoformat(),
        )


def check_not_suspended(user_id: int, now: datetime) -> None:
    suspension = active_suspension(user_id, now)
    refuse_if_suspended(suspension.ends_at if suspension else None)


# The person's bookings that matter for a new one: still to come, or on the same day.
_MINE = select(Booking.facility_id, Booking.starts_at, Booking.ends_at, Booking.local_date).where(
    Booking.user_id == bindparam("user_id"),
    Booking.status.in_(ACTIVE_STATUSES),
    or_(
        Booking.ends_at > bindparam("now", type_=Booking.ends_at.type),
        Booking.local_date == bindparam("local_date"),
    ),
)


def check_limits(user_id: int, slot: Slot, rules: Rules, now: datetime) -> None:
    """Raise RuleViolation naming the rule a new booking of ``slot`` would break."""
    # A person has only a handful of active bookings: fetch them once, check in Python.
    mine = execute_plain(
        _MINE, {"user_id": user_id, "now": now, "local_date": slot.local_date}
    ).all()
    if any(b.starts_at < slot.ends_at and b.ends_at > slot.starts_at for b in mine):
        raise RuleViolation(
            "You already have a booking at this time",
            code="booking_overlap",
            errors={"slot_id": ["Overlaps another of your bookings."]},
        )
    here = [b for b in mine if b.facility_id == slot.facility_id]
    that_day = sum(1 for b in here if b.local_date == slot.local_date)
    if that_day >= rules.max_bookings_per_day:
        raise RuleViolation(
            f"At most {rules.max_bookings_per_day} booking(s) per facility per day",
            code="daily_limit",
            errors={"slot_id": ["You already have a booking at this facility that day."]},
        )
    upcoming = sum(1 for b in here if b.starts_at > now)
    if upcoming >= rules.max_active_bookings:
        raise RuleViolation(
            f"At most {rules.max_active_bookings} upcoming bookings per facility",
            code="active_limit",
            errors={"slot_id": [f"You have {upcoming} upcoming bookings at this facility."]},
        )
