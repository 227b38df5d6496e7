"""Places in a slot: row locks, taking and releasing places, expiring unpaid holds.

Every change of a slot's ``booked`` happens with the slot's row locked in the same
transaction: after ``lock_slot`` (on PostgreSQL ``SELECT ... FOR UPDATE``, so concurrent
bookings of one slot queue on the row and each sees the count the previous one committed), or
by ``take_places``, a conditional UPDATE that locks the row and takes the places only if they
fit, so no count is ever read and written apart. On SQLite every write transaction starts with
``BEGIN IMMEDIATE`` (core.db), which serializes writers the same way. The CHECK
``booked <= capacity`` stays as the last line of defence.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from core.db import execute_plain
from core.errors import NotFound
from core.extensions import db
from core.lookup import get, in_range
from core.models import User
from facilities.models import Booking, Slot, WaitlistEntry

# Statements on the booking path are built once: under a rush building them costs more than
# running them, and on SQLite that time is spent holding the single write lock.
_LOCK_SLOT = (
    select(Slot)
    .where(Slot.id == bindparam("slot_id"))
    .with_for_update(of=Slot)
    .execution_options(populate_existing=True)
)


# Unpaid holds in a slot whose time is up (parameters ``slot_id`` and ``now``): the ids, for
# statements that ask about them together with other things, and the bookings themselves.
DUE_HOLD_IDS = select(Booking.id).where(
    Booking.slot_id == bindparam("slot_id"),
    Booking.status == "held",
    Booking.hold_expires_at <= bindparam("now", type_=Booking.hold_expires_at.type),
)
_DUE_HOLDS = select(Booking).where(Booking.id.in_(DUE_HOLD_IDS))


_READ_SLOT = (
    select(Slot).where(Slot.id == bindparam("slot_id")).execution_options(populate_existing=True)
)


def read_slot(slot_id: int) -> Slot | None:
    """The slot with its resource and facility, not locked (a booking's checks before it
    takes places with ``take_places``)."""
    return db.session.scalar(_READ_SLOT, {"slot_id": slot_id}) if in_range(slot_id) else None


def lock_slot(slot_id: int) -> Slot:
    if not in_range(slot_id):
        raise NotFound(f"Slot {slot_id} not found", errors={"slot_id": ["No such slot."]})
    slot = db.session.scalar(_LOCK_SLOT, {"slot_id": slot_id})
    if slot is None:
        raise NotFound(f"Slot {slot_id} not found", errors={"slot_id": ["No such slot."]})
    return slot


def find_slot(slot_id: int) -> Slot:
    return get(Slot, slot_id)


def lock_user(user_id: int) -> None:
    """Serialize one person's bookings, so per-user limits hold across parallel requests.

    Only PostgreSQL needs it: SQLite write transactions are serialized already."""
    if db.session.get_bind().dialect.name != "sqlite":
        db.session.execute(select(User.id).where(User.id == user_id).with_for_update())


_bookings, _slots = Booking.__table__, Slot.__table__
# Two plain statements rather than a unit-of-work flush, which cost about as much as the rest of
# the booking's time under the lock together. Every column comes back, so the ORM object built
# from the row is complete and never reloads itself.
_INSERT_BOOKING = insert(_bookings).returning(*_bookings.c)
_TAKE_PLACES = (
    update(_slots)
    .where(_slots.c.id == bindparam("slot"))
    .values(booked=_slots.c.booked + bindparam("taken"))
)


# Locks the slot's row and takes the places in one statement, only if the slot is open and they
# fit (checked again on the latest row after waiting for another booking's lock); no row, and
# no lock, when they do not.
_TAKE_PLACES_IF_FREE = (
    update(_slots)
    .where(
        _slots.c.id == bindparam("slot"),
        _slots.c.status == "open",
        _slots.c.booked + bindparam("taken") <= _slots.c.capacity,
    )
    .values(booked=_slots.c.booked + bindparam("taken"))
    .returning(_slots.c.booked)
)


def take_places(slot: Slot, units: int) -> bool:
    """Take ``units`` places of the open ``slot`` if they fit, locking its row: True when taken.

    One statement instead of ``lock_slot`` and then an UPDATE. The slot's ``booked`` is then
    the count committed before plus these places."""
    row = execute_plain(_TAKE_PLACES_IF_FREE, {"slot": slot.id, "taken": units}).first()
    if row is None:
        return False
    set_committed_value(slot, "booked", row.booked)
    return True


def give_back(slot: Slot, units: int) -> None:
    """Undo ``take_places`` in the same transaction (the row stays locked)."""
    execute_plain(_TAKE_PLACES, {"slot": slot.id, "taken": -units})
    set_committed_value(slot, "booked", slot.booked - units)


def add_booking(slot: Slot, *, places_taken: bool = False, **values) -> Booking:
    """Insert a booking of the locked ``slot`` that takes its ``units`` of places
    (``places_taken``: ``take_places`` took them already)."""
    # Changes still pending (a hold just released in this slot) go first: the statements
    # below neither flush them nor may be undone by them. With none pending this costs nothing.
    db.session.flush()
    row = execute_plain(_INSERT_BOOKING, {"slot_id": slot.id, **values}).one()
    if not places_taken:
        execute_plain(_TAKE_PLACES, {"slot": slot.id, "taken": values["units"]})
        set_committed_value(slot, "booked", slot.booked + values["units"])
    booking = Booking(**row._asdict())
    make_transient_to_detached(booking)  # as if loaded: persistent once added, nothing to flush
    db.session.add(booking)
    return booking


def release(booking: Booking, slot: Slot, status: str, now: datetime) -> None:
    """End an active booking and give its places back to the (locked) slot."""
    booking.status = status
    slot.booked -= booking.units
    if status == "cancelled":
        booking.cancelled_at = now
    if booking.is_offer:
        entry = db.session.scalar(select(WaitlistEntry).filter_by(booking_id=booking.id))
        if entry is not None and entry.status == "offered":
            entry.status = "expired" if status == "expired" else "left"


def expire_holds_in_slot(slot: Slot, now: datetime) -> list[Booking]:
    """Expire the slot's unpaid holds whose time is up (the slot is locked)."""
    due = list(db.session.scalars(_DUE_HOLDS, {"slot_id": slot.id, "now": now}))
    for booking in due:
        release(booking, slot, "expired", now)
    return due
