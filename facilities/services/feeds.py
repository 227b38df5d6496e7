"""Private calendar feed URLs: a secret token per person, kept only as a hash."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from core.errors import NotFound
from core.extensions import db
from core.models import User
from core.security import new_token, token_hash
from facilities.models import (
    HOLDING_STATUSES,
    Application,
    Booking,
    CalendarFeed,
    Programme,
    ProgrammeSession,
)

FEED_PAST_DAYS = 90


def regenerate(user: User, now: datetime) -> str:
    """A new secret for the user's feed; the previous URL stops working at once."""
    raw = new_token()
    feed = db.session.scalar(select(CalendarFeed).filter_by(user_id=user.id))
    if feed is None:
        feed = CalendarFeed(user_id=user.id, token_hash=token_hash(raw), created_at=now)
        db.session.add(feed)
    else:
        feed.token_hash, feed.created_at = token_hash(raw), now
    db.session.flush()
    return raw


def revoke(user: User) -> None:
    feed = db.session.scalar(select(CalendarFeed).filter_by(user_id=user.id))
    if feed is None:
        raise NotFound("You have no calendar feed")
    db.session.delete(feed)
    db.session.flush()


def user_for_token(raw: str) -> User:
    feed = db.session.scalar(select(CalendarFeed).filter_by(token_hash=token_hash(raw)))
    if feed is None or not db.session.get(User, feed.user_id).is_active:
        raise NotFound("Unknown calendar feed")
    return db.session.get(User, feed.user_id)


def feed_bookings(user: User, now: datetime) -> list[Booking]:
    return db.session.scalars(
        select(Booking)
        .where(Booking.user_id == user.id, Booking.starts_at > now - timedelta(days=FEED_PAST_DAYS))
        .order_by(Booking.starts_at)
    ).all()


def has_feed(user: User) -> bool:
    return db.session.scalar(select(CalendarFeed.id).filter_by(user_id=user.id)) is not None


def feed_lessons(user: User, now: datetime) -> list[tuple]:
    """The sessions of the programmes the person (or their dependents) holds a place in:
    ``(session, programme, application)``, cancelled sessions included as such."""
    return db.session.execute(
        select(ProgrammeSession, Programme, Application)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .join(Application, Application.programme_id == Programme.id)
        .where(
            Application.user_id == user.id,
            Application.status.in_(HOLDING_STATUSES),
            ProgrammeSession.starts_at > now - timedelta(days=FEED_PAST_DAYS),
        )
        .order_by(ProgrammeSession.starts_at, Application.id)
    ).all()
