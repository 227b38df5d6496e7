"""What can be booked: slots of a facility over a date range, with places left and status.

Read on every page view and hammered at opening time, so it reads plain columns (no ORM
objects) and needs no locks.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from core.db import execute_plain
from core.errors import RuleViolation
from core.extensions import db
from facilities.models import Facility, Slot
from facilities.services import capacity, catalog
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


# How far from today a schedule may be asked for: the past that still matters to someone,
# and beyond anything generated ahead (slots are made 60 days ahead by default).
SCHEDULE_DAYS_BACK = 31
SCHEDULE_DAYS_AHEAD = 366


def _with_opening(slots: list[dict], now: datetime, today: date, tz: str) -> list[dict]:
    """Each slot with when its booking opens, read as residents need it: ``booking_open`` (it
    takes bookings now, places permitting) and ``opens_today`` (it opens later today)."""
    opening: dict[str, tuple[bool, bool]] = {}
    for slot in slots:
        key = slot["bookable_from"]
        if key not in opening:
            opens = datetime.fromisoformat(key)
            opening[key] = (now >= opens, now < opens and local_date(opens, tz) == today)
        slot["booking_open"], slot["opens_today"] = opening[key]
    return slots


def schedule(facility_id: int, now: datetime, *, first: date | None = None, days: int = 1) -> dict:
    """A facility's sessions over ``days`` local days from ``first`` (default: today), day by
    day, each with its places left, price, status and when its booking opens."""
    facility = catalog.get_facility(facility_id)
    tz = facility.timezone
    today = local_date(now, tz)
    first = first or today
    if (
        not today - timedelta(days=SCHEDULE_DAYS_BACK)
        <= first
        <= today + timedelta(days=SCHEDULE_DAYS_AHEAD)
    ):
        raise RuleViolation(
            "No schedule that far from today",
            code="schedule_out_of_range",
            errors={"date": [f"Pick a day within {SCHEDULE_DAYS_AHEAD} days of today."]},
        )
    last = first + timedelta(days=days - 1)
    slots = _with_opening(availability(facility, first, last, now), now, today, tz)
    names = {resource.id: resource.name for resource in facility.resources}
    for slot in slots:
        slot["resource"] = names.get(slot["resource_id"], "")
    by_day: dict[date, list[dict]] = {first + timedelta(days=n): [] for n in range(days)}
    for slot in slots:
        by_day[local_date(datetime.fromisoformat(slot["starts_at"]), tz)].append(slot)
    return {
        "facility": catalog.describe(facility),
        "today": today,
        "first": first,
        "last": last,
        "days": [{"date": day, "slots": day_slots} for day, day_slots in by_day.items()],
    }


def week_ahead(now: datetime, days: int = 7) -> list[dict]:
    """For every facility, the sessions one can book now: today's, grouped by start time
    (a curling centre's sheets share their times) with the places or sheets left, and how
    many such sessions each of the next ``days`` days has."""
    facilities = db.session.scalars(select(Facility).order_by(Facility.id)).all()
    result = []
    for facility in facilities:
        today = local_date(now, facility.timezone)
        last = today + timedelta(days=days - 1)
        slots = _with_opening(
            availability(facility, today, last, now), now, today, facility.timezone
        )
        bookable = [s for s in slots if s["status"] == "open" and s["booking_open"]]
        sessions: dict[tuple[date, str], dict] = {}
        for slot in bookable:
            day = local_date(datetime.fromisoformat(slot["starts_at"]), facility.timezone)
            session = sessions.setdefault(
                (day, slot["starts_at"]),
                {
                    "date": day,
                    "slot_id": slot["id"],
                    "starts_at": slot["starts_at"],
                    "ends_at": slot["ends_at"],
                    "places": 0,
                    "resources": 0,
                },
            )
            session["places"] += slot["remaining"]
            session["resources"] += 1
        result.append(
            {
                "id": facility.id,
                "name": facility.name,
                "kind": facility.kind,
                "timezone": facility.timezone,
                "today": [s for s in sessions.values() if s["date"] == today],
                "days": [
                    {
                        "date": day,
                        "sessions": sum(1 for s in sessions.values() if s["date"] == day),
                    }
                    for day in (today + timedelta(days=n) for n in range(days))
                ],
            }
        )
    return result


def slot_details(slot_id: int, now: datetime) -> dict:
    """One session as a booking or waitlist form shows it: its facility and resource, places
    left, status, price, the facility's party rules and discounts, and when booking opens."""
    slot = capacity.find_slot(slot_id)
    facility = slot.facility
    rules = facility.rules
    opens = bookable_from(slot.local_date, rules, facility.timezone)
    return {
        "slot": slot,
        "facility": facility,
        "resource": slot.resource,
        "rules": rules,
        "status": slot_status(slot.status, slot.starts_at, slot.remaining, now),
        "bookable_from": opens,
        "booking_open": now >= opens,
        "opens_today": now < opens
        and local_date(opens, facility.timezone) == local_date(now, facility.timezone),
    }
