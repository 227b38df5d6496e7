"""Waitlists: join a full slot, see your position, get offers one at a time as places free up.

An offer is a held booking with its own expiry. While an offer is open, or while someone who
fits in the free places is waiting, those places belong to the waitlist, not to new bookings.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, func, or_, select

from core.db import execute_plain
from core.errors import Conflict, DomainError, NotFound, RuleViolation
from core.extensions import db
from core.lookup import in_range
from core.models import User
from facilities.models import Booking, Slot, WaitlistEntry
from facilities.services import capacity, lottery_setup, notices, pricing, user_rules
from facilities.services.local_time import bookable_from

OPEN = ("waiting", "offered")


def _queue(slot_id: int):
    return select(WaitlistEntry).where(
        WaitlistEntry.slot_id == slot_id, WaitlistEntry.status == "waiting"
    )


def position(entry: WaitlistEntry) -> int | None:
    """1 for the first in line; None once the entry has left the queue."""
    if entry.status != "waiting":
        return None
    ahead = db.session.scalar(
        select(func.count()).select_from(
            _queue(entry.slot_id).where(WaitlistEntry.id < entry.id).subquery()
        )
    )
    return ahead + 1


def describe(entry: WaitlistEntry) -> dict:
    return {
        "id": entry.id,
        "slot_id": entry.slot_id,
        "user_id": entry.user_id,
        "party": entry.party,
        "status": entry.status,
        "position": position(entry),
        "booking_id": entry.booking_id,
        "created_at": entry.created_at,
        "offered_at": entry.offered_at,
    }


def my_entry(user: User, slot_id: int) -> dict:
    """The person's latest entry on this slot's waitlist, described."""
    entry = None
    if in_range(slot_id):
        entry = db.session.scalar(
            select(WaitlistEntry)
            .where(WaitlistEntry.slot_id == slot_id, WaitlistEntry.user_id == user.id)
            .order_by(WaitlistEntry.id.desc())
            .limit(1)
        )
    if entry is None:
        raise NotFound("You are not on this waitlist")
    return describe(entry)


def my_entries(user: User) -> list[dict]:
    """The waitlists the person is on (waiting or offered), described."""
    entries = db.session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.user_id == user.id, WaitlistEntry.status.in_(OPEN))
        .order_by(WaitlistEntry.id)
    )
    return [describe(entry) for entry in entries]


def slot_entries(slot: Slot) -> list[dict]:
    """Everyone on the slot's waitlist, in order, described (for staff)."""
    entries = db.session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.slot_id == slot.id).order_by(WaitlistEntry.id)
    )
    return [describe(entry) for entry in entries]


# Free places are promised to the waitlist: an offer is open, or someone waiting fits in the
# ``remaining`` places. Built once: asked on every booking that finds room.
_PROMISED = (
    select(WaitlistEntry.id)
    .where(
        WaitlistEntry.slot_id == bindparam("slot_id"),
        or_(
            WaitlistEntry.status == "offered",
            and_(WaitlistEntry.status == "waiting", WaitlistEntry.units <= bindparam("remaining")),
        ),
    )
    .limit(1)
)
# The booking path asks both questions about a locked slot in one statement: are unpaid holds
# due to expire, and are the free places promised? Under a rush that statement runs while the
# slot (on SQLite: the whole database) is locked, so one round trip instead of two matters.
_CLAIMS = select(
    capacity.DUE_HOLD_IDS.exists().label("holds_due"),
    _PROMISED.exists().label("promised"),
)


def blocks(slot: Slot) -> bool:
    """True when the slot's free places are promised to its waitlist: an offer is open, or
    someone waiting fits in them."""
    if slot.remaining <= 0:
        return False
    promised = db.session.scalar(_PROMISED, {"slot_id": slot.id, "remaining": slot.remaining})
    return promised is not None


def settle_for_booking(slot: Slot, now: datetime) -> bool:
    """Before a new booking of the locked ``slot``: expire its due holds (offering the places
    on) and tell whether its free places are promised to the waitlist."""
    claims = execute_plain(
        _CLAIMS, {"slot_id": slot.id, "now": now, "remaining": max(slot.remaining, 0)}
    ).one()
    if claims.holds_due:
        if capacity.expire_holds_in_slot(slot, now):
            offer_next(slot, now)
        db.session.flush()  # the checks that follow read past the ORM
        return blocks(slot)
    return slot.remaining > 0 and claims.promised


def claimed(slot: Slot, remaining: int, now: datetime) -> bool:
    """Whether a booking of the locked ``slot``, which had ``remaining`` free places, must
    leave them: an unpaid hold in it is due to expire (``settle_for_booking`` expires it and
    offers the places on), or they are promised to the waitlist. Reads nothing else."""
    claims = execute_plain(
        _CLAIMS, {"slot_id": slot.id, "now": now, "remaining": max(remaining, 0)}
    ).one()
    return bool(claims.holds_due or (remaining > 0 and claims.promised))


def join(user: User, slot_id: int, party: dict, now: datetime) -> WaitlistEntry:
    user_rules.check_not_suspended(user.id, now)
    slot = capacity.lock_slot(slot_id)
    facility = slot.facility
    rules = facility.rules
    pricing.validate_party(party, rules)
    units = 1 if slot.resource.exclusive else sum(party.values())
    if slot.status != "open":
        raise Conflict("This slot is closed", code="slot_closed")
    if now >= slot.starts_at:
        raise RuleViolation("This slot has started", code="booking_closed")
    opens = bookable_from(slot.local_date, rules, facility.timezone)
    if now < opens:
        raise RuleViolation(
            "Booking for this slot has not opened yet",
            code="booking_not_open",
            bookable_from=opens.isoformat(),
        )
    # A lottery's places go in its drawn order, never to a waitlist (409 slot_by_lottery).
    lottery_setup.refuse_if_drawn_by_lottery(slot.id)
    if slot.remaining >= units and not blocks(slot):
        raise Conflict("This slot still has room: book it instead", code="slot_not_full")
    existing = db.session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.slot_id == slot.id,
            WaitlistEntry.user_id == user.id,
            WaitlistEntry.status.in_(OPEN),
        )
    )
    if existing is not None:
        raise Conflict("You are already on this waitlist", code="already_waiting")
    # Waiting only makes sense for a booking the person would be allowed to make.
    user_rules.check_limits(user.id, slot, rules, now)
    entry = WaitlistEntry(
        slot_id=slot.id, user_id=user.id, party=party, units=units, created_at=now
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def leave(user: User, slot_id: int, now: datetime) -> WaitlistEntry:
    if not in_range(slot_id):
        raise NotFound("You are not waiting for this slot")
    entry = db.session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.slot_id == slot_id,
            WaitlistEntry.user_id == user.id,
            WaitlistEntry.status == "waiting",
        )
    )
    if entry is None:
        raise NotFound("You are not waiting for this slot")
    entry.status = "left"
    db.session.flush()
    return entry


def offer_next(slot: Slot, now: datetime) -> Booking | None:
    """Offer freed places to the first waiting person they fit (the slot is locked)."""
    if slot.status != "open" or now >= slot.starts_at or slot.remaining <= 0:
        return None
    open_offer = db.session.scalar(
        select(func.count()).where(
            WaitlistEntry.slot_id == slot.id, WaitlistEntry.status == "offered"
        )
    )
    if open_offer:
        return None
    facility = slot.facility
    rules = facility.rules
    candidates = db.session.scalars(
        _queue(slot.id).where(WaitlistEntry.units <= slot.remaining).order_by(WaitlistEntry.id)
    ).all()
    for entry in candidates:
        try:
            user_rules.check_not_suspended(entry.user_id, now)
            user_rules.check_limits(entry.user_id, slot, rules, now)
        except DomainError:
            entry.status = "skipped"
            continue
        price, lines = pricing.for_slot(
            slot, entry.party, verified_resident=entry.user.is_verified_resident
        )
        expires = min(now + timedelta(minutes=rules.offer_minutes), slot.starts_at)
        booking = capacity.add_booking(
            slot,
            user_id=entry.user_id,
            facility_id=slot.facility_id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            local_date=slot.local_date,
            is_exclusive=slot.resource.exclusive,
            party=entry.party,
            party_size=sum(entry.party.values()),
            units=entry.units,
            status="held",
            price=price,
            price_lines=lines,
            hold_expires_at=expires,
            is_offer=True,
            created_at=now,
        )
        entry.status, entry.offered_at, entry.booking_id = "offered", now, booking.id
        db.session.flush()
        notices.waitlist_offer(entry, booking, now)
        return booking
    return None


def sweep(now: datetime, limit: int = 500) -> int:
    """Offer places that are free while people wait (e.g. after a failed offer); how many
    offers were made."""
    slot_ids = db.session.scalars(
        select(WaitlistEntry.slot_id)
        .join(Slot, Slot.id == WaitlistEntry.slot_id)
        .where(WaitlistEntry.status == "waiting", Slot.starts_at > now, Slot.booked < Slot.capacity)
        .distinct()
        .limit(limit)
    ).all()
    offers = 0
    for slot_id in slot_ids:
        offers += offer_next(capacity.lock_slot(slot_id), now) is not None
    return offers
