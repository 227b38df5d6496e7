"""The payment provider's confirmation: a paid hold becomes a confirmed booking."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from core.errors import Conflict, NotFound, RuleViolation, Unauthorized
from core.extensions import db
from core.lookup import find
from core.security import signature_matches
from facilities.models import Booking
from facilities.services import booking as bookings
from facilities.services import capacity, waitlist


def handle_callback(payload: dict, now: datetime) -> Booking:
    """``{"booking_id", "payment_id", "amount", "status": "paid" | "failed"}`` (already verified).

    A replayed callback for the same payment answers with the booking again.
    """
    booking = find(Booking, payload["booking_id"])
    if booking is None:
        raise NotFound("Unknown booking", errors={"booking_id": ["Unknown."]})
    reference = payload["payment_id"]
    other = db.session.scalar(select(Booking.id).filter_by(payment_reference=reference))
    if other is not None and other != booking.id:
        raise Conflict("This payment was already used for another booking", code="payment_reused")
    if payload["status"] == "failed":
        slot = capacity.lock_slot(booking.slot_id)
        db.session.refresh(booking)
        if booking.status == "held":
            booking.refund_amount = 0
            capacity.release(booking, slot, "cancelled", now)
            booking.cancel_reason = "결제 실패"
            waitlist.offer_next(slot, now)
            db.session.flush()
        return booking
    if payload["amount"] != booking.price:
        raise RuleViolation(
            "The amount paid differs from the price",
            code="amount_mismatch",
            errors={"amount": [f"Expected {booking.price}."]},
        )
    return bookings.confirm(booking, now, actor="payments", payment_reference=reference)


def handle_signed_callback(
    raw: bytes,
    signature: str | None,
    *,
    secret: str,
    now: datetime,
    read: Callable[[bytes], dict],
) -> Booking:
    """The provider's callback as it arrives: nothing in the body is trusted until its
    signature (hex HMAC-SHA256 of the raw body under the shared secret) matches; then the
    door's ``read`` parses the body (each door answers a malformed one in its own form) and
    ``handle_callback`` acts on it. Every way a payment confirmation comes in passes here: the
    provider's request, and the local test payment page that signs the same body."""
    return handle_callback(read_signed(raw, signature, secret=secret, read=read), now)


def read_signed(
    raw: bytes, signature: str | None, *, secret: str, read: Callable[[bytes], dict]
) -> dict:
    """The body of a callback from the payment provider (a booking's or a programme place's),
    read by the door's ``read`` only once its signature, the hex HMAC-SHA256 of the raw body
    under the shared secret, matches: nothing in the body is trusted before."""
    if not signature_matches(secret, raw, signature):
        raise Unauthorized("Missing or wrong payment signature", code="bad_signature")
    return read(raw)
