"""What can be booked: slots of a facility over a date range, with places left and status.

Read on every page view and hammered at opening time, so it reads plain columns (no ORM
objects) and needs no locks.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from core.db import execute_plain
from core.errors import RuleViolation
from facilities.models import Facility, Slot
from facilities.services import catalog
from facilities.services.local_time import bookable_from, local_date

MAX_DAYS = 31


def slot_status(status: str, starts_at: datetime, remaining: int, now: datetime) -> str:
    if status == "closed":
        return "closed"
    if starts_at <= now:
        return "past"
    return "full" if remaining <= 0 else "open"


def check_range(first: date, last: date) -> None:
    if last < first:
        raise RuleViolation("'to' is before 'from'", errors={"to": ["Before 'from'."]})
    if (last - first).days >= MAX_DAYS:
        raise RuleViolation(
            f"At most {MAX_DAYS} days at a time", errors={"to": [f"Range over {MAX_DAYS} days."]}
        )


def availability(
    facility: Facility, first: date, last: date, now: datetime, resource_id: int | None = None
) -> list[dict]:
    check_range(first, last)
    rules, tz = facility.rules, facility.timezone
    stmt = select(
        Slot.id,
        Slot.resource_id,
        Slot.starts_at,
        Slot.ends_at,
        Slot.local_date,
        Slot.capacity,
        Slot.booked,
        Slot.base_price,
        Slot.status,
    ).where(Slot.facility_id == facility.id, Slot.local_date.between(first, last))
    if resource_id is not None:
        stmt = stmt.where(Slot.resource_id == resource_id)
    opening: dict[date, str] = {}
    # Serialized here (ISO 8601 strings): this list is read on every page view in a rush, and
    # parallel resources (six curling sheets) share their times, so each is written once.
    iso: dict[datetime, str] = {}
    result = []
    for row in execute_plain(stmt.order_by(Slot.starts_at, Slot.resource_id)):
        remaining = max(row.capacity - row.booked, 0)
        if row.local_date not in opening:
            opening[row.local_date] = bookable_from(row.local_date, rules, tz).isoformat()
        if row.starts_at not in iso:
            iso[row.starts_at] = row.starts_at.isoformat()
        if row.ends_at not in iso:
            iso[row.ends_at] = row.ends_at.isoformat()
        result.append(
            {
                "id": row.id,
                "resource_id": row.resource_id,
                "starts_at": iso[row.starts_at],
                "ends_at": iso[row.ends_at],
                "capacity": row.capacity,
                "remaining": remaining,
                "price": row.base_price,
                "bookable_from": opening[row.local_date],
                "status": slot_status(row.status, row.starts_at, remaining, now),
            }
        )
    return result


def default_range(now_local_day: date) -> tuple[date, date]:
    return now_local_day, now_local_day + timedelta(days=13)


def of_facility(
    facility_id: int,
    now: datetime,
    *,
    first: date | None = None,
    last: date | None = None,
    resource_id: int | None = None,
) -> list[dict]:
    """The facility's slots between two local dates (default: today and the next 13 days),
    as plain JSON values."""
    facility = catalog.get_facility(facility_id)
    first = first or local_date(now, facility.timezone)
    last = last or default_range(first)[1]
    return availability(facility, first, last, now, resource_id)
