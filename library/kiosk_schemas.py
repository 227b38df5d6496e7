"""Request and response schemas of the kiosk device API."""

import marshmallow as ma
from marshmallow import validate

from core.http import Id
from core.openapi import error_with
from library.models import FAULT_EFFECTS, KIOSK_FUNCTIONS
from library.schemas import (
    CARD,
    PIN,
    LibraryHoldSchema,
    PatronStandingSchema,
    changed_at_field,
    nearby_field,
    suspended_until_field,
)

BARCODE = dict(
    required=True, validate=validate.Length(min=1, max=40), metadata={"example": "LIB0000123"}
)


class KioskTransactionSchema(ma.Schema):
    transaction_id = ma.fields.UUID(
        required=True,
        metadata={
            "example": "0b7f8c1e-3d5a-4c52-9f1e-2a6d8e4b7c90",
            "description": "Made by the kiosk; a retry with the same id gets the first answer",
        },
    )
    occurred_at = ma.fields.AwareDateTime(
        required=True,
        metadata={"example": "2026-03-02T10:15:00+09:00", "description": "Kiosk clock"},
    )


class KioskCheckoutSchema(KioskTransactionSchema):
    card_number = ma.fields.String(**CARD)
    pin = ma.fields.String(**PIN)
    barcode = ma.fields.String(**BARCODE)


class KioskReturnSchema(KioskTransactionSchema):
    barcode = ma.fields.String(**BARCODE)
    slot = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1),
        metadata={"description": "The slot the machine put it in; omitted: the server picks"},
    )


class KioskVerifySchema(ma.Schema):
    card_number = ma.fields.String(**CARD)
    pin = ma.fields.String(**PIN)


class PatronSummarySchema(PatronStandingSchema):
    holds_ready_here = ma.fields.List(ma.fields.Nested(LibraryHoldSchema))


class KioskCheckoutResultSchema(ma.Schema):
    loan_id = Id(metadata={"example": 88})
    barcode = ma.fields.String(metadata={"example": "LIB0000123"})
    title = ma.fields.String(metadata={"example": "소년이 온다"})
    out_at = ma.fields.String(metadata={"example": "2026-03-02T01:15:00+00:00"})
    due_at = ma.fields.String(metadata={"example": "2026-03-16T14:59:59+00:00"})
    hold_collected = ma.fields.Boolean(metadata={"example": False})
    loans_left = ma.fields.Integer(metadata={"example": 3})


class KioskReturnResultSchema(ma.Schema):
    loan_id = Id(metadata={"example": 88})
    barcode = ma.fields.String(metadata={"example": "LIB0000123"})
    title = ma.fields.String()
    slot = ma.fields.Integer(metadata={"example": 17})
    returned_at = ma.fields.String()
    overdue_days = ma.fields.Integer(metadata={"example": 0})
    suspended_until = ma.fields.String(allow_none=True)
    reserved_for_hold = ma.fields.Boolean(
        metadata={"description": "The copy stays in its slot for a hold ready here"}
    )


class KioskHeartbeatSchema(ma.Schema):
    occurred_at = ma.fields.AwareDateTime(
        metadata={"example": "2026-03-02T10:15:00+09:00", "description": "Kiosk clock (not used)"}
    )
    faults = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(sorted(FAULT_EFFECTS))),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={
            "example": ["return_slot_jammed"],
            "description": "Every fault the machine has now; one not listed any more is cleared",
        },
    )


class KioskHeartbeatResultSchema(ma.Schema):
    state = ma.fields.String(metadata={"example": "fault"})
    faults = ma.fields.List(ma.fields.String())
    functions = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Boolean(),
        metadata={"example": {"checkout": True, "return": False, "pickup": True}},
    )
    server_time = ma.fields.AwareDateTime()


class KioskSlotReadingSchema(ma.Schema):
    slot = ma.fields.Integer(required=True, validate=validate.Range(min=1))
    barcode = ma.fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=40)
    )


class InventoryReportSchema(ma.Schema):
    occurred_at = ma.fields.AwareDateTime(required=True)
    slots = ma.fields.List(
        ma.fields.Nested(KioskSlotReadingSchema),
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"example": [{"slot": 1, "barcode": "LIB0000123"}, {"slot": 2, "barcode": None}]},
    )


class InventoryDiscrepancySchema(ma.Schema):
    slot = ma.fields.Integer()
    expected = ma.fields.String(allow_none=True)
    found = ma.fields.String(allow_none=True)
    problem = ma.fields.String(
        metadata={"example": "missing", "description": "missing, unexpected, wrong_copy, ..."}
    )


class InventoryResultSchema(ma.Schema):
    slots_checked = ma.fields.Integer()
    discrepancies = ma.fields.List(ma.fields.Nested(InventoryDiscrepancySchema))
    conflict_id = Id(allow_none=True)


class KioskQueuedTransactionSchema(KioskTransactionSchema):
    type = ma.fields.String(
        required=True,
        validate=validate.OneOf(("checkout", "return")),
        metadata={"example": "checkout"},
    )
    card_number = ma.fields.String(
        validate=CARD["validate"], metadata={"description": "checkout only"}
    )
    barcode = ma.fields.String(**BARCODE)
    slot = ma.fields.Integer(allow_none=True, validate=validate.Range(min=1))

    @ma.validates_schema
    def _card_for_checkout(self, data, **kwargs):
        if data.get("type") == "checkout" and not data.get("card_number"):
            raise ma.ValidationError("Required for a checkout.", "card_number")
        if data.get("type") == "checkout" and data.get("slot") is not None:
            raise ma.ValidationError("Only returns have a slot.", "slot")
        if data.get("type") == "return" and data.get("card_number"):
            raise ma.ValidationError("Returns carry no card.", "card_number")


class KioskReplaySchema(ma.Schema):
    transactions = ma.fields.List(
        ma.fields.Nested(KioskQueuedTransactionSchema),
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "In the order they happened at the kiosk"},
    )


class KioskReplayItemSchema(ma.Schema):
    transaction_id = ma.fields.String()
    outcome = ma.fields.String(
        metadata={"example": "applied", "description": "applied, or conflict (queued for staff)"}
    )
    status = ma.fields.Integer(metadata={"example": 201})
    response = ma.fields.Dict()
    conflict_id = Id(allow_none=True)


class KioskReplayResultSchema(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(KioskReplayItemSchema))


# Refusals that add fields to the error shape (``core.errors``). A kiosk's retry gets the
# journaled first answer, and a transaction replayed from the offline queue is journaled too:
# a live send of a replayed transaction_id answers with what the replay met (``changed_at``).


def _function_fields() -> dict:
    return {
        "function": ma.fields.String(
            validate=validate.OneOf(KIOSK_FUNCTIONS),
            metadata={"description": "function_unavailable: the function out of service"},
        ),
        "faults": ma.fields.List(
            ma.fields.String(),
            metadata={
                "example": ["dispenser_jammed"],
                "description": "function_unavailable: the faults the kiosk reported",
            },
        ),
    }


WrongPinErrorSchema = error_with(
    "WrongPin",
    attempts_left=ma.fields.Integer(
        validate=validate.Range(min=1),
        metadata={"description": "invalid_card_or_pin: wrong PINs left before the card locks"},
    ),
)
CardLockedErrorSchema = error_with(
    "CardLocked",
    locked_until=ma.fields.DateTime(
        metadata={"description": "card_locked: when the card takes a PIN again"}
    ),
)
BorrowingRefusedErrorSchema = error_with(
    "BorrowingRefused",
    suspended_until=suspended_until_field(),
    overdue_loan_ids=ma.fields.List(
        Id(), metadata={"description": "overdue_loans: the loans to return first"}
    ),
    limit=ma.fields.Integer(
        metadata={"description": "loan_limit_reached: the most loans the patron may have"}
    ),
)
KioskCheckoutConflictErrorSchema = error_with(
    "KioskCheckoutConflict", **_function_fields(), changed_at=changed_at_field()
)
KioskReturnConflictErrorSchema = error_with(
    "KioskReturnConflict",
    **_function_fields(),
    changed_at=changed_at_field(),
    nearby=nearby_field(),
)
