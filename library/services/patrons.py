"""Patrons: library cards, PINs (hashed; locked after repeated failures), borrowing standing."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from core import audit
from core.errors import Conflict, DomainError, NotFound, RuleViolation, Unauthorized
from core.extensions import db
from core.models import User
from library.models import Hold, Loan, Patron
from library.services.locks import locked
from library.services.timestamps import iso
from library.settings import LibrarySettings

PIN_RULE = "4 to 8 digits"


class Locked(DomainError):
    """The card is locked after too many wrong PINs."""

    status, code = 423, "locked"


def check_pin_format(pin: str, field: str = "pin") -> None:
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise RuleViolation("A PIN is 4 to 8 digits", errors={field: [PIN_RULE]})


def _snapshot(patron: Patron) -> dict:
    return {
        "suspended_until": iso(patron.suspended_until),
        "holds_barred_until": iso(patron.holds_barred_until),
        "pin_locked_until": iso(patron.pin_locked_until),
        "failed_pin_attempts": patron.failed_pin_attempts,
    }


def create_patron(
    actor,
    *,
    card_number: str,
    pin: str,
    name: str,
    user_id: int | None,
    loan_limit: int | None,
    now: datetime,
    settings: LibrarySettings,
) -> Patron:
    check_pin_format(pin)
    card_number = card_number.strip()
    if db.session.scalar(select(Patron).filter_by(card_number=card_number)) is not None:
        raise Conflict(
            "This card number is already issued",
            errors={"card_number": ["Already issued."]},
            code="card_taken",
        )
    if user_id is not None:
        if db.session.get(User, user_id) is None:
            raise NotFound(f"User {user_id} not found", errors={"user_id": ["No such user."]})
        if db.session.scalar(select(Patron).filter_by(user_id=user_id)) is not None:
            raise Conflict(
                "This user already has a library card",
                errors={"user_id": ["Already linked to a card."]},
                code="user_has_card",
            )
    patron = Patron(
        card_number=card_number,
        name=name.strip(),
        pin_hash=settings.passwords.hash(pin),
        user_id=user_id,
        loan_limit=loan_limit,
        created_at=now,
    )
    db.session.add(patron)
    db.session.flush()
    audit.record(
        actor,
        "library.patron.create",
        "library_patron",
        patron.id,
        now=now,
        after={"card_number": card_number, "user_id": user_id},
    )
    return patron


def patron_by_card(card_number: str) -> Patron:
    patron = db.session.scalar(select(Patron).filter_by(card_number=card_number.strip()))
    if patron is None:
        raise NotFound("No patron has this card", code="unknown_card")
    return patron


def patrons_query(*, card_number: str | None = None, name: str | None = None):
    """Patrons by card number and/or a part of the name, by id."""
    stmt = select(Patron)
    if card_number:
        stmt = stmt.where(Patron.card_number == card_number.strip())
    if name:
        stmt = stmt.where(Patron.name.contains(name.strip()))
    return stmt.order_by(Patron.id)


def linked_patron(user: User) -> Patron | None:
    """The library card linked to a resident's account, if a librarian has linked one."""
    return db.session.scalar(select(Patron).filter_by(user_id=user.id))


def patron_for_user(user: User) -> Patron:
    patron = linked_patron(user)
    if patron is None:
        raise NotFound(
            "No library card is linked to this account; ask a librarian to link one",
            code="no_library_card",
        )
    return patron


@dataclass(frozen=True)
class PinCheck:
    """A PIN checked against the stored hash before any lock is taken: Argon2 is slow on
    purpose, and must not hold the patron's row (or SQLite's write lock) while it runs.
    ``remembered``: vouched for by a ``PinMemory`` rather than hashed again."""

    card_number: str
    pin_hash: str | None
    matches: bool
    remembered: bool = False


class PinMemory:
    """The PINs verified during one patron session at a self-check machine (a SIP2 connection
    keeps one), so that a patron borrowing several books pays for Argon2 once, not at every
    message: the machine sends the same card and PIN with each item.

    A remembered verification stands only for the same card and the same PIN, and only while
    the patron's stored hash is the one it was verified against and the card has not been
    locked since: a librarian's reset changes the hash, and a lock leaves ``pin_locked_until``
    set until the PIN is verified again. Both are compared with the patron's row as read in
    the message's own transaction (``check_pin`` on its snapshot, ``authenticate`` under the
    row lock). A wrong PIN is never remembered, and makes the card's remembered PIN forgotten;
    it is counted as any wrong PIN is. The PIN itself is kept only as a keyed digest."""

    CARDS = 16  # a patron session has one patron; a machine that never ends one stays bounded

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._verified: dict[str, tuple[bytes, str]] = {}

    def _digest(self, pin: str) -> bytes:
        return hmac.new(self._key, pin.encode(), "sha256").digest()

    def vouches_for(self, card_number: str, pin: str, pin_hash: str | None) -> bool:
        entry = self._verified.get(card_number)
        return (
            entry is not None
            and pin_hash is not None
            and entry[1] == pin_hash
            and hmac.compare_digest(entry[0], self._digest(pin))
        )

    def remember(self, card_number: str, pin: str, pin_hash: str) -> None:
        self._verified.pop(card_number, None)
        self._verified[card_number] = (self._digest(pin), pin_hash)
        while len(self._verified) > self.CARDS:
            del self._verified[next(iter(self._verified))]

    def forget(self, card_number: str) -> None:
        self._verified.pop(card_number.strip(), None)


def check_pin(
    card_number: str, pin: str, *, settings: LibrarySettings, memory: PinMemory | None = None
) -> PinCheck:
    card_number = card_number.strip()
    row = db.session.execute(
        select(Patron.pin_hash, Patron.pin_locked_until).filter_by(card_number=card_number)
    ).first()
    pin_hash, locked_until = row if row is not None else (None, None)
    if (
        memory is not None
        and locked_until is None
        and memory.vouches_for(card_number, pin, pin_hash)
    ):
        return PinCheck(card_number, pin_hash, True, remembered=True)
    # Unknown cards cost the same as real ones (Passwords verifies a dummy): no card probing.
    return PinCheck(card_number, pin_hash, settings.passwords.verify(pin_hash, pin))


def authenticate(
    card_number: str,
    pin: str,
    *,
    now: datetime,
    settings: LibrarySettings,
    checked: PinCheck | None = None,
    memory: PinMemory | None = None,
) -> Patron:
    """The patron for a card and PIN, row-locked. A wrong PIN is counted and raises; the use
    case keeps the count even then (``keeping_changes()``, or by storing the refusal as its
    answer), so five in a row lock the card. ``checked`` is an earlier ``check_pin`` result,
    used if the PIN hash has not changed since (and, for a remembered one, the card has not
    been locked since). ``memory`` remembers a right PIN and forgets the card's on a wrong one
    or a lock."""
    patron = locked(select(Patron).filter_by(card_number=card_number.strip()))
    if patron is None:
        if checked is None:
            settings.passwords.verify(None, pin)
        raise Unauthorized("Card number or PIN is wrong", code="invalid_card_or_pin")
    if patron.pin_locked_until is not None and patron.pin_locked_until > now:
        if memory is not None:
            memory.forget(patron.card_number)
        raise Locked(
            "This card is locked after too many wrong PINs",
            code="card_locked",
            locked_until=iso(patron.pin_locked_until),
        )
    if (
        checked is not None
        and checked.card_number == patron.card_number
        and checked.pin_hash == patron.pin_hash
        and not (checked.remembered and patron.pin_locked_until is not None)
    ):
        matches = checked.matches
    else:
        matches = settings.passwords.verify(patron.pin_hash, pin)
    if not matches:
        if memory is not None:
            memory.forget(patron.card_number)
        patron.failed_pin_attempts += 1
        left = settings.pin_max_failures - patron.failed_pin_attempts
        if left <= 0:
            patron.failed_pin_attempts = 0
            patron.pin_locked_until = now + timedelta(minutes=settings.pin_lock_minutes)
            db.session.flush()
            raise Locked(
                "Too many wrong PINs: the card is locked",
                code="card_locked",
                locked_until=iso(patron.pin_locked_until),
            )
        db.session.flush()
        raise Unauthorized(
            "Card number or PIN is wrong", code="invalid_card_or_pin", attempts_left=left
        )
    if patron.failed_pin_attempts or patron.pin_locked_until:
        patron.failed_pin_attempts, patron.pin_locked_until = 0, None
        db.session.flush()
    if memory is not None:
        memory.remember(patron.card_number, pin, patron.pin_hash)
    return patron


def reset_pin(actor, patron: Patron, pin: str, *, now: datetime, settings: LibrarySettings):
    check_pin_format(pin)
    before = _snapshot(patron)
    patron.pin_hash = settings.passwords.hash(pin)
    patron.failed_pin_attempts, patron.pin_locked_until = 0, None
    audit.record(
        actor,
        "library.patron.reset_pin",
        "library_patron",
        patron.id,
        now=now,
        before=before,
        after=_snapshot(patron),
    )
    return patron


def lift_suspension(actor, patron: Patron, *, reason: str, now: datetime) -> Patron:
    before = _snapshot(patron)
    if not (
        (patron.suspended_until and patron.suspended_until > now)
        or (patron.holds_barred_until and patron.holds_barred_until > now)
    ):
        raise Conflict("This patron is not suspended", code="not_suspended")
    patron.suspended_until = None
    patron.holds_barred_until = None
    after = _snapshot(patron) | {"reason": reason}
    audit.record(
        actor,
        "library.patron.lift_suspension",
        "library_patron",
        patron.id,
        now=now,
        before=before,
        after=after,
    )
    return patron


def open_loans(patron_id: int) -> list[Loan]:
    return list(
        db.session.scalars(
            select(Loan).filter_by(patron_id=patron_id, returned_at=None).order_by(Loan.due_at)
        )
    )


def loan_limit(patron: Patron, settings: LibrarySettings) -> int:
    return settings.loan_limit if patron.loan_limit is None else patron.loan_limit


def is_suspended(patron: Patron, at: datetime) -> bool:
    return patron.suspended_until is not None and patron.suspended_until > at


def check_may_borrow(patron: Patron, *, at: datetime, settings: LibrarySettings) -> None:
    """Suspension, overdue loans and the loan limit, as of ``at``."""
    if is_suspended(patron, at):
        raise RuleViolation(
            "Borrowing is suspended for overdue returns",
            code="patron_suspended",
            suspended_until=iso(patron.suspended_until),
        )
    loans = open_loans(patron.id)
    overdue = [loan for loan in loans if loan.due_at < at]
    if overdue:
        raise RuleViolation(
            "Return the overdue books first",
            code="overdue_loans",
            overdue_loan_ids=[loan.id for loan in overdue],
        )
    limit = loan_limit(patron, settings)
    if len(loans) >= limit:
        raise RuleViolation(
            f"The loan limit of {limit} books is reached", code="loan_limit_reached", limit=limit
        )


def check_may_hold(patron: Patron, *, now: datetime, settings: LibrarySettings) -> None:
    if is_suspended(patron, now):
        raise RuleViolation(
            "Holds are not possible while borrowing is suspended",
            code="patron_suspended",
            suspended_until=iso(patron.suspended_until),
        )
    if patron.holds_barred_until is not None and patron.holds_barred_until > now:
        raise RuleViolation(
            "New holds are barred after repeated missed pickups",
            code="holds_barred",
            holds_barred_until=iso(patron.holds_barred_until),
        )
    count = db.session.scalar(
        select(func.count())
        .select_from(Hold)
        .where(Hold.patron_id == patron.id, Hold.status.in_(("waiting", "in_transit", "ready")))
    )
    if count >= settings.hold_limit:
        raise RuleViolation(
            f"At most {settings.hold_limit} holds at a time",
            code="hold_limit_reached",
            limit=settings.hold_limit,
        )


def apply_overdue_suspension(
    patron: Patron, overdue_days: int, returned_at: datetime, settings: LibrarySettings
) -> None:
    """대출정지: as many days as the loan was overdue, counted from the return day."""
    if overdue_days <= 0:
        return
    return_day = settings.local_date(returned_at)
    own_end = settings.day_start(return_day + timedelta(days=overdue_days))
    current = patron.suspended_until
    if settings.suspension_mode == "cumulative" and current and current > returned_at:
        until = settings.day_start(settings.local_date(current) + timedelta(days=overdue_days))
    else:
        until = max(own_end, current) if current else own_end
    cap = settings.day_start(return_day + timedelta(days=settings.suspension_cap_days))
    # The cap bounds what this return adds; it never shortens a suspension already running.
    patron.suspended_until = max(min(until, cap), current) if current else min(until, cap)
