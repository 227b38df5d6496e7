"""The payment provider's confirmation: a paid hold becomes a confirmed booking."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.errors import Conflict, NotFound, RuleViolation
from core.extensions import db
from core.lookup import find
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
