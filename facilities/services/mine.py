"""A resident's own at a glance: bookings ahead and behind, waitlist places, programmes,
calendar feed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from core.extensions import db
from core.models import User
from facilities.models import ACTIVE_STATUSES, Application, Booking, Programme, WaitlistEntry
from facilities.services import feeds, waitlist
from facilities.services.enrolments import LIVE

# The past is kept forever; a page shows the latest few.
PAST_SHOWN = 20


def my_bookings(user: User, now: datetime, *, past_limit: int = PAST_SHOWN) -> dict:
    """``upcoming``: active bookings not started yet, soonest first (held ones, waitlist offers
    among them, wait for payment or acceptance); ``past``: the rest, latest first, at most
    ``past_limit``; ``waiting``: the waitlists the person is on, with their positions;
    ``has_feed``: whether their private calendar feed is on."""
    upcoming = db.session.scalars(
        select(Booking)
        .where(
            Booking.user_id == user.id,
            Booking.starts_at > now,
            Booking.status.in_(ACTIVE_STATUSES),
        )
        .order_by(Booking.starts_at, Booking.id)
    ).all()
    past = db.session.scalars(
        select(Booking)
        .where(
            Booking.user_id == user.id,
            or_(Booking.starts_at <= now, Booking.status.not_in(ACTIVE_STATUSES)),
        )
        .order_by(Booking.starts_at.desc(), Booking.id.desc())
        .limit(past_limit)
    ).all()
    entries = db.session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.user_id == user.id, WaitlistEntry.status == "waiting")
        .order_by(WaitlistEntry.id)
    ).all()
    return {
        "upcoming": upcoming,
        "past": past,
        "waiting": [
            {"entry": entry, "slot": entry.slot, "position": waitlist.position(entry)}
            for entry in entries
        ],
        "has_feed": feeds.has_feed(user),
        "programmes": my_programmes(user),
    }


def my_programmes(user: User) -> list[dict]:
    """The person's programme applications still in the running (their dependents' too),
    with each programme: applied for a draw, held for payment, enrolled, or waiting."""
    rows = db.session.execute(
        select(Application, Programme)
        .join(Programme, Programme.id == Application.programme_id)
        .where(Application.user_id == user.id, Application.status.in_(LIVE))
        .order_by(Programme.term_start, Application.id)
    ).all()
    return [{"application": application, "programme": programme} for application, programme in rows]
