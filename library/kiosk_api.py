"""The kiosk device API: each view authenticates the kiosk by its key, makes one call into
``library.services`` and answers. Lending transactions are journaled there: a retry with the
same ``transaction_id`` gets the first answer, byte for byte, and never acts twice."""

from __future__ import annotations

from flask import g, jsonify

from core.clock import now
from core.http import Blueprint
from core.settings import settings_of
from library.kiosk_schemas import (
    BorrowingRefusedErrorSchema,
    CardLockedErrorSchema,
    InventoryReportSchema,
    InventoryResultSchema,
    KioskCheckoutConflictErrorSchema,
    KioskCheckoutResultSchema,
    KioskCheckoutSchema,
    KioskHeartbeatResultSchema,
    KioskHeartbeatSchema,
    KioskReplayResultSchema,
    KioskReplaySchema,
    KioskReturnConflictErrorSchema,
    KioskReturnResultSchema,
    KioskReturnSchema,
    KioskVerifySchema,
    PatronSummarySchema,
    WrongPinErrorSchema,
)
from library.schemas import KioskDetailSchema
from library.services import inventory, kiosk_transactions, kiosks
from library.services.kiosks import KIOSK
from library.settings import LibrarySettings

blp = Blueprint(
    "library_kiosk",
    __name__,
    url_prefix="/api/kiosk",
    description="Kiosk devices: heartbeat, login, checkout, return, inventory, offline replay",
)


def _journaled(answer: tuple[dict, int]):
    """A journaled answer as stored (refusals included), not reshaped by a schema."""
    body, status = answer
    response = jsonify(body)
    response.status_code = status
    return response


@blp.post("/heartbeat")
@blp.device(KIOSK)
@blp.arguments(KioskHeartbeatSchema)
@blp.response(200, KioskHeartbeatResultSchema)
def heartbeat(data):
    """Report liveness and the faults the machine has now (each disables its functions)."""
    return kiosks.heartbeat(
        g.device, data["faults"], now=now(), settings=settings_of(LibrarySettings)
    )


@blp.post("/patrons/verify")
@blp.device(KIOSK)
@blp.arguments(KioskVerifySchema)
@blp.response(200, PatronSummarySchema)
@blp.errors(401, 423, detailed={401: WrongPinErrorSchema, 423: CardLockedErrorSchema})
def verify_patron(data):
    """Log a patron in with card and PIN: loans, loans left, suspension, holds ready here.
    Five wrong PINs in a row lock the card for 15 minutes."""
    return kiosk_transactions.verify_patron(
        g.device,
        data["card_number"],
        data["pin"],
        now=now(),
        settings=settings_of(LibrarySettings),
    )


@blp.post("/checkouts")
@blp.device(KIOSK)
@blp.arguments(KioskCheckoutSchema)
@blp.response(201, KioskCheckoutResultSchema)
@blp.errors(
    401,
    404,
    409,
    422,
    423,
    detailed={
        401: WrongPinErrorSchema,
        409: KioskCheckoutConflictErrorSchema,
        422: BorrowingRefusedErrorSchema,
        423: CardLockedErrorSchema,
    },
)
def checkout(data):
    """Lend the copy the machine dispenses (picking up a hold is a checkout of the held copy).
    Errors are journaled too: a retry gets the same refusal."""
    return _journaled(
        kiosk_transactions.checkout(
            g.device, data, now=now(), settings=settings_of(LibrarySettings)
        )
    )


@blp.post("/returns")
@blp.device(KIOSK)
@blp.arguments(KioskReturnSchema)
@blp.response(200, KioskReturnResultSchema)
@blp.errors(404, 409, 422, detailed={409: KioskReturnConflictErrorSchema})
def return_copy(data):
    """Take a copy back into a free slot. A full kiosk answers 409 ``kiosk_full`` with
    ``nearby`` kiosks that have room."""
    return _journaled(
        kiosk_transactions.return_copy(
            g.device, data, now=now(), settings=settings_of(LibrarySettings)
        )
    )


@blp.get("/inventory")
@blp.device(KIOSK)
@blp.response(200, KioskDetailSchema)
def kiosk_inventory():
    """The slots as the server records them, with this kiosk's state and functions."""
    return kiosks.describe(g.device, now(), settings_of(LibrarySettings), detail=True)


@blp.post("/inventory-report")
@blp.device(KIOSK)
@blp.arguments(InventoryReportSchema)
@blp.response(200, InventoryResultSchema)
def inventory_report(data):
    """The slots as the machine reads them; differences are queued for librarians."""
    return inventory.report(g.device, data["slots"], occurred_at=data["occurred_at"], now=now())


@blp.post("/replay")
@blp.device(KIOSK)
@blp.arguments(KioskReplaySchema)
@blp.response(200, KioskReplayResultSchema)
def replay(data):
    """Transactions queued while the kiosk was offline, in the order they happened. Each is
    applied as of its ``occurred_at``; one that cannot be applied goes to the librarians'
    conflict queue. Already-seen transaction ids answer as before."""
    results = kiosk_transactions.replay(
        g.device, data["transactions"], now=now(), settings=settings_of(LibrarySettings)
    )
    return {"results": results}
