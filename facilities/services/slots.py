"""Materialize slots from templates, a number of days ahead (CLI and a daily job).

Korean public holidays follow the facility's rule: ``weekend`` runs the Sunday schedule,
``closed`` generates nothing. Already generated slots are never touched, so running it again
is safe.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from core.extensions import db
from facilities.models import Facility, ProgrammeSession, Slot
from facilities.services import lottery_setup
from facilities.services.catalog import active_templates, parse_time
from facilities.services.closures import active_overlapping, covering, lock_facility
from facilities.services.local_time import (
    bookable_from,
    is_public_holiday,
    local_date,
    local_to_utc,
)
from facilities.services.rink_time import places_taken, scheduled_sessions

SUNDAY = 6


def schedule_weekday(day: date, holiday_rule: str) -> int | None:
    """The weekday whose templates apply to ``day``; None when the facility is closed."""
    if is_public_holiday(day):
        return None if holiday_rule == "closed" else SUNDAY
    return day.weekday()


def generate_for_facility(facility: Facility, days: int, now: datetime) -> int:
    tz = facility.timezone
    rules = facility.rules
    first = local_date(now, tz)
    last = first + timedelta(days=days)
    window_start = local_to_utc(first, parse_time("00:00"), tz)
    window_end = local_to_utc(last + timedelta(days=1), parse_time("00:00"), tz)
    templates = active_templates(facility)
    if not templates:
        return 0
    # A closure made or lifted meanwhile would otherwise miss the slots made here.
    lock_facility(facility.id)
    existing: dict[int, list[tuple[datetime, datetime]]] = {}
    for resource_id, starts, ends in db.session.execute(
        select(Slot.resource_id, Slot.starts_at, Slot.ends_at).where(
            Slot.facility_id == facility.id,
            Slot.starts_at >= window_start,
            Slot.starts_at < window_end,
        )
    ):
        existing.setdefault(resource_id, []).append((starts, ends))
    # Lifted closures close nothing any more.
    closures = active_overlapping(facility.id, window_start, window_end)
    # Programmes' lessons hold part of the rink or a whole sheet at their times.
    lessons: dict[int, list[ProgrammeSession]] = {}
    lottery_slots: list[tuple[Slot, int]] = []
    created = 0
    for offset in range(days + 1):
        day = first + timedelta(days=offset)
        weekday = schedule_weekday(day, rules.holiday_rule)
        if weekday is None:
            continue
        for template in templates:
            if weekday not in template.weekdays:
                continue
            taken = existing.setdefault(template.resource_id, [])
            buffer = timedelta(minutes=template.buffer_after_minutes)
            for start_time in template.start_times:
                starts = local_to_utc(day, parse_time(start_time), tz)
                ends = starts + timedelta(minutes=template.duration_minutes)
                if starts <= now:
                    continue
                # Another template's session (or this one's break) already holds the time.
                if any(s < ends + buffer and e > starts for s, e in taken):
                    continue
                if template.resource_id not in lessons:
                    lessons[template.resource_id] = scheduled_sessions(
                        template.resource_id, window_start, window_end
                    )
                taken_by_lessons = places_taken(
                    template.resource, starts, ends, lessons[template.resource_id]
                )
                if taken_by_lessons is None or taken_by_lessons >= template.capacity:
                    continue
                closure = covering(closures, template.resource_id, starts, ends)
                slot = Slot(
                    facility_id=facility.id,
                    resource_id=template.resource_id,
                    template_id=template.id,
                    starts_at=starts,
                    ends_at=ends,
                    local_date=day,
                    capacity=template.capacity - taken_by_lessons,
                    booked=0,
                    base_price=template.base_price,
                    status="closed" if closure else "open",
                    closure_id=closure.id if closure else None,
                )
                db.session.add(slot)
                if template.allocation == "lottery" and closure is None:
                    lottery_slots.append((slot, template.lottery_window_hours))
                taken.append((starts, ends))
                created += 1
    db.session.flush()
    for slot, hours in lottery_slots:
        _open_session_lottery(slot, hours, rules, tz, now)
    return created


def _open_session_lottery(slot: Slot, hours: int, rules, tz: str, now: datetime) -> None:
    """A session of an ``allocation: lottery`` template: its places are drawn among those who
    apply from when booking would open, for the template's ``lottery_window_hours`` (never
    past the session's start)."""
    opens = bookable_from(slot.local_date, rules, tz)
    closes = min(opens + timedelta(hours=hours), slot.starts_at)
    if closes <= opens:
        closes = opens + timedelta(minutes=1)
    lottery_setup.open_lottery(
        facility_id=slot.facility_id,
        places=slot.capacity,
        opens=opens,
        closes=closes,
        now=now,
        slot_id=slot.id,
    )


def generate(days: int, now: datetime, facility_id: int | None = None) -> dict[str, int]:
    stmt = select(Facility).order_by(Facility.id)
    if facility_id is not None:
        stmt = stmt.where(Facility.id == facility_id)
    return {f.name: generate_for_facility(f, days, now) for f in db.session.scalars(stmt).all()}
