"""Closures (ice failure, maintenance, tournaments): overlapping slots close, their bookings
are cancelled with a full refund, waitlists end, programme sessions are cancelled and refunded
pro rata (``session_refunds``), and every affected resident is told.

A closure lifted early (the ice fixed sooner) reopens its slots that have not started, unless
another closure still covers them; what was cancelled stays cancelled (refunded and told)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from core import audit
from core.errors import Conflict, RuleViolation
from core.extensions import db
from core.lookup import get
from core.models import User
from facilities.models import ACTIVE_STATUSES, Booking, Closure, Facility, Slot, WaitlistEntry
from facilities.services import capacity, notices, session_refunds
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


def _check(
    facility: Facility, starts_at: datetime, ends_at: datetime, resource_id: int | None
) -> None:
    if ends_at <= starts_at:
        raise RuleViolation("A closure ends after it starts", errors={"ends_at": ["Too early."]})
    if resource_id is not None:
        get_resource(resource_id, facility)


def _open_slot_ids(
    facility_id: int, starts_at: datetime, ends_at: datetime, resource_id: int | None
) -> list[int]:
    """The open slots a closure of [starts_at, ends_at) closes (of one resource, or all)."""
    stmt = select(Slot.id).where(
        Slot.facility_id == facility_id,
        Slot.starts_at < ends_at,
        Slot.ends_at > starts_at,
        Slot.status == "open",
    )
    if resource_id is not None:
        stmt = stmt.where(Slot.resource_id == resource_id)
    return db.session.scalars(stmt.order_by(Slot.id)).all()


def _active_bookings(slot_ids: list[int]) -> list[Booking]:
    if not slot_ids:
        return []
    return db.session.scalars(
        select(Booking)
        .where(Booking.slot_id.in_(slot_ids), Booking.status.in_(ACTIVE_STATUSES))
        .order_by(Booking.id)
    ).all()


def refund_of(booking: Booking) -> int:
    """A closure refunds what was paid: everything of a paid booking, nothing of a hold."""
    return booking.price if booking.status != "held" else 0


def _waiting(slot_ids: list[int]) -> int:
    if not slot_ids:
        return 0
    return db.session.scalar(
        select(func.count(WaitlistEntry.id)).where(
            WaitlistEntry.slot_id.in_(slot_ids), WaitlistEntry.status == "waiting"
        )
    )


def preview(
    facility: Facility,
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    resource_id: int | None,
) -> dict:
    """What creating this closure now would do, before anyone confirms it: the sessions it
    closes, the bookings it cancels and the refunds they get, the waitlist entries it ends,
    and the programme sessions (lessons) it cancels with their participants and pro-rata
    refunds. ``create`` works from the same slots, the same refunds and the same lesson plan
    (``session_refunds.lessons_cancelled``), so the numbers agree."""
    _check(facility, starts_at, ends_at, resource_id)
    slot_ids = _open_slot_ids(facility.id, starts_at, ends_at, resource_id)
    bookings = _active_bookings(slot_ids)
    lessons = session_refunds.lessons_cancelled(facility.id, starts_at, ends_at, resource_id)
    return {
        "facility": facility,
        "resource": get_resource(resource_id, facility) if resource_id is not None else None,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "reason": reason,
        "slots_closed": len(slot_ids),
        "bookings_cancelled": len(bookings),
        "people": sum(b.units for b in bookings),
        "refund_total": sum(refund_of(b) for b in bookings),
        "waitlist_ended": _waiting(slot_ids),
        **lessons,
    }


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
    _check(facility, starts_at, ends_at, resource_id)
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
    refund_total = 0
    for slot_id in _open_slot_ids(facility.id, starts_at, ends_at, resource_id):
        slot = capacity.lock_slot(slot_id)
        slot.status, slot.closure_id = "closed", closure.id
        closure.slots_closed += 1
        for booking in _active_bookings([slot.id]):
            booking.refund_amount = refund_of(booking)
            refund_total += booking.refund_amount
            booking.cancelled_by_id = actor.id
            booking.cancel_reason = cancel_reason(reason)
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
    lessons = session_refunds.cancel_sessions(closure, now)
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
            "refund_total": refund_total,
            **lessons,
        },
    )
    return closure


def cancel_reason(reason: str) -> str:
    return f"시설 운영 중단: {reason}"[:200]


def details(closure: Closure) -> dict:
    """A closure with its facility and resource, the bookings it cancelled (at its creation,
    by its creator, in its sessions) with their refunds, and the refunds' total."""
    stmt = (
        select(Booking)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(
            Booking.facility_id == closure.facility_id,
            Booking.status == "cancelled",
            Booking.cancelled_at == closure.created_at,
            Booking.cancelled_by_id == closure.created_by_id,
            Booking.cancel_reason == cancel_reason(closure.reason),
            Slot.starts_at < closure.ends_at,
            Slot.ends_at > closure.starts_at,
        )
        .order_by(Slot.starts_at, Booking.id)
    )
    if closure.resource_id is not None:
        stmt = stmt.where(Slot.resource_id == closure.resource_id)
    bookings = db.session.scalars(stmt).all()
    facility = db.session.get(Facility, closure.facility_id)
    return {
        "closure": closure,
        "facility": facility,
        "resource": get_resource(closure.resource_id, facility) if closure.resource_id else None,
        "bookings": bookings,
        "refund_total": sum(b.refund_amount or 0 for b in bookings),
    }


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
