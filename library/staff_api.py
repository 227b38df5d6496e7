"""Librarians: patrons, the kiosk fleet, restocking, the conflict queue, overdue loans."""

from __future__ import annotations

from flask import g

from core import lookup
from core.clock import now
from core.http import Blueprint, paginated
from core.settings import settings_of
from library.models import Conflict, Kiosk, Patron
from library.schemas import (
    ConflictResolveSchema,
    CopySchema,
    KioskCreateSchema,
    KioskDetailSchema,
    KioskKeySchema,
    KioskSchema,
    KioskUpdateSchema,
    LibraryConflictQuerySchema,
    LibraryConflictSchema,
    LibraryOverdueLoanSchema,
    MyLibrarySchema,
    PatronCreateSchema,
    PatronLiftSuspensionSchema,
    PatronPinResetSchema,
    PatronQuerySchema,
    PatronSchema,
    QueuedTransactionRefusedErrorSchema,
    RestockPlanSchema,
    RestockQuerySchema,
    SlotLoadSchema,
    SlotOccupiedErrorSchema,
)
from library.services import conflicts, loans, patrons, restock, summaries
from library.services import kiosks as kiosk_rules
from library.settings import LibrarySettings

blp = Blueprint(
    "library_staff",
    __name__,
    url_prefix="/api/library",
    description="Smart library for librarians: patrons, kiosks, restocking, conflicts",
)
STAFF = ("librarian",)


@blp.get("/patrons")
@blp.auth(*STAFF)
@blp.arguments(PatronQuerySchema, location="query")
@blp.response(200, PatronSchema(many=True))
@blp.paginate()
def list_patrons(query, pagination_parameters):
    """Patrons, by card number or name."""
    stmt = patrons.patrons_query(card_number=query.get("card_number"), name=query.get("name"))
    return paginated(stmt, pagination_parameters)


@blp.post("/patrons")
@blp.auth(*STAFF)
@blp.arguments(PatronCreateSchema)
@blp.response(201, PatronSchema)
@blp.errors(404, 409)
def create_patron(data):
    """Issue a library card, optionally linked to a resident account."""
    return patrons.create_patron(g.user, **data, now=now(), settings=settings_of(LibrarySettings))


@blp.get("/patrons/<int:patron_id>")
@blp.auth(*STAFF)
@blp.response(200, PatronSchema)
@blp.errors(404)
def get_patron_view(patron_id):
    """One patron."""
    return lookup.get(Patron, patron_id)


@blp.get("/patrons/<int:patron_id>/summary")
@blp.auth(*STAFF)
@blp.response(200, MyLibrarySchema)
@blp.errors(404)
def patron_summary(patron_id):
    """A patron's loans, holds, suspension and hold bar, as the patron sees them."""
    return summaries.resident_summary(
        lookup.get(Patron, patron_id), now(), settings_of(LibrarySettings)
    )


@blp.post("/patrons/<int:patron_id>/pin")
@blp.auth(*STAFF)
@blp.arguments(PatronPinResetSchema)
@blp.response(200, PatronSchema)
@blp.errors(404)
def reset_pin(data, patron_id):
    """Set a new PIN and unlock the card (audited)."""
    return patrons.reset_pin(
        g.user,
        lookup.get(Patron, patron_id),
        data["pin"],
        now=now(),
        settings=settings_of(LibrarySettings),
    )


@blp.post("/patrons/<int:patron_id>/lift-suspension")
@blp.auth(*STAFF)
@blp.arguments(PatronLiftSuspensionSchema)
@blp.response(200, PatronSchema)
@blp.errors(404, 409)
def lift_suspension(data, patron_id):
    """End a borrowing suspension and any hold bar early, with a reason (audited)."""
    return patrons.lift_suspension(
        g.user, lookup.get(Patron, patron_id), reason=data["reason"], now=now()
    )


@blp.get("/kiosks")
@blp.auth(*STAFF)
@blp.response(200, KioskSchema(many=True))
def list_kiosks():
    """The fleet: online/offline, faults, functions, fill rate."""
    return kiosk_rules.describe_fleet(now(), settings_of(LibrarySettings))


@blp.post("/kiosks")
@blp.auth(*STAFF)
@blp.arguments(KioskCreateSchema)
@blp.response(201, KioskKeySchema)
@blp.errors(409)
def create_kiosk(data):
    """Register a kiosk; the answer carries its device key, shown only this once (audited)."""
    moment = now()
    kiosk, key = kiosk_rules.create_kiosk(g.user, **data, now=moment)
    return kiosk_rules.describe(kiosk, moment, settings_of(LibrarySettings)) | {"key": key}


@blp.get("/kiosks/<int:kiosk_id>")
@blp.auth(*STAFF)
@blp.response(200, KioskDetailSchema)
@blp.errors(404)
def get_kiosk_view(kiosk_id):
    """One kiosk with its slots."""
    return kiosk_rules.describe(
        lookup.get(Kiosk, kiosk_id), now(), settings_of(LibrarySettings), detail=True
    )


@blp.patch("/kiosks/<int:kiosk_id>")
@blp.auth(*STAFF)
@blp.arguments(KioskUpdateSchema)
@blp.response(200, KioskSchema)
@blp.errors(404, 409)
def update_kiosk(data, kiosk_id):
    """Rename, move, resize, or switch functions on and off (audited)."""
    moment = now()
    kiosk = kiosk_rules.update_kiosk(g.user, lookup.get(Kiosk, kiosk_id), data, now=moment)
    return kiosk_rules.describe(kiosk, moment, settings_of(LibrarySettings))


@blp.post("/kiosks/<int:kiosk_id>/key")
@blp.auth(*STAFF)
@blp.response(201, KioskKeySchema)
@blp.errors(404)
def issue_kiosk_key(kiosk_id):
    """Issue a new device key; the old one stops working (audited)."""
    moment = now()
    kiosk = lookup.get(Kiosk, kiosk_id)
    key = kiosk_rules.issue_key(g.user, kiosk, now=moment)
    return kiosk_rules.describe(kiosk, moment, settings_of(LibrarySettings)) | {"key": key}


@blp.post("/kiosks/<int:kiosk_id>/revoke")
@blp.auth(*STAFF)
@blp.response(200, KioskSchema)
@blp.errors(404, 409)
def revoke_kiosk(kiosk_id):
    """Revoke the device key (a stolen or retired machine) (audited)."""
    moment = now()
    kiosk = kiosk_rules.revoke_key(g.user, lookup.get(Kiosk, kiosk_id), now=moment)
    return kiosk_rules.describe(kiosk, moment, settings_of(LibrarySettings))


@blp.post("/kiosks/<int:kiosk_id>/slots/<int:slot>/load")
@blp.auth(*STAFF)
@blp.arguments(SlotLoadSchema)
@blp.response(200, CopySchema)
@blp.errors(404, 409, 422, detailed={409: SlotOccupiedErrorSchema})
def load_slot(data, kiosk_id, slot):
    """Put a copy into a free slot; a copy for a hold here becomes ready (audited)."""
    return kiosk_rules.load(
        g.user,
        lookup.get(Kiosk, kiosk_id),
        slot,
        data["barcode"],
        now=now(),
        settings=settings_of(LibrarySettings),
    )


@blp.post("/kiosks/<int:kiosk_id>/slots/<int:slot>/unload")
@blp.auth(*STAFF)
@blp.response(200, CopySchema)
@blp.errors(404, 409, 422)
def unload_slot(kiosk_id, slot):
    """Take the copy out of a slot back to the library (audited)."""
    return kiosk_rules.unload(
        g.user, lookup.get(Kiosk, kiosk_id), slot, now=now(), settings=settings_of(LibrarySettings)
    )


@blp.get("/restock-plan")
@blp.auth(*STAFF)
@blp.arguments(RestockQuerySchema, location="query")
@blp.response(200, RestockPlanSchema)
@blp.errors(404)
def restock_plan(query):
    """What to bring to a kiosk: holds awaiting delivery first, then titles in demand."""
    return restock.restock_plan(lookup.get(Kiosk, query["kiosk_id"], field="kiosk_id"), now=now())


@blp.get("/conflicts")
@blp.auth(*STAFF)
@blp.arguments(LibraryConflictQuerySchema, location="query")
@blp.response(200, LibraryConflictSchema(many=True))
@blp.paginate()
def list_conflicts(query, pagination_parameters):
    """Kiosk transactions that could not be applied, and inventory discrepancies."""
    stmt = conflicts.conflicts_query(
        open_only=query["status"] == "open", kind=query.get("kind"), kiosk_id=query.get("kiosk_id")
    )
    return paginated(stmt, pagination_parameters)


@blp.post("/conflicts/<int:conflict_id>/resolve")
@blp.auth(*STAFF)
@blp.arguments(ConflictResolveSchema)
@blp.response(200, LibraryConflictSchema)
@blp.errors(404, 409, 422, detailed={409: QueuedTransactionRefusedErrorSchema})
def resolve_conflict(data, conflict_id):
    """Close a conflict with what was done about it; ``apply`` first records the queued
    checkout or return it holds, as of when it happened (audited)."""
    return conflicts.resolve_conflict(
        g.user,
        lookup.get(Conflict, conflict_id),
        data["resolution"],
        now=now(),
        settings=settings_of(LibrarySettings),
        apply=data["apply"],
    )


@blp.get("/overdue")
@blp.auth(*STAFF)
@blp.response(200, LibraryOverdueLoanSchema(many=True))
@blp.paginate()
def overdue(pagination_parameters):
    """Open loans past their due date, longest overdue first."""
    moment = now()
    page = paginated(loans.overdue_loans(moment), pagination_parameters)
    return summaries.overdue_view(page, moment, settings_of(LibrarySettings))
