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
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from core.errors import DomainError
from core.transactions import snapshot
from library.models import Kiosk, Loan, Patron
from library.services import journal, loans, patrons, summaries
from library.settings import LibrarySettings

KINDS = ("checkout", "return")


def _pin_checked(card_number: str, pin: str, settings: LibrarySettings) -> patrons.PinCheck:
    with snapshot():
        return patrons.check_pin(card_number, pin, settings=settings)


def canonical(kind: str, data: dict) -> dict:
    """The part of a request that identifies it; the same for live and replayed sends."""
    view = {"occurred_at": data["occurred_at"].astimezone(UTC).isoformat()}
    if kind == "checkout":
        view |= {"card_number": data["card_number"].strip(), "barcode": data["barcode"].strip()}
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
    kiosk: Kiosk, data: dict, *, now: datetime, settings: LibrarySettings
) -> tuple[dict, int]:
    """Lend the copy the machine dispenses to the patron of card_number + pin (picking up a
    hold is a checkout of the held copy). ``data``: transaction_id, occurred_at, card_number,
    pin, barcode. Refusals are journaled and answered too: a retry gets the same one."""
    checked = _pin_checked(data["card_number"], data["pin"], settings)
    found = {}

    def login():
        found["patron"] = patrons.authenticate(
            data["card_number"], data["pin"], now=now, settings=settings, checked=checked
        )

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
