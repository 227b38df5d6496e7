"""Check-in codes (signed tokens for QR codes), check-in, no-shows, strikes and suspensions."""

from __future__ import annotations

from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select

from core import audit
from core.errors import Conflict, Forbidden, NotFound, RuleViolation
from core.extensions import db
from core.lookup import find
from core.models import User
from facilities.models import CHECK_IN_SALT, Booking, Gate, Strike, Suspension
from facilities.services import gates, notices, user_rules


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=CHECK_IN_SALT)


def code_for(booking: Booking, secret: str) -> str | None:
    return booking.check_in_code(secret)


def booking_for_code(code: str, secret: str) -> Booking:
    try:
        data = _serializer(secret).loads(code)
    except BadSignature:
        raise RuleViolation(
            "This check-in code is not valid", code="invalid_code", errors={"code": ["Invalid."]}
        ) from None
    booking_id = data.get("b") if isinstance(data, dict) else None
    booking = find(Booking, booking_id)
    if booking is None:
        raise NotFound("No booking for this code", errors={"code": ["Unknown booking."]})
    return booking


def check_in(
    actor: User | Gate | str,
    code: str,
    now: datetime,
    secret: str,
    *,
    facility_id: int | None = None,
) -> Booking:
    """Check the code's booking in, for staff or a gate. ``facility_id`` limits it to one
    facility's bookings: a gate stands at one facility's door, and a code shown at another's
    must not pass, so a gate is limited to its own facility."""
    if isinstance(actor, Gate):
        facility_id, actor = actor.facility_id, gates.actor_label(actor)
    booking = booking_for_code(code, secret)
    if facility_id is not None and booking.facility_id != facility_id:
        raise Forbidden("This booking is for another facility", code="gate_wrong_facility")
    rules = booking.slot.facility.rules
    if booking.status == "checked_in":
        raise Conflict("Already checked in", code="already_checked_in")
    if booking.status != "confirmed":
        raise Conflict(f"This booking is {booking.status}", code="not_confirmed")
    opens = booking.starts_at - timedelta(minutes=rules.checkin_before_minutes)
    closes = booking.starts_at + timedelta(minutes=rules.checkin_after_minutes)
    if not opens <= now <= closes:
        raise RuleViolation(
            "Check-in is open from 30 minutes before the start to 15 minutes after",
            code="checkin_window",
            checkin_opens=opens.isoformat(),
            checkin_closes=closes.isoformat(),
        )
    booking.status, booking.checked_in_at = "checked_in", now
    db.session.flush()
    audit.record(
        actor, "booking.check_in", "booking", booking.id, now=now, after={"status": "checked_in"}
    )
    return booking


def strikes_in_window(user_id: int, now: datetime, days: int) -> int:
    return db.session.scalar(
        select(func.count()).where(
            Strike.user_id == user_id, Strike.at > now - timedelta(days=days)
        )
    )


def mark_no_shows(now: datetime, limit: int = 1000) -> int:
    """Confirmed bookings not checked in by the end of the check-in window become no-shows."""
    candidates = db.session.scalars(
        select(Booking)
        .where(Booking.status == "confirmed", Booking.starts_at < now)
        .order_by(Booking.starts_at)
        .limit(limit)
    ).all()
    marked = 0
    for booking in candidates:
        facility = booking.slot.facility
        rules = facility.rules
        if now <= booking.starts_at + timedelta(minutes=rules.checkin_after_minutes):
            continue
        booking.status = "no_show"
        db.session.add(Strike(user_id=booking.user_id, booking_id=booking.id, at=now))
        db.session.flush()
        marked += 1
        count = strikes_in_window(booking.user_id, now, rules.strike_window_days)
        notices.strike(booking, count, rules.strike_limit, now)
        if (
            count >= rules.strike_limit
            and user_rules.active_suspension(booking.user_id, now) is None
        ):
            suspension = Suspension(
                user_id=booking.user_id,
                starts_at=now,
                ends_at=now + timedelta(days=rules.suspension_days),
                reason=f"{count} no-shows within {rules.strike_window_days} days",
            )
            db.session.add(suspension)
            db.session.flush()
            notices.suspension(suspension, facility.timezone, now, booking.user)
    return marked


def standing(user_id: int, now: datetime, window_days: int = 90) -> dict:
    """Strikes and suspension, as the person sees them."""
    strikes = db.session.scalars(
        select(Strike)
        .where(Strike.user_id == user_id, Strike.at > now - timedelta(days=window_days))
        .order_by(Strike.at.desc())
    ).all()
    suspension = user_rules.active_suspension(user_id, now)
    return {
        "strikes": [{"booking_id": s.booking_id, "at": s.at} for s in strikes],
        "strike_count": len(strikes),
        "suspended_until": suspension.ends_at if suspension else None,
    }
