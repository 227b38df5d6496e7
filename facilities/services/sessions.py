"""A facility's sessions as its managers run them: each day's or week's sessions with their
occupancy (places taken, people checked in, no-shows), and one session's bookings."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from core.extensions import db
from core.models import User
from facilities.models import Booking
from facilities.services import availability, capacity

# What a session's people count as: holding places, in, or not come.
TAKING = ("held", "confirmed", "checked_in", "no_show")


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def schedule(facility_id: int, now: datetime, *, first: date | None = None, days: int = 1) -> dict:
    """The facility's schedule (``availability.schedule``) with each session's occupancy:
    places taken, people checked in and not come, and each day's totals."""
    found = availability.schedule(facility_id, now, first=first, days=days)
    slot_ids = [slot["id"] for day in found["days"] for slot in day["slots"]]
    people: dict[tuple[int, str], int] = {}
    if slot_ids:
        for slot_id, status, units in db.session.execute(
            select(Booking.slot_id, Booking.status, func.sum(Booking.units))
            .where(Booking.slot_id.in_(slot_ids), Booking.status.in_(TAKING))
            .group_by(Booking.slot_id, Booking.status)
        ):
            people[slot_id, status] = int(units or 0)
    for day in found["days"]:
        totals = {"capacity": 0, "taken": 0, "checked_in": 0, "no_show": 0}
        for slot in day["slots"]:
            open_ = slot["status"] != "closed"
            slot["taken"] = slot["capacity"] - slot["remaining"] if open_ else 0
            slot["checked_in"] = people.get((slot["id"], "checked_in"), 0)
            slot["no_show"] = people.get((slot["id"], "no_show"), 0)
            slot["held"] = people.get((slot["id"], "held"), 0)
            slot["occupancy_percent"] = _percent(slot["taken"], slot["capacity"])
            if open_:
                totals["capacity"] += slot["capacity"]
                totals["taken"] += slot["taken"]
            totals["checked_in"] += slot["checked_in"]
            totals["no_show"] += slot["no_show"]
        totals["occupancy_percent"] = _percent(totals["taken"], totals["capacity"])
        day["totals"] = totals
    return found


def roster(slot_id: int, now: datetime) -> dict:
    """One session for its check-in desk: the session, its facility and resource, every
    booking with its person (in booking order), counts by status, and when check-in opens
    and closes."""
    slot = capacity.find_slot(slot_id)
    facility = slot.facility
    rules = facility.rules
    rows = db.session.execute(
        select(Booking, User.name, User.email)
        .join(User, User.id == Booking.user_id)
        .where(Booking.slot_id == slot.id)
        .order_by(Booking.id)
    ).all()
    counts: dict[str, int] = {}
    for booking, _, _ in rows:
        counts[booking.status] = counts.get(booking.status, 0) + booking.units
    return {
        "slot": slot,
        "facility": facility,
        "resource": slot.resource,
        "bookings": [
            {"booking": booking, "name": name, "email": email} for booking, name, email in rows
        ],
        "counts": counts,
        "status": availability.slot_status(slot.status, slot.starts_at, slot.remaining, now),
        "checkin_opens": slot.starts_at - timedelta(minutes=rules.checkin_before_minutes),
        "checkin_closes": slot.starts_at + timedelta(minutes=rules.checkin_after_minutes),
    }
