"""Closures (ice failure, maintenance, tournaments): overlapping slots close, their bookings
are cancelled with a full refund, waitlists end, and every affected resident is told.

A closure lifted early (the ice fixed sooner) reopens its slots that have not started, unless
another closure still covers them; what was cancelled stays cancelled (refunded and told)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core import audit
from core.errors import Conflict, RuleViolation
from core.extensions import db
from core.lookup import get
from core.models import User
from facilities.models import ACTIVE_STATUSES, Booking, Closure, Facility, Slot, WaitlistEntry
from facilities.services import capacity, notices
from facilities.services.catalog import get_resource


def active_overlapping(facility_id: int, starts: datetime, ends: datetime) -> list[Closure]:
    """The facility's closures not lifted that overlap [starts, ends)."""
    return db.session.scalars(
        select(Closure)
        .where(
            Closure.facility_id == facility_id,
            Closure.lifted_at.is_(None),
            Closure.starts_at < ends,
            Closure.ends_at > starts,
        )
        .order_by(Closure.id)
    ).all()


def covering(closures: list[Closure], resource_id: int, starts, ends) -> Closure | None:
    """The first of ``closures`` that closes this resource at some time in [starts, ends)."""
    for closure in closures:
        if closure.resource_id not in (None, resource_id):
            continue
        if closure.starts_at < ends and closure.ends_at > starts:
            return closure
    return None


def lock_facility(facility_id: int) -> None:
    """Serialize closing, lifting and slot generation per facility, so none of them misses a
    closure changing at the same moment (PostgreSQL row lock; SQLite write transactions are
    serialized already)."""
    db.session.execute(select(Facility.id).where(Facility.id == facility_id).with_for_update())


def get_closure(closure_id: int) -> Closure:
    return get(Closure, closure_id)


def list_closures(facility: Facility) -> list[Closure]:
    """The facility's closures, newest first."""
    return db.session.scalars(
        select(Closure).filter_by(facility_id=facility.id).order_by(Closure.id.desc())
    ).all()


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
    lock_facility(facility.id)
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


def lift(actor: User, closure: Closure, now: datetime) -> Closure:
    """Lift a closure early: its slots that have not started reopen, or move to another active
    closure of the facility that covers them too. Slots already started stay as they are."""
    lock_facility(closure.facility_id)
    db.session.refresh(closure)  # a lift committed while we waited for the lock shows now
    if not closure.is_active:
        raise Conflict("This closure was already lifted", code="closure_lifted")
    closure.lifted_at, closure.lifted_by_id = now, actor.id
    db.session.flush()  # from here on it is not among the active closures
    closed = db.session.execute(
        select(Slot.id, Slot.starts_at, Slot.ends_at)
        .where(Slot.closure_id == closure.id, Slot.starts_at > now)
        .order_by(Slot.id)
    ).all()
    others = []
    if closed:
        first, last = min(r.starts_at for r in closed), max(r.ends_at for r in closed)
        others = active_overlapping(closure.facility_id, first, last)
    reopened = 0
    for slot_id, _, _ in closed:
        slot = capacity.lock_slot(slot_id)
        still = covering(others, slot.resource_id, slot.starts_at, slot.ends_at)
        if still is not None:
            slot.closure_id = still.id
        else:
            slot.status, slot.closure_id = "open", None
            reopened += 1
    closure.slots_reopened = reopened
    db.session.flush()
    audit.record(
        actor,
        "closure.lift",
        "closure",
        closure.id,
        now=now,
        before={"lifted_at": None},
        after={"lifted_at": now.isoformat(), "slots_reopened": reopened},
    )
    return closure
