"""The ice a programme occupies: its sessions take places from the public sessions on the rink
at the same time, or the whole curling sheet, and two uses never share the same ice.

Occupying and releasing run under the facility's lock (``closures.lock_facility``), the lock
slot generation and closures take, so none of them misses a programme changing meanwhile;
each public slot changed is locked as a booking locks it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.errors import Conflict
from core.extensions import db
from facilities.models import Programme, ProgrammeSession, Resource, Slot
from facilities.services import capacity
from facilities.services.closures import lock_facility
from facilities.services.notices import when


def _overlapping(rows, starts: datetime, ends: datetime):
    return [r for r in rows if r.starts_at < ends and r.ends_at > starts]


def scheduled_sessions(resource_id: int, first: datetime, last: datetime, *, exclude=None):
    """Programme sessions still scheduled on a resource between two moments."""
    stmt = (
        select(ProgrammeSession)
        .join(Programme, Programme.id == ProgrammeSession.programme_id)
        .where(
            ProgrammeSession.resource_id == resource_id,
            ProgrammeSession.status == "scheduled",
            Programme.status == "open",
            ProgrammeSession.starts_at < last,
            ProgrammeSession.ends_at > first,
        )
    )
    if exclude is not None:
        stmt = stmt.where(ProgrammeSession.programme_id != exclude)
    return db.session.scalars(stmt).all()


def _slots(resource_id: int, first: datetime, last: datetime) -> list[int]:
    return db.session.scalars(
        select(Slot.id)
        .where(Slot.resource_id == resource_id, Slot.starts_at < last, Slot.ends_at > first)
        .order_by(Slot.id)
    ).all()


def _taken(session: ProgrammeSession, tz: str, why: str) -> Conflict:
    return Conflict(
        f"The ice is not free at {when(session.starts_at, tz)}: {why}",
        code="ice_taken",
        errors={"start_time": [f"{when(session.starts_at, tz)}: {why}"]},
    )


def occupy(programme: Programme, sessions: list[ProgrammeSession]) -> int:
    """Take the ice of ``sessions`` (not yet flushed) from public sessions and check no other
    programme uses it. Refuses (409 ``ice_taken``) when another programme holds the sheet, the
    rink has too few places left for both, or public bookings already hold the places. Answers
    how many public slots lost places or their sheet."""
    if not sessions:
        return 0
    lock_facility(programme.facility_id)
    resource = db.session.get(Resource, programme.resource_id)
    tz = programme.facility.timezone
    first = min(s.starts_at for s in sessions)
    last = max(s.ends_at for s in sessions)
    others = scheduled_sessions(resource.id, first, last, exclude=programme.id)
    slot_ids = _slots(resource.id, first, last)
    slots = [capacity.lock_slot(slot_id) for slot_id in slot_ids]
    changed = set()
    for session in sessions:
        clash = _overlapping(others, session.starts_at, session.ends_at)
        if resource.exclusive and clash:
            raise _taken(session, tz, "another programme uses the sheet")
        if not resource.exclusive and sum(o.places for o in clash) + session.places > (
            resource.capacity
        ):
            raise _taken(session, tz, "other programmes use the rink's places")
        for slot in _overlapping(slots, session.starts_at, session.ends_at):
            # A sheet's slot closes whole; the rink's loses the programme's places.
            left = 0 if resource.exclusive else slot.capacity - session.places
            if slot.booked > max(left, 0):
                raise _taken(session, tz, "public bookings hold the places")
            if not resource.exclusive:
                slot.capacity = max(left, 0)
            if left <= 0 and slot.status == "open":
                slot.status = "closed"
            changed.add(slot.id)
    db.session.flush()
    return len(changed)


def release(programme: Programme, sessions: list[ProgrammeSession]) -> None:
    """Give the ice of ``sessions`` back to the public sessions (a cancelled programme or
    session): the places back on the rink, the sheet's slot open again. Slots a closure
    closed stay closed."""
    if not sessions:
        return
    lock_facility(programme.facility_id)
    resource = db.session.get(Resource, programme.resource_id)
    first = min(s.starts_at for s in sessions)
    last = max(s.ends_at for s in sessions)
    slots = [capacity.lock_slot(slot_id) for slot_id in _slots(resource.id, first, last)]
    for session in sessions:
        for slot in _overlapping(slots, session.starts_at, session.ends_at):
            if not resource.exclusive:
                slot.capacity += session.places
            if slot.status == "closed" and slot.closure_id is None:
                slot.status = "open"
    db.session.flush()


def places_taken(resource: Resource, starts: datetime, ends: datetime, sessions) -> int | None:
    """For slot generation: the places a new public slot of [starts, ends) on ``resource``
    keeps once the programme ``sessions`` are served; None when nothing is left (a sheet in
    use, or the rink full of lessons)."""
    clash = _overlapping(sessions, starts, ends)
    if not clash:
        return 0
    if resource.exclusive:
        return None
    return sum(s.places for s in clash)
