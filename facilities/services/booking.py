"""Booking: hold then confirm, cancellation with refunds by notice, hold expiry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError

from core import audit, lookup
from core.db import execute_plain, intent
from core.errors import Conflict, DomainError, Forbidden, NotFound, RuleViolation
from core.extensions import db
from core.idempotency import STORED_COLUMNS, answered, lookup_parameters, replay_from, run_once
from core.models import User
from facilities.models import Booking, Facility, Resource, Rules, Slot, WaitlistEntry
from facilities.services import (
    capacity,
    lottery_setup,
    notices,
    pricing,
    user_rules,
    waitlist,
)
from facilities.services.local_time import bookable_from, local_date

STAFF_ROLES = ("facility_manager",)


def is_staff(user: User) -> bool:
    return user.has_any_role(STAFF_ROLES)


def get_booking(booking_id: int, actor: User) -> Booking:
    booking = lookup.find(Booking, booking_id)
    if booking is None or (booking.user_id != actor.id and not is_staff(actor)):
        raise NotFound(f"Booking {booking_id} not found")
    return booking


BOOKING_SCOPE = "booking.create"


def book(
    user: User,
    slot_id: int,
    party: dict,
    *,
    idempotency_key: str | None,
    now: datetime,
    render: Callable[[Booking], dict],
) -> tuple[dict, int]:
    """A resident books places in a slot: the whole use case, with its transaction's shape.
    Answers ``(body, status)``: 201 and ``render(booking)``, or the first answer again for a
    retry with the same ``idempotency_key``.

    In a rush most requests lose: the retry lookup and the "visibly full" check read a
    snapshot, so on SQLite they run side by side instead of queueing for the single writer,
    and only requests that may win go on to a short write transaction, committed here with the
    retry's record (``run_once``). A retry is replayed, never refused: its first answer and the
    slot are read by one statement, so a booking counted in the slot has its answer found
    here (on PostgreSQL too, where two statements would see two snapshots). A door begins its
    request the same way (``core.db.intent(writes=False, one_snapshot=False)``), so that
    authenticating the person does not queue for the writer either, and on PostgreSQL opens
    no transaction: a refused request costs two round trips, the person's token and this.

    ``render`` turns the new booking into the answer a door sends and ``run_once`` stores for
    replays: the door keeps its own representation (the JSON door passes its schema's dump),
    and it runs inside the write transaction, on the booking just inserted, without loading
    anything again."""
    payload = {"slot_id": slot_id, "party": party}
    owner = f"user:{user.id}"
    # No common snapshot is needed beyond the one statement that reads both the first answer
    # and the slot: on PostgreSQL these reads run without a transaction (core.db.intent).
    with intent(writes=False, one_snapshot=False):
        replayed = refuse_if_visibly_full(
            user.id, slot_id, party, now, idempotency_key=idempotency_key
        )
        if replayed is not None:
            return replayed
    _end_snapshot(keep=user)
    # Retries racing each other queue on the person's lock in create_booking (SQLite queues
    # every writer anyway), so each later one finds the first one's booking, breaks a rule,
    # and is replayed by run_once.
    try:
        with intent(writes=True):
            return run_once(
                scope=BOOKING_SCOPE,
                owner=owner,
                key=idempotency_key,
                payload=payload,
                now=now,
                looked_up=True,
                action=lambda: (
                    render(create_booking(user, slot_id, party, now=now, suspension_checked=True)),
                    201,
                ),
            )
    except IntegrityError:
        # The database's capacity guards caught what the row lock should already have.
        db.session.rollback()
        raise Conflict("This slot is full", code="slot_full") from None


def _end_snapshot(keep: User) -> None:
    """End the read-only snapshot so the booking gets a fresh (write) transaction.

    A rollback expires every loaded object; ``keep`` (the person, read a moment ago) is set
    aside meanwhile, so the write transaction does not spend its lock time reloading it."""
    db.session.expunge(keep)
    db.session.rollback()
    db.session.add(keep)


def query_bookings(
    actor: User,
    now: datetime,
    *,
    user_id: int | None = None,
    status: str | None = None,
    facility_id: int | None = None,
    slot_id: int | None = None,
    upcoming: bool = False,
) -> Select:
    """The actor's bookings, newest slot first; staff see everyone's and may pick a person
    (``user_id``). ``upcoming``: only those not started yet."""
    stmt = select(Booking)
    if is_staff(actor):
        if user_id is not None:
            stmt = stmt.where(Booking.user_id == user_id)
    else:
        stmt = stmt.where(Booking.user_id == actor.id)
    for column, value in (
        (Booking.status, status),
        (Booking.facility_id, facility_id),
        (Booking.slot_id, slot_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if upcoming:
        stmt = stmt.where(Booking.starts_at > now)
    return stmt.order_by(Booking.starts_at.desc(), Booking.id.desc())


# Built once: this check runs for every request of a rush, and building a statement costs
# more than running it. One round trip answers all it needs: the slot, the person's
# suspension, whether an unpaid hold in the slot is due to expire, and the first answer to a
# retried request.
_SNAPSHOT_SLOT = (
    select(
        Slot.capacity,
        Slot.booked,
        Slot.status,
        Slot.starts_at,
        Slot.local_date,
        Resource.kind,
        Facility.rules_json.label("rules_json"),
        Facility.timezone,
        user_rules.SUSPENDED_UNTIL.label("suspended_until"),
        capacity.DUE_HOLD_IDS.exists().label("holds_due"),
        *STORED_COLUMNS,
    )
    .join(Resource, Resource.id == Slot.resource_id)
    .join(Facility, Facility.id == Slot.facility_id)
    .where(Slot.id == bindparam("slot_id"))
)


def refuse_if_visibly_full(
    user_id: int,
    slot_id: int,
    party: dict,
    now: datetime,
    *,
    idempotency_key: str | None = None,
) -> tuple[dict, int] | None:
    """Answer a retry, or a rush's losers, from a snapshot, without queueing for the slot's lock.

    Returns the first answer when this is a retry of a booking made (``idempotency_key``),
    read by the same statement as the slot. Raises the same 409 the locked path would when
    the committed state already shows too few places and no hold is due to expire. Anything
    less clear-cut (room left, a due hold, closed, not open yet, bad party) is left to
    ``create_booking``, which decides under the lock: None. A place can only come free by a
    cancellation or expiry committed later, and then the answer "full" was simply true a
    moment earlier. A suspended person gets the 403 here, so ``create_booking`` may skip that
    check in the same request (``suspension_checked``).
    """
    owner = f"user:{user_id}"
    stored = lookup_parameters(scope=BOOKING_SCOPE, owner=owner, key=idempotency_key)
    payload = {"slot_id": slot_id, "party": party}
    row = None
    if lookup.in_range(slot_id):
        row = execute_plain(
            _SNAPSHOT_SLOT, {"slot_id": slot_id, "user_id": user_id, "now": now, **stored}
        ).first()
    if row is None:  # no such slot: a replay, else the suspension still comes first
        replayed = answered(scope=BOOKING_SCOPE, owner=owner, key=idempotency_key, payload=payload)
        if replayed is None:
            user_rules.check_not_suspended(user_id, now)
        return replayed
    replayed = replay_from(row, payload)
    if replayed is not None:
        return replayed
    user_rules.refuse_if_suspended(row.suspended_until)
    if row.status != "open" or now >= row.starts_at:
        return None
    counts = list(party.values())
    if not all(isinstance(n, int) and n >= 0 for n in counts):
        return None
    units = 1 if row.kind == "sheet" else sum(counts)
    if row.capacity - row.booked >= units:
        return None
    if now < bookable_from(row.local_date, Rules.from_json(row.rules_json), row.timezone):
        return None
    if not row.holds_due:
        raise Conflict(
            "This slot is full",
            code="slot_full",
            remaining=max(row.capacity - row.booked, 0),
            errors={"slot_id": ["Not enough places left."]},
        )
    return None


def check_bookable(slot: Slot, rules: Rules, now: datetime, *, by_staff: bool = False) -> None:
    """The slot takes bookings now: open, not started, and its booking opened (staff book
    for someone before that). ``rules`` are the slot's facility's, already read."""
    if slot.status != "open":
        raise Conflict("This slot is closed", code="slot_closed")
    if now >= slot.starts_at:
        raise RuleViolation(
            "Booking stops when the slot starts",
            code="booking_closed",
            errors={"slot_id": ["The slot has started."]},
        )
    lottery_setup.refuse_if_drawn_by_lottery(slot.id)
    opens = bookable_from(slot.local_date, rules, slot.facility.timezone)
    if now < opens and not by_staff:
        raise RuleViolation(
            "Booking for this slot has not opened yet",
            code="booking_not_open",
            errors={"slot_id": [f"Bookable from {opens.isoformat()}."]},
            bookable_from=opens.isoformat(),
        )


def quote(user: User, slot_id: int, party: dict, now: datetime) -> dict:
    """What booking ``slot_id`` for ``party`` would cost the person, shown before they book:
    the party checked and priced as ``create_booking`` checks and prices it, and the slot's
    own refusals (closed, started, not open yet). Nothing is written or locked, so places may
    still run out before the booking: that is decided when booking."""
    slot = capacity.find_slot(slot_id)
    rules = slot.facility.rules
    size = pricing.validate_party(party, rules)
    check_bookable(slot, rules, now)
    price, lines = pricing.for_slot(slot, party, verified_resident=user.is_verified_resident)
    return {
        "slot": slot,
        "party": {k: v for k, v in party.items() if v},
        "party_size": size,
        "units": 1 if slot.resource.exclusive else size,
        "price": price,
        "price_lines": lines,
        "hold_minutes": rules.hold_minutes,
    }


def create_booking(
    actor: User,
    slot_id: int,
    party: dict,
    *,
    now: datetime,
    for_user: User | None = None,
    confirm: bool = False,
    suspension_checked: bool = False,
) -> Booking:
    """Book places in a slot. Staff booking for someone (``for_user``) skips the opening time
    and the per-person limits and may confirm at once (paid at the counter).

    ``suspension_checked``: the caller has just checked the person is not suspended (see
    ``refuse_if_visibly_full``), so the locked part need not ask again."""
    by_staff = for_user is not None
    user = for_user or actor
    if not by_staff and not suspension_checked:
        user_rules.check_not_suspended(user.id, now)
    capacity.lock_user(user.id)
    slot = None if by_staff else _take_places_at_once(user, slot_id, party, now)
    places_taken = slot is not None
    if slot is None:
        slot = capacity.lock_slot(slot_id)
    facility = slot.facility
    rules = facility.rules
    size = pricing.validate_party(party, rules)
    units = 1 if slot.resource.exclusive else size
    if not places_taken:
        check_bookable(slot, rules, now, by_staff=by_staff)
        promised = waitlist.settle_for_booking(slot, now)
        if slot.remaining < units or promised:
            raise Conflict(
                "This slot is full",
                code="slot_full",
                remaining=slot.remaining,
                errors={"slot_id": ["Not enough places left."]},
            )
        if not by_staff:
            user_rules.check_limits(user.id, slot, rules, now)
    price, lines = pricing.for_slot(slot, party, verified_resident=user.is_verified_resident)
    confirmed = confirm or price == 0
    booking = capacity.add_booking(
        slot,
        places_taken=places_taken,
        user_id=user.id,
        facility_id=facility.id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        local_date=slot.local_date,
        is_exclusive=slot.resource.exclusive,
        party={k: v for k, v in party.items() if v},
        party_size=size,
        units=units,
        status="confirmed" if confirmed else "held",
        price=price,
        price_lines=lines,
        hold_expires_at=None
        if confirmed
        else min(now + timedelta(minutes=rules.hold_minutes), slot.starts_at),
        created_at=now,
        created_by_id=actor.id,
        confirmed_at=now if confirmed else None,
    )
    if by_staff:
        audit.record(actor, "booking.create", "booking", booking.id, now=now, after=_state(booking))
    if confirmed:
        notices.booking_confirmed(booking, now)
    else:
        notices.booking_held(booking, now)
    return booking


def _take_places_at_once(user: User, slot_id: int, party: dict, now: datetime) -> Slot | None:
    """A resident's booking in the common case, with the slot's row locked only for its end.

    Every check that needs no lock on the slot runs first (the party, the slot's times and
    opening, the person's limits: their bookings are held still by the person's lock), on the
    slot read without a lock; then one conditional UPDATE locks the row and takes the places
    if the slot is still open and they still fit, and the waitlist's claims and due holds are
    read after it, under the lock. The slot is then locked for the booking's last few
    statements instead of all of them (on PostgreSQL the next booking of the slot waits that
    long), and the places are taken by the statement that locks them.

    Returns the slot with the places taken, or None with nothing left behind whenever the
    case is less clear-cut (a refusal, too few places, a hold due, places promised to the
    waitlist): the locked path then decides, and answers, exactly as it always has."""
    slot = capacity.read_slot(slot_id)
    if slot is None:
        return None
    rules = slot.facility.rules
    try:
        size = pricing.validate_party(party, rules)
        check_bookable(slot, rules, now)
        units = 1 if slot.resource.exclusive else size
        if slot.remaining < units:
            return None
        user_rules.check_limits(user.id, slot, rules, now)
    except DomainError:  # refused by the locked path, in its own order of checks
        return None
    if not capacity.take_places(slot, units):
        return None
    if waitlist.claimed(slot, slot.capacity - slot.booked + units, now):
        capacity.give_back(slot, units)
        return None
    return slot


def _state(booking: Booking) -> dict:
    return {
        "status": booking.status,
        "price": booking.price,
        "refund_amount": booking.refund_amount,
        "payment_reference": booking.payment_reference,
    }


def confirm(
    booking: Booking,
    now: datetime,
    *,
    actor: User | str,
    payment_reference: str | None = None,
) -> Booking:
    """Confirm a held booking (payment received, or paid at the counter). Never late."""
    capacity.lock_slot(booking.slot_id)
    db.session.refresh(booking)
    if booking.status == "confirmed" and payment_reference == booking.payment_reference:
        return booking
    if booking.status != "held":
        raise Conflict(f"This booking is {booking.status}", code="not_held")
    if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
        # The expiry job releases the places; a late payment is refunded by the provider.
        raise Conflict("The hold has expired", code="hold_expired")
    before = _state(booking)
    booking.status, booking.confirmed_at = "confirmed", now
    booking.hold_expires_at = None
    booking.payment_reference = payment_reference
    if booking.is_offer:
        entry = db.session.scalar(select(WaitlistEntry).filter_by(booking_id=booking.id))
        if entry is not None:
            entry.status = "accepted"
    db.session.flush()
    if isinstance(actor, User) and actor.id != booking.user_id:
        audit.record(
            actor,
            "booking.confirm",
            "booking",
            booking.id,
            now=now,
            before=before,
            after=_state(booking),
        )
    notices.booking_confirmed(booking, now)
    # An accepted offer closes the slot's open offer: the next person waiting may now get one.
    waitlist.offer_next(booking.slot, now)
    return booking


def confirm_free(booking: Booking, actor: User, now: datetime) -> Booking:
    """The resident accepts a free held booking (a waitlist offer of a free slot)."""
    if booking.user_id != actor.id:
        raise Forbidden("Only the booker can accept this booking")
    if booking.price > 0:
        raise RuleViolation("This booking is confirmed by payment", code="payment_required")
    return confirm(booking, now, actor=actor)


def refund_for(booking: Booking, now: datetime, *, by_staff: bool) -> int:
    if booking.status == "held":
        return 0  # nothing was paid
    if by_staff:
        return booking.price
    facility = booking.slot.facility
    days = (booking.local_date - local_date(now, facility.timezone)).days
    return booking.price * facility.rules.refund_percent(days) // 100


def _cancelling_as_staff(booking: Booking, actor: User) -> bool:
    """True when staff cancel someone else's booking (any time, refunded whole); the booker
    cancels their own; anyone else is refused."""
    by_staff = is_staff(actor) and actor.id != booking.user_id
    if booking.user_id != actor.id and not by_staff:
        raise Forbidden("You can only cancel your own bookings")
    return by_staff


def _check_cancellable(booking: Booking, now: datetime, *, by_staff: bool) -> None:
    if booking.status not in ("held", "confirmed"):
        raise Conflict(f"This booking is {booking.status}", code="not_cancellable")
    if now >= booking.starts_at and not by_staff:
        raise RuleViolation(
            "Bookings can be cancelled until the slot starts", code="cancellation_closed"
        )


def cancellation_terms(booking_id: int, actor: User, now: datetime) -> dict:
    """What cancelling the booking now would refund, shown before the person confirms: the
    same checks and refund rule as ``cancel``, nothing written or locked."""
    booking = get_booking(booking_id, actor)
    by_staff = _cancelling_as_staff(booking, actor)
    _check_cancellable(booking, now, by_staff=by_staff)
    return {
        "booking": booking,
        "paid": booking.status != "held",
        "refund": refund_for(booking, now, by_staff=by_staff),
        "refund_tiers": booking.slot.facility.rules.refund_tiers,
    }


def cancel(booking: Booking, actor: User, now: datetime, *, reason: str | None = None) -> Booking:
    by_staff = _cancelling_as_staff(booking, actor)
    slot = capacity.lock_slot(booking.slot_id)
    db.session.refresh(booking)
    _check_cancellable(booking, now, by_staff=by_staff)
    before = _state(booking)
    booking.refund_amount = refund_for(booking, now, by_staff=by_staff)
    booking.cancelled_by_id, booking.cancel_reason = actor.id, reason
    capacity.release(booking, slot, "cancelled", now)
    db.session.flush()
    if by_staff:
        audit.record(
            actor,
            "booking.cancel",
            "booking",
            booking.id,
            now=now,
            before=before,
            after=_state(booking),
        )
    notices.booking_cancelled(booking, now)
    waitlist.offer_next(slot, now)
    return booking


def expire_holds(now: datetime, limit: int = 500) -> int:
    """Expire unpaid holds whose time is up, release their places, offer them on."""
    slot_ids = db.session.scalars(
        select(Booking.slot_id)
        .where(Booking.status == "held", Booking.hold_expires_at <= now)
        .distinct()
        .limit(limit)
    ).all()
    expired = 0
    for slot_id in slot_ids:
        slot = capacity.lock_slot(slot_id)
        for booking in capacity.expire_holds_in_slot(slot, now):
            notices.booking_expired(booking, now)
            expired += 1
        waitlist.offer_next(slot, now)
    db.session.flush()
    return expired


def find(booking_id: int) -> Booking:
    return lookup.get(Booking, booking_id)
