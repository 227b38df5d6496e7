"""What a kiosk does for a patron, each one call: log in with card and PIN, check out, return,
and replay what it queued while offline.

Every lending transaction carries the kiosk's ``transaction_id`` and ``occurred_at`` and is
journaled (``journal``): a retry gets the first answer, refusals included, and never acts
twice. The answers are JSON-ready dicts with the HTTP status they stand for, so every door
(the kiosk API, a SIP2 server) replays the same bytes.

Transaction shape: the PIN is checked against its hash on a read-only snapshot first, so the
deliberately slow Argon2 never runs while holding the patron's row or SQLite's write lock;
then the write transaction locks, acts and journals. Call these first in a unit of work (the
snapshot ends with a rollback, undoing nothing only because nothing was written yet).

A door that holds a patron session across messages (SIP2) passes its ``patrons.PinMemory``
as ``pin_memory``: a PIN verified earlier in the session is then not hashed again while the
patron's row shows no reset or lock since.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, select

from core.errors import Conflict, DomainError, NotFound, Unauthorized
from core.extensions import db
from core.transactions import snapshot
from library.models import OPEN_HOLD_STATUSES, Copy, Hold, Kiosk, Loan, Patron, Title
from library.services import holds, journal, kiosks, loans, patrons, summaries
from library.services.catalogue import copy_by_barcode
from library.services.timestamps import iso
from library.settings import LibrarySettings

KINDS = ("checkout", "return")


def _pin_checked(
    card_number: str,
    pin: str,
    settings: LibrarySettings,
    memory: patrons.PinMemory | None = None,
) -> patrons.PinCheck:
    with snapshot():
        return patrons.check_pin(card_number, pin, settings=settings, memory=memory)


def _patron_login(
    data: dict,
    found: dict,
    *,
    now: datetime,
    settings: LibrarySettings,
    pin_memory: patrons.PinMemory | None,
) -> Callable[[], None]:
    """A journaled transaction's login step for the patron of card_number + pin: the PIN is
    hashed now, on a snapshot and before any lock (``_pin_checked``); the step, run inside the
    transaction, authenticates with that check and puts the patron in ``found["patron"]``."""
    checked = _pin_checked(data["card_number"], data["pin"], settings, pin_memory)

    def login() -> None:
        found["patron"] = patrons.authenticate(
            data["card_number"],
            data["pin"],
            now=now,
            settings=settings,
            checked=checked,
            memory=pin_memory,
        )

    return login


def canonical(kind: str, data: dict) -> dict:
    """The part of a request that identifies it; the same for live and replayed sends."""
    view = {"occurred_at": data["occurred_at"].astimezone(UTC).isoformat()}
    if kind in ("checkout", "renew"):
        view |= {"card_number": data["card_number"].strip(), "barcode": data["barcode"].strip()}
    elif kind == "renew_all":
        view |= {"card_number": data["card_number"].strip()}
    else:
        view |= {"barcode": data["barcode"].strip(), "slot": data.get("slot")}
    return view


def checkout_answer(loan: Loan, patron: Patron, settings: LibrarySettings) -> dict:
    left = patrons.loan_limit(patron, settings) - len(patrons.open_loans(patron.id))
    return {
        "loan_id": loan.id,
        "barcode": loan.copy.barcode,
        "title": loan.copy.title_ref.title,
        "out_at": loan.out_at.isoformat(),
        "due_at": loan.due_at.isoformat(),
        "hold_collected": loan.hold_id is not None,
        "loans_left": max(0, left),
    }


def apply_queued(
    kiosk: Kiosk,
    kind: str,
    transaction: dict,
    *,
    at: datetime,
    now: datetime,
    settings: LibrarySettings,
    forced: bool = False,
) -> tuple[dict, int]:
    """A checkout or return the kiosk queued, applied as of ``at`` when it happened: replayed
    by the kiosk, or ``forced`` by a librarian vouching for the patron (see
    ``loans.checkout``). ``transaction`` holds card_number (checkouts), barcode, slot."""
    if kind == "checkout":
        patron = patrons.patron_by_card(transaction["card_number"])
        loan = loans.checkout(
            kiosk,
            patron,
            transaction["barcode"],
            at=at,
            now=now,
            settings=settings,
            replay=True,
            forced=forced,
        )
        return checkout_answer(loan, patron, settings), 201
    result = loans.return_copy(
        kiosk,
        transaction["barcode"],
        transaction.get("slot"),
        at=at,
        now=now,
        settings=settings,
        replay=True,
    )
    return result, 200


def _journaled(
    kiosk: Kiosk,
    kind: str,
    data: dict,
    action: Callable[[], tuple[dict, int]],
    *,
    now: datetime,
    settings: LibrarySettings,
    before: Callable[[], None] | None = None,
    replayed: bool = False,
) -> tuple[dict, int, int | None]:
    """The stored answer if this transaction was seen before, else act and store the answer.
    For a replayed one, also the id of the librarians' conflict it went to, if any."""
    txid, request = str(data["transaction_id"]), canonical(kind, data)
    existing = journal.find(kiosk.id, txid)
    if existing is None:
        journal.check_occurred_at(data["occurred_at"], now, settings)
        entry = journal.claim(
            kiosk, kind, txid, data["occurred_at"], request, now=now, replayed=replayed
        )
        if entry is not None:
            body, status, error = journal.execute(entry, action, before=before)
            conflict = None
            if replayed and error is not None:
                conflict = journal.record_conflict(kiosk, entry, error, now=now)
            return body, status, conflict.id if conflict else None
        existing = journal.find(kiosk.id, txid)  # a racing retry claimed it first
    body, status = journal.answer(existing, kind, request)
    return body, status, journal.conflict_id_for(existing) if replayed else None


def verify_patron(
    kiosk: Kiosk, card_number: str, pin: str, *, now: datetime, settings: LibrarySettings
) -> dict:
    """Log a patron in: loans, loans left, suspension, holds ready at this kiosk. A wrong PIN
    is counted even though it is refused; five in a row lock the card."""
    checked = _pin_checked(card_number, pin, settings)
    try:
        patron = patrons.authenticate(card_number, pin, now=now, settings=settings, checked=checked)
    except DomainError as refusal:  # the failure count must survive the refusal
        raise refusal.keeping_changes() from None
    return summaries.kiosk_summary(patron, kiosk, now, settings)


def checkout(
    kiosk: Kiosk,
    data: dict,
    *,
    now: datetime,
    settings: LibrarySettings,
    pin_memory: patrons.PinMemory | None = None,
) -> tuple[dict, int]:
    """Lend the copy the machine dispenses to the patron of card_number + pin (picking up a
    hold is a checkout of the held copy). ``data``: transaction_id, occurred_at, card_number,
    pin, barcode. Refusals are journaled and answered too: a retry gets the same one."""
    found: dict = {}
    login = _patron_login(data, found, now=now, settings=settings, pin_memory=pin_memory)

    def action():
        loan = loans.checkout(
            kiosk, found["patron"], data["barcode"], at=now, now=now, settings=settings
        )
        return checkout_answer(loan, found["patron"], settings), 201

    body, status, _ = _journaled(
        kiosk, "checkout", data, action, now=now, settings=settings, before=login
    )
    return body, status


def return_copy(
    kiosk: Kiosk, data: dict, *, now: datetime, settings: LibrarySettings
) -> tuple[dict, int]:
    """Take a copy back into a free slot. ``data``: transaction_id, occurred_at, barcode, and
    slot (None: the lowest free one). A full kiosk answers 409 ``kiosk_full`` with ``nearby``
    kiosks that have room."""

    def action():
        result = loans.return_copy(
            kiosk, data["barcode"], data["slot"], at=now, now=now, settings=settings
        )
        return result, 200

    body, status, _ = _journaled(kiosk, "return", data, action, now=now, settings=settings)
    return body, status


def replay(
    kiosk: Kiosk, transactions: list[dict], *, now: datetime, settings: LibrarySettings
) -> list[dict]:
    """Transactions queued while the kiosk was offline, in the order they happened, each
    applied as of its ``occurred_at``. One that cannot be applied goes to the librarians'
    conflict queue; an already-seen transaction_id answers as before. Each item: type
    (checkout or return), transaction_id, occurred_at, card_number or barcode and slot."""
    results = []
    for item in transactions:
        kind = item["type"]

        def action(item=item, kind=kind):
            at = item["occurred_at"]
            return apply_queued(kiosk, kind, item, at=at, now=now, settings=settings)

        try:
            body, status, conflict_id = _journaled(
                kiosk, kind, item, action, now=now, settings=settings, replayed=True
            )
        except DomainError as error:  # refused before acting (reused id, clock skew)
            conflict = journal.record_refusal(kiosk, kind, canonical(kind, item), error, now=now)
            body, status, conflict_id = conflict.details["error"], error.status, conflict.id
        results.append(
            {
                "transaction_id": str(item["transaction_id"]),
                "outcome": "applied" if status < 400 else "conflict",
                "status": status,
                "response": body,
                "conflict_id": conflict_id,
            }
        )
    return results


# --- what a self-check machine asks for over SIP2, beyond checkout and return --------------


def _patron(
    card_number: str,
    pin: str,
    *,
    now: datetime,
    settings: LibrarySettings,
    pin_memory: patrons.PinMemory | None,
) -> Patron:
    """The patron of a card and PIN (checked on a snapshot first); a refusal keeps the wrong
    PIN's count."""
    checked = _pin_checked(card_number, pin, settings, pin_memory)
    try:
        return patrons.authenticate(
            card_number, pin, now=now, settings=settings, checked=checked, memory=pin_memory
        )
    except DomainError as refusal:
        raise refusal.keeping_changes() from None


def _refusal_code(check: Callable[[], None]) -> str | None:
    try:
        check()
    except DomainError as refusal:
        return refusal.code
    return None


def patron_standing(
    kiosk: Kiosk,
    card_number: str,
    pin: str | None,
    *,
    now: datetime,
    settings: LibrarySettings,
    pin_memory: patrons.PinMemory | None = None,
) -> dict:
    """A patron as a self-check machine asks about one (SIP2 patron status and information):
    whether the card exists, whether the PIN (when given) is right, what the patron may do
    now and why not; with the right PIN also the loans and holds (``summaries``). A wrong PIN
    is counted, as at the kiosk API's login, and answered rather than refused.

    Most asks change nothing (no PIN, or the right one with no failures to clear): those are
    answered on a snapshot, without SQLite's write lock; only a PIN to count or a count to
    clear opens a write transaction. ``pin_memory``: see ``patrons.PinMemory``."""
    kiosk_id = kiosk.id
    checked = _pin_checked(card_number, pin, settings, pin_memory) if pin is not None else None
    with snapshot():
        patron = db.session.scalar(select(Patron).filter_by(card_number=card_number.strip()))
        if patron is None:
            return {
                "valid_patron": False,
                "valid_pin": None if pin is None else False,
                "pin_locked": False,
                "summary": None,
            }
        if pin is None:
            locked = patron.pin_locked_until is not None and patron.pin_locked_until > now
            return _standing(kiosk_id, patron, None, locked, now, settings)
        if (
            checked.matches
            and checked.pin_hash == patron.pin_hash
            and not patron.failed_pin_attempts
            and patron.pin_locked_until is None
        ):
            if pin_memory is not None:
                pin_memory.remember(patron.card_number, pin, patron.pin_hash)
            return _standing(kiosk_id, patron, True, False, now, settings)
    try:
        patron = patrons.authenticate(
            card_number, pin, now=now, settings=settings, checked=checked, memory=pin_memory
        )
    except patrons.Locked:
        patron, valid, locked = patrons.patron_by_card(card_number), False, True
    except Unauthorized:
        patron, valid, locked = patrons.patron_by_card(card_number), False, False
    else:
        valid, locked = True, False
    return _standing(kiosk_id, patron, valid, locked, now, settings)


def _standing(
    kiosk_id: int,
    patron: Patron,
    valid_pin: bool | None,
    pin_locked: bool,
    now: datetime,
    settings: LibrarySettings,
) -> dict:
    loans_open = patrons.open_loans(patron.id)
    limit = patrons.loan_limit(patron, settings)
    view = {
        "valid_patron": True,
        "valid_pin": valid_pin,
        "pin_locked": pin_locked,
        "name": patron.name,
        "borrow_refusal": "card_locked"
        if pin_locked
        else _refusal_code(lambda: patrons.check_may_borrow(patron, at=now, settings=settings)),
        "hold_refusal": "card_locked"
        if pin_locked
        else _refusal_code(lambda: patrons.check_may_hold(patron, now=now, settings=settings)),
        "loan_count": len(loans_open),
        "loan_limit": limit,
        "hold_limit": settings.hold_limit,
        "over_loan_limit": len(loans_open) >= limit,
        "overdue_count": sum(1 for loan in loans_open if loan.due_at < now),
        "suspended_until": iso(patron.suspended_until)
        if patrons.is_suspended(patron, now)
        else None,
        "summary": None,
    }
    if valid_pin:
        summary = summaries.resident_summary(patron, now, settings)
        summary["holds_ready_here"] = [
            h
            for h in summary["holds"]
            if h["status"] == "ready" and h["pickup_kiosk_id"] == kiosk_id
        ]
        view["summary"] = summary
    return view


def renew(
    kiosk: Kiosk,
    data: dict,
    *,
    now: datetime,
    settings: LibrarySettings,
    pin_memory: patrons.PinMemory | None = None,
) -> tuple[dict, int]:
    """Renew the open loan of a copy for the patron of card_number + pin, journaled as a
    checkout is (``data``: transaction_id, occurred_at, card_number, pin, barcode): a retry
    gets the first answer and never renews twice."""
    found: dict = {}
    login = _patron_login(data, found, now=now, settings=settings, pin_memory=pin_memory)

    def action():
        copy = copy_by_barcode(data["barcode"])
        loan = loans.open_loan_for(copy.id)
        if loan is None:
            raise Conflict(f"Copy {copy.barcode} is not on loan", code="not_on_loan")
        loan = loans.renew(found["patron"], loan, now=now, settings=settings)
        return _renewal(loan), 200

    body, status, _ = _journaled(
        kiosk, "renew", data, action, now=now, settings=settings, before=login
    )
    return body, status


def _renewal(loan: Loan) -> dict:
    return {
        "loan_id": loan.id,
        "barcode": loan.copy.barcode,
        "title": loan.copy.title_ref.title,
        "due_at": iso(loan.due_at),
        "renewals": loan.renewals,
    }


def renew_all(
    kiosk: Kiosk,
    data: dict,
    *,
    now: datetime,
    settings: LibrarySettings,
    pin_memory: patrons.PinMemory | None = None,
) -> tuple[dict, int]:
    """Renew every open loan of the patron of card_number + pin that may be renewed; the
    answer names those renewed and those not (with why). Journaled as ``renew``."""
    found: dict = {}
    login = _patron_login(data, found, now=now, settings=settings, pin_memory=pin_memory)

    def action():
        renewed, unrenewed = [], []
        for loan in patrons.open_loans(found["patron"].id):
            try:
                with db.session.begin_nested():
                    renewed.append(
                        _renewal(loans.renew(found["patron"], loan, now=now, settings=settings))
                    )
            except DomainError as refusal:
                unrenewed.append({"barcode": loan.copy.barcode, "reason": refusal.code})
        return {"renewed": renewed, "unrenewed": unrenewed}, 200

    body, status, _ = _journaled(
        kiosk, "renew_all", data, action, now=now, settings=settings, before=login
    )
    return body, status


def _title_of(barcode: str | None, isbn: str | None) -> Title:
    if barcode:
        return copy_by_barcode(barcode).title_ref
    title = db.session.scalar(select(Title).filter_by(isbn=(isbn or "").strip()))
    if title is None:
        raise NotFound("No title has this ISBN", code="unknown_isbn")
    return title


def place_hold(
    kiosk: Kiosk,
    card_number: str,
    pin: str,
    *,
    barcode: str | None,
    isbn: str | None,
    pickup_code: str | None,
    now: datetime,
    settings: LibrarySettings,
    pin_memory: patrons.PinMemory | None = None,
) -> dict:
    """A patron at a self-check machine reserves the title of a copy (or of an ISBN) for
    pickup at this kiosk or the one ``pickup_code`` names: the residents' rules apply."""
    patron = _patron(card_number, pin, now=now, settings=settings, pin_memory=pin_memory)
    title = _title_of(barcode, isbn)
    pickup = kiosk
    if pickup_code:
        pickup = kiosks.kiosk_by_code(pickup_code)
        if pickup is None:
            raise NotFound(f"No kiosk {pickup_code}", code="unknown_kiosk")
    hold = holds.place_hold(patron, title, pickup.id, now=now, settings=settings)
    return summaries.hold_view(hold) | {"pickup_kiosk_code": pickup.code}


def cancel_hold(
    kiosk: Kiosk,
    card_number: str,
    pin: str,
    *,
    barcode: str | None,
    isbn: str | None,
    now: datetime,
    settings: LibrarySettings,
    pin_memory: patrons.PinMemory | None = None,
) -> dict:
    """A patron cancels their open hold on the title of a copy (or of an ISBN)."""
    patron = _patron(card_number, pin, now=now, settings=settings, pin_memory=pin_memory)
    title = _title_of(barcode, isbn)
    hold = db.session.scalar(
        select(Hold).where(
            Hold.patron_id == patron.id,
            Hold.title_id == title.id,
            Hold.status.in_(OPEN_HOLD_STATUSES),
        )
    )
    if hold is None:
        raise NotFound("This patron holds no such title", code="no_open_hold")
    hold = holds.cancel_hold(patron, hold, now=now, settings=settings)
    return summaries.hold_view(hold) | {"pickup_kiosk_code": hold.pickup_kiosk.code}


def item_information(barcode: str, *, settings: LibrarySettings) -> dict:
    """A copy as a self-check machine asks about it: its title, status, where it is, when it
    is due, how many wait for its title, and the pickup deadline of a hold it serves."""
    copy: Copy = copy_by_barcode(barcode)
    loan = loans.open_loan_for(copy.id)
    hold = holds.open_hold_for_copy(copy.id)
    waiting = db.session.scalar(
        select(func.count())
        .select_from(Hold)
        .where(Hold.title_id == copy.title_id, Hold.status == "waiting")
    )
    return {
        "barcode": copy.barcode,
        "title": copy.title_ref.title,
        "isbn": copy.title_ref.isbn,
        "status": copy.status,
        "kiosk_code": copy.kiosk.code if copy.kiosk else None,
        "slot": copy.slot,
        "due_at": iso(loan.due_at) if loan else None,
        "holds_waiting": waiting,
        "pickup_deadline": iso(hold.pickup_deadline) if hold and hold.pickup_deadline else None,
    }
