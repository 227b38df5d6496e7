"""Closures (ice failure, maintenance, tournaments): overlapping slots close, their bookings
are cancelled with a full refund, waitlists end, and every affected resident is told."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core import audit
from core.errors import RuleViolation
from core.extensions import db
from core.models import User
from facilities import notices
from facilities.models import ACTIVE_STATUSES, Booking, Closure, Facility, Slot, WaitlistEntry
from facilities.services import capacity
from facilities.services.catalog import get_resource


def create(
    actor: User,
    facility: Facility,
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    resource_id: int | None,
    now: datetime,
) -> Closure:
    if ends_at <= starts_at:
        raise RuleViolation("A closure ends after it starts", errors={"ends_at": ["Too early."]})
    if resource_id is not None:
        get_resource(resource_id, facility)
    closure = Closure(
        facility_id=facility.id,
        resource_id=resource_id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        created_at=now,
        created_by_id=actor.id,
    )
    db.session.add(closure)
    db.session.flush()
    stmt = select(Slot.id).where(
        Slot.facility_id == facility.id,
        Slot.starts_at < ends_at,
        Slot.ends_at > starts_at,
        Slot.status == "open",
    )
    if resource_id is not None:
        stmt = stmt.where(Slot.resource_id == resource_id)
    for slot_id in db.session.scalars(stmt.order_by(Slot.id)).all():
        slot = capacity.lock_slot(slot_id)
        slot.status, slot.closure_id = "closed", closure.id
        closure.slots_closed += 1
        bookings = db.session.scalars(
            select(Booking).where(Booking.slot_id == slot.id, Booking.status.in_(ACTIVE_STATUSES))
        ).all()
        for booking in bookings:
            paid = booking.status != "held"
            booking.refund_amount = booking.price if paid else 0
            booking.cancelled_by_id = actor.id
            booking.cancel_reason = f"시설 운영 중단: {reason}"[:200]
            capacity.release(booking, slot, "cancelled", now)
            closure.bookings_cancelled += 1
            notices.closure(booking, closure, now)
        for entry in db.session.scalars(
            select(WaitlistEntry).where(
                WaitlistEntry.slot_id == slot.id, WaitlistEntry.status == "waiting"
            )
        ):
            entry.status = "cancelled"
            notices.closure_waitlist(entry, closure, now)
    db.session.flush()
    audit.record(
        actor,
        "closure.create",
        "closure",
        closure.id,
        now=now,
        after={
            "resource_id": resource_id,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "reason": reason,
            "slots_closed": closure.slots_closed,
            "bookings_cancelled": closure.bookings_cancelled,
        },
    )
    return closure
