"""Bookings as iCalendar: one booking, or a person's private feed (cancelled bookings included
as cancelled events so calendar apps remove them). Times carry the facility's TZID."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import icalendar

from core.models import User
from facilities.models import Booking
from facilities.services import booking as bookings
from facilities.services import feeds
from facilities.services.local_time import zone

PRODID = "-//HAPPY-HUB//Facilities//KO"
STATUS = {
    "held": "TENTATIVE",
    "confirmed": "CONFIRMED",
    "checked_in": "CONFIRMED",
    "no_show": "CONFIRMED",
    "cancelled": "CANCELLED",
    "expired": "CANCELLED",
}


def _event(booking: Booking, now: datetime, domain: str) -> icalendar.Event:
    slot = booking.slot
    facility = slot.facility
    tz = zone(facility.timezone)
    event = icalendar.Event()
    event.add("uid", f"booking-{booking.id}@{domain}")
    event.add("dtstamp", now)
    event.add("dtstart", booking.starts_at.astimezone(tz))
    event.add("dtend", booking.ends_at.astimezone(tz))
    event.add("summary", f"{facility.name} {slot.resource.name}")
    if facility.address:
        event.add("location", facility.address)
    people = ", ".join(f"{k} {v}" for k, v in sorted(booking.party.items()))
    event.add("description", f"예약 번호 {booking.id} · 인원 {people}")
    event.add("status", STATUS[booking.status])
    # Bumped on cancellation so clients replace their copy.
    event.add("sequence", 1 if booking.status in ("cancelled", "expired") else 0)
    return event


def _lesson_event(session, programme, application, now: datetime, domain: str):
    """One session of a programme the person holds a place in (the participant named)."""
    facility = programme.facility
    tz = zone(facility.timezone)
    event = icalendar.Event()
    event.add("uid", f"lesson-{session.id}-{application.id}@{domain}")
    event.add("dtstamp", now)
    event.add("dtstart", session.starts_at.astimezone(tz))
    event.add("dtend", session.ends_at.astimezone(tz))
    event.add("summary", f"{programme.title} ({facility.name})")
    if facility.address:
        event.add("location", facility.address)
    event.add(
        "description",
        f"신청 번호 {application.id} · {application.participant_name}"
        f" · 강사 {programme.instructor}",
    )
    cancelled = session.status == "cancelled"
    event.add("status", "CANCELLED" if cancelled else STATUS_OF_PLACE[application.status])
    event.add("sequence", 1 if cancelled else 0)
    return event


# A held place is not yet paid: tentative, as a held booking is.
STATUS_OF_PLACE = {"held": "TENTATIVE", "enrolled": "CONFIRMED"}


def render(
    bookings: Iterable[Booking],
    now: datetime,
    *,
    name: str,
    domain: str = "happyhub.kr",
    lessons: Iterable[tuple] = (),
) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for booking in bookings:
        cal.add_component(_event(booking, now, domain))
    for session, programme, application in lessons:
        cal.add_component(_lesson_event(session, programme, application, now, domain))
    cal.add_missing_timezones()
    return cal.to_ical()


def booking_calendar(booking_id: int, actor: User, now: datetime, *, domain: str) -> bytes:
    """One of the actor's bookings (staff: any) as an event."""
    booking = bookings.get_booking(booking_id, actor)
    return render([booking], now, name="해피허브 예약", domain=domain)


def feed_calendar(token: str, now: datetime, *, domain: str) -> bytes:
    """The private feed behind ``token``: its person's bookings and programme sessions of the
    last days and ahead."""
    user = feeds.user_for_token(token)
    return render(
        feeds.feed_bookings(user, now),
        now,
        name="해피허브 시설 예약",
        domain=domain,
        lessons=feeds.feed_lessons(user, now),
    )
