"""The kiosk device API. Every lending transaction carries the kiosk's ``transaction_id`` and
``occurred_at`` and is journaled: a retry gets the first answer and never acts twice."""

from __future__ import annotations

from datetime import UTC

from flask import g, jsonify
from sqlalchemy import select

from core.clock import now
from core.errors import DomainError
from core.extensions import db
from core.http import Blueprint
from library import presenters
from library.context import settings
from library.kiosk_auth import kiosk_required, read_only
from library.kiosk_schemas import (
    InventoryReportSchema,
    InventoryResultSchema,
    KioskCheckoutResultSchema,
    KioskCheckoutSchema,
    KioskHeartbeatResultSchema,
    KioskHeartbeatSchema,
    KioskReplayResultSchema,
    KioskReplaySchema,
    KioskReturnResultSchema,
    KioskReturnSchema,
    KioskVerifySchema,
    PatronSummarySchema,
)
from library.models import Conflict as ConflictItem
from library.schemas import KioskDetailSchema
from library.services import inventory, journal, loans, patrons, summaries
from library.services import kiosks as kiosk_rules

blp = Blueprint(
    "library_kiosk",
    __name__,
    url_prefix="/api/kiosk",
    description="Kiosk devices: heartbeat, login, checkout, return, inventory, offline replay",
)


def _canonical(kind: str, data: dict) -> dict:
    """The part of a request that identifies it; the same for live and replayed sends."""
    view = {"occurred_at": data["occurred_at"].astimezone(UTC).isoformat()}
    if kind == "checkout":
        view |= {"card_number": data["card_number"].strip(), "barcode": data["barcode"].strip()}
    else:
        view |= {"barcode": data["barcode"].strip(), "slot": data.get("slot")}
    return view


def _json(body: dict, status: int):
    response = jsonify(body)
    response.status_code = status
    return response


def _checkout_body(loan, patron) -> dict:
    left = patrons.loan_limit(patron, settings()) - len(patrons.open_loans(patron.id))
    return {
        "loan_id": loan.id,
        "barcode": loan.copy.barcode,
        "title": loan.copy.title_ref.title,
        "out_at": loan.out_at.isoformat(),
        "due_at": loan.due_at.isoformat(),
        "hold_collected": loan.hold_id is not None,
        "loans_left": max(0, left),
    }


def _check_pin(data: dict) -> patrons.PinCheck:
    with read_only():
        return patrons.check_pin(data["card_number"], data["pin"], settings=settings())


def _run(kind: str, data: dict, action, *, before=None, replayed=False):
    """Journal one transaction: the stored answer if seen before, else act and store."""
    kiosk, moment = g.kiosk, now()
    txid, canonical = str(data["transaction_id"]), _canonical(kind, data)
    existing = journal.find(kiosk.id, txid)
    if existing is None:
        journal.check_occurred_at(data["occurred_at"], moment, settings())
        entry = journal.claim(
            kiosk, kind, txid, data["occurred_at"], canonical, now=moment, replayed=replayed
        )
        if entry is not None:
            body, status, error = journal.execute(entry, action, before=before)
            conflict = None
            if replayed and error is not None:
                conflict = journal.record_conflict(kiosk, entry, error, now=moment)
            return body, status, conflict.id if conflict else None
        existing = journal.find(kiosk.id, txid)
    body, status = journal.answer(existing, kind, canonical)
    conflict_id = db.session.scalar(
        select(ConflictItem.id).filter_by(journal_id=existing.id).limit(1)
    )
    return body, status, conflict_id


@blp.post("/heartbeat")
@kiosk_required(blp)
@blp.arguments(KioskHeartbeatSchema)
@blp.response(200, KioskHeartbeatResultSchema)
def heartbeat(data):
    """Report liveness and the faults the machine has now (each disables its functions)."""
    moment = now()
    kiosk = kiosk_rules.heartbeat(g.kiosk, data["faults"], now=moment)
    db.session.commit()
    return {
        "state": kiosk_rules.state(kiosk, moment, settings()),
        "faults": kiosk.faults,
        "functions": kiosk_rules.functions(kiosk),
        "server_time": moment,
    }


@blp.post("/patrons/verify")
@kiosk_required(blp)
@blp.arguments(KioskVerifySchema)
@blp.response(200, PatronSummarySchema)
@blp.errors(423)
def verify_patron(data):
    """Log a patron in with card and PIN: loans, loans left, suspension, holds ready here.
    Five wrong PINs in a row lock the card for 15 minutes."""
    moment = now()
    checked = _check_pin(data)
    try:
        patron = patrons.authenticate(
            data["card_number"], data["pin"], now=moment, settings=settings(), checked=checked
        )
    except DomainError:
        db.session.commit()  # the failure count must survive the refusal
        raise
    summary = summaries.kiosk_summary(patron, g.kiosk, moment, settings())
    db.session.commit()
    return summary


@blp.post("/checkouts")
@kiosk_required(blp)
@blp.arguments(KioskCheckoutSchema)
@blp.response(201, KioskCheckoutResultSchema)
@blp.errors(404, 409, 422, 423)
def checkout(data):
    """Lend the copy the machine dispenses (picking up a hold is a checkout of the held copy).
    Errors are journaled too: a retry gets the same refusal."""
    moment, found = now(), {}
    checked = _check_pin(data)

    def login():
        found["patron"] = patrons.authenticate(
            data["card_number"], data["pin"], now=moment, settings=settings(), checked=checked
        )

    def action():
        loan = loans.checkout(
            g.kiosk, found["patron"], data["barcode"], at=moment, now=moment, settings=settings()
        )
        return _checkout_body(loan, found["patron"]), 201

    body, status, _ = _run("checkout", data, action, before=login)
    db.session.commit()
    return _json(body, status)


@blp.post("/returns")
@kiosk_required(blp)
@blp.arguments(KioskReturnSchema)
@blp.response(200, KioskReturnResultSchema)
@blp.errors(404, 409, 422)
def return_copy(data):
    """Take a copy back into a free slot. A full kiosk answers 409 ``kiosk_full`` with
    ``nearby`` kiosks that have room."""
    moment = now()

    def action():
        result = loans.return_copy(
            g.kiosk, data["barcode"], data["slot"], at=moment, now=moment, settings=settings()
        )
        return result, 200

    body, status, _ = _run("return", data, action)
    db.session.commit()
    return _json(body, status)


@blp.get("/inventory")
@kiosk_required(blp)
@blp.response(200, KioskDetailSchema)
def kiosk_inventory():
    """The slots as the server records them, with this kiosk's state and functions."""
    return presenters.kiosk_view(g.kiosk, now(), settings(), detail=True)


@blp.post("/inventory-report")
@kiosk_required(blp)
@blp.arguments(InventoryReportSchema)
@blp.response(200, InventoryResultSchema)
def inventory_report(data):
    """The slots as the machine reads them; differences are queued for librarians."""
    result = inventory.report(g.kiosk, data["slots"], occurred_at=data["occurred_at"], now=now())
    db.session.commit()
    return result


@blp.post("/replay")
@kiosk_required(blp)
@blp.arguments(KioskReplaySchema)
@blp.response(200, KioskReplayResultSchema)
def replay(data):
    """Transactions queued while the kiosk was offline, in the order they happened. Each is
    applied as of its ``occurred_at``; one that cannot be applied goes to the librarians'
    conflict queue. Already-seen transaction ids answer as before."""
    moment, results = now(), []
    for item in data["transactions"]:
        kind = item["type"]
        at = item["occurred_at"]

        def action(item=item, at=at, kind=kind):
            if kind == "checkout":
                patron = patrons.patron_by_card(item["card_number"])
                loan = loans.checkout(
                    g.kiosk,
                    patron,
                    item["barcode"],
                    at=at,
                    now=moment,
                    settings=settings(),
                    replay=True,
                )
                return _checkout_body(loan, patron), 201
            result = loans.return_copy(
                g.kiosk,
                item["barcode"],
                item.get("slot"),
                at=at,
                now=moment,
                settings=settings(),
                replay=True,
            )
            return result, 200

        try:
            body, status, conflict_id = _run(kind, item, action, replayed=True)
        except DomainError as error:  # refused before acting (reused id, clock skew)
            conflict = journal.record_refusal(
                g.kiosk, kind, _canonical(kind, item), error, now=moment
            )
            body, status, conflict_id = conflict.details["error"], error.status, conflict.id
        outcome = "applied" if status < 400 else "conflict"
        results.append(
            {
                "transaction_id": str(item["transaction_id"]),
                "outcome": outcome,
                "status": status,
                "response": body,
                "conflict_id": conflict_id,
            }
        )
    db.session.commit()
    return {"results": results}
