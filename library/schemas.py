"""Request and response schemas for residents and librarians."""

import marshmallow as ma
from marshmallow import validate

from core.http import Id
from core.openapi import error_with
from library.models import COPY_STATUSES, SIP2_ENCODINGS

PIN = dict(
    required=True,
    load_only=True,
    validate=validate.Regexp(r"^[0-9]{4,8}$", error="4 to 8 digits."),
    metadata={"example": "4821"},
)
CARD = dict(
    required=True,
    validate=validate.Regexp(r"^[A-Za-z0-9-]{4,30}$", error="4 to 30 letters, digits or '-'."),
    metadata={"example": "HH-2026-000123"},
)


class TitleCreateSchema(ma.Schema):
    isbn = ma.fields.String(
        required=True,
        validate=validate.Length(min=10, max=17),
        metadata={"example": "978-89-364-3424-3", "description": "ISBN-13, or ISBN-10"},
    )
    title = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=300), metadata={"example": "소년이 온다"}
    )
    author = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=200), metadata={"example": "한강"}
    )
    publisher = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"example": "창비"},
    )
    year = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(1000, 2100),
        metadata={"example": 2014},
    )
    kdc = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[0-9]{3}(\.[0-9]{1,6})?$", error="A KDC class like 813.7."),
        metadata={"example": "813.7"},
    )


class TitleUpdateSchema(ma.Schema):
    isbn = ma.fields.String(validate=validate.Length(min=10, max=17))
    title = ma.fields.String(validate=validate.Length(min=1, max=300))
    author = ma.fields.String(validate=validate.Length(min=1, max=200))
    publisher = ma.fields.String(allow_none=True, validate=validate.Length(max=200))
    year = ma.fields.Integer(allow_none=True, validate=validate.Range(1000, 2100))
    kdc = ma.fields.String(allow_none=True, validate=validate.Regexp(r"^[0-9]{3}(\.[0-9]{1,6})?$"))


class KioskAvailabilitySchema(ma.Schema):
    kiosk_id = Id(metadata={"example": 1})
    code = ma.fields.String(metadata={"example": "GN-01"})
    name = ma.fields.String(metadata={"example": "강남역 스마트도서관"})
    available = ma.fields.Integer(metadata={"example": 2})


class TitleAvailabilitySchema(ma.Schema):
    kiosks = ma.fields.List(ma.fields.Nested(KioskAvailabilitySchema))
    at_library = ma.fields.Integer(metadata={"example": 1})
    total = ma.fields.Integer(metadata={"example": 4})


class TitleSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 12})
    isbn = ma.fields.String(metadata={"example": "9788936434243"})
    title = ma.fields.String(metadata={"example": "소년이 온다"})
    author = ma.fields.String(metadata={"example": "한강"})
    publisher = ma.fields.String(allow_none=True, metadata={"example": "창비"})
    year = ma.fields.Integer(allow_none=True, metadata={"example": 2014})
    kdc = ma.fields.String(allow_none=True, metadata={"example": "813.7"})
    availability = ma.fields.Nested(TitleAvailabilitySchema)


class TitleQuerySchema(ma.Schema):
    q = ma.fields.String(
        validate=validate.Length(max=100),
        metadata={"description": "Words of the title or author, or an ISBN-13", "example": "한강"},
    )


class CatalogueImportResultSchema(ma.Schema):
    titles_created = ma.fields.Integer(metadata={"example": 40})
    copies_created = ma.fields.Integer(metadata={"example": 120})


class CopyCreateSchema(ma.Schema):
    title_id = Id(required=True, metadata={"example": 12})
    barcode = ma.fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9-]{3,40}$", error="3 to 40 letters, digits or '-'."),
        metadata={"example": "LIB0000123"},
    )


class CopyUpdateSchema(ma.Schema):
    status = ma.fields.String(
        required=True,
        validate=validate.OneOf(("available", "lost", "withdrawn")),
        metadata={"example": "withdrawn"},
    )


class CopySchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 301})
    barcode = ma.fields.String(metadata={"example": "LIB0000123"})
    title_id = Id(metadata={"example": 12})
    status = ma.fields.String(metadata={"example": "in_kiosk"})
    kiosk_id = Id(allow_none=True, metadata={"example": 1})
    slot = ma.fields.Integer(allow_none=True, metadata={"example": 17})
    changed_at = ma.fields.AwareDateTime()


class CopyQuerySchema(ma.Schema):
    title_id = Id()
    kiosk_id = Id()
    status = ma.fields.String(validate=validate.OneOf(COPY_STATUSES))
    barcode = ma.fields.String(validate=validate.Length(max=40))


class PatronCreateSchema(ma.Schema):
    card_number = ma.fields.String(**CARD)
    pin = ma.fields.String(**PIN)
    name = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=100), metadata={"example": "김시민"}
    )
    user_id = Id(load_default=None, allow_none=True, metadata={"example": 7})
    loan_limit = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(0, 50),
        metadata={"description": "Overrides the configured limit for this patron"},
    )


class PatronPinResetSchema(ma.Schema):
    pin = ma.fields.String(**PIN)


class PatronLiftSuspensionSchema(ma.Schema):
    reason = ma.fields.String(
        required=True,
        validate=validate.Length(min=3, max=500),
        metadata={"example": "연체 사유 소명(입원) 확인"},
    )


class PatronSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 5})
    card_number = ma.fields.String(metadata={"example": "HH-2026-000123"})
    name = ma.fields.String(metadata={"example": "김시민"})
    user_id = Id(allow_none=True)
    loan_limit = ma.fields.Integer(allow_none=True)
    suspended_until = ma.fields.AwareDateTime(allow_none=True)
    holds_barred_until = ma.fields.AwareDateTime(allow_none=True)
    pin_locked_until = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class PatronQuerySchema(ma.Schema):
    card_number = ma.fields.String(validate=validate.Length(max=30))
    name = ma.fields.String(validate=validate.Length(max=100))


class LibraryLoanSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 88})
    barcode = ma.fields.String(metadata={"example": "LIB0000123"})
    title = ma.fields.String(metadata={"example": "소년이 온다"})
    out_at = ma.fields.AwareDateTime()
    due_at = ma.fields.AwareDateTime(metadata={"example": "2026-03-16T14:59:59+00:00"})
    renewals = ma.fields.Integer(metadata={"example": 0})
    overdue = ma.fields.Boolean()


class LibraryOverdueLoanSchema(LibraryLoanSchema):
    patron_id = Id()
    card_number = ma.fields.String()
    days_overdue = ma.fields.Integer(metadata={"example": 3})


class LibraryHoldCreateSchema(ma.Schema):
    title_id = Id(required=True, metadata={"example": 12})
    kiosk_id = Id(required=True, metadata={"example": 1, "description": "The pickup kiosk"})


class LibraryHoldSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 40})
    title_id = Id()
    title = ma.fields.String(metadata={"example": "소년이 온다"})
    status = ma.fields.String(metadata={"example": "ready"})
    pickup_kiosk_id = Id()
    pickup_kiosk = ma.fields.String(metadata={"example": "강남역 스마트도서관"})
    created_at = ma.fields.AwareDateTime()
    pickup_deadline = ma.fields.AwareDateTime(allow_none=True)
    barcode = ma.fields.String(allow_none=True)
    slot = ma.fields.Integer(allow_none=True)


class LibraryPatronRefSchema(ma.Schema):
    id = ma.fields.Integer()
    card_number = ma.fields.String(metadata={"example": "HH-2026-000123"})
    name = ma.fields.String(metadata={"example": "김시민"})


class PatronStandingSchema(ma.Schema):
    patron = ma.fields.Nested(LibraryPatronRefSchema)
    loans = ma.fields.List(ma.fields.Nested(LibraryLoanSchema))
    loan_limit = ma.fields.Integer(metadata={"example": 5})
    loans_left = ma.fields.Integer(metadata={"example": 3})
    suspended = ma.fields.Boolean()
    suspended_until = ma.fields.AwareDateTime(allow_none=True)


class MyLibrarySchema(PatronStandingSchema):
    holds = ma.fields.List(ma.fields.Nested(LibraryHoldSchema))
    holds_barred_until = ma.fields.AwareDateTime(allow_none=True)


class KioskCreateSchema(ma.Schema):
    code = ma.fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9-]{2,30}$", error="2 to 30 letters, digits or '-'."),
        metadata={"example": "GN-01"},
    )
    name = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"example": "강남역 스마트도서관"},
    )
    slot_count = ma.fields.Integer(
        required=True, validate=validate.Range(1, 2000), metadata={"example": 300}
    )
    location = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"example": "강남역 2번 출구 지하상가"},
    )
    latitude = ma.fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(-90, 90),
        metadata={"example": 37.4979},
    )
    longitude = ma.fields.Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(-180, 180),
        metadata={"example": 127.0276},
    )


class KioskFunctionsSchema(ma.Schema):
    checkout = ma.fields.Boolean(metadata={"example": True})
    pickup = ma.fields.Boolean(metadata={"example": True})
    # "return" is a Python keyword: the attribute name differs from the JSON key.
    return_ = ma.fields.Boolean(data_key="return", attribute="return", metadata={"example": False})


class KioskUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=validate.Length(min=1, max=100))
    location = ma.fields.String(allow_none=True, validate=validate.Length(max=200))
    latitude = ma.fields.Float(allow_none=True, validate=validate.Range(-90, 90))
    longitude = ma.fields.Float(allow_none=True, validate=validate.Range(-180, 180))
    slot_count = ma.fields.Integer(validate=validate.Range(1, 2000))
    functions = ma.fields.Nested(
        KioskFunctionsSchema, metadata={"description": "Switch functions on or off"}
    )
    sip2_encoding = ma.fields.String(
        validate=validate.OneOf(SIP2_ENCODINGS),
        metadata={"description": "Text encoding of its SIP2 connection", "example": "cp949"},
    )


class KioskSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 1})
    code = ma.fields.String(metadata={"example": "GN-01"})
    name = ma.fields.String(metadata={"example": "강남역 스마트도서관"})
    location = ma.fields.String(allow_none=True)
    latitude = ma.fields.Float(allow_none=True)
    longitude = ma.fields.Float(allow_none=True)
    slot_count = ma.fields.Integer(metadata={"example": 300})
    state = ma.fields.String(
        metadata={"example": "online", "description": "online, fault, offline or revoked"}
    )
    online = ma.fields.Boolean()
    last_heartbeat_at = ma.fields.AwareDateTime(allow_none=True)
    faults = ma.fields.List(ma.fields.String(), metadata={"example": ["return_slot_jammed"]})
    functions = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Boolean(),
        metadata={"example": {"checkout": True, "return": False, "pickup": True}},
    )
    enabled_functions = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Boolean())
    occupied_slots = ma.fields.Integer(metadata={"example": 240})
    fill_rate = ma.fields.Float(metadata={"example": 0.8})
    sip2_encoding = ma.fields.String(metadata={"example": "utf-8"})


class KioskKeySchema(KioskSchema):
    key = ma.fields.String(
        metadata={"description": "The device key, shown only now", "example": "k3J0...Zk"}
    )


class KioskSlotSchema(ma.Schema):
    slot = ma.fields.Integer(metadata={"example": 17})
    barcode = ma.fields.String(allow_none=True, metadata={"example": "LIB0000123"})
    copy_id = Id(allow_none=True)
    title = ma.fields.String(allow_none=True)
    status = ma.fields.String(allow_none=True, metadata={"example": "in_kiosk"})


class KioskDetailSchema(KioskSchema):
    slots = ma.fields.List(ma.fields.Nested(KioskSlotSchema))


class SlotLoadSchema(ma.Schema):
    barcode = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=40), metadata={"example": "LIB0000123"}
    )


class RestockCopySchema(ma.Schema):
    copy_id = Id()
    barcode = ma.fields.String()
    status = ma.fields.String()
    kiosk_id = Id(allow_none=True)
    slot = ma.fields.Integer(allow_none=True)


class RestockHoldSchema(ma.Schema):
    hold_id = Id()
    title_id = Id()
    title = ma.fields.String()
    status = ma.fields.String(metadata={"example": "waiting"})
    waiting_since = ma.fields.String()
    copies = ma.fields.List(ma.fields.Nested(RestockCopySchema))


class RestockTitleSchema(ma.Schema):
    title_id = Id()
    title = ma.fields.String()
    available = ma.fields.Integer(metadata={"description": "Copies on the library shelf"})
    score = ma.fields.Integer(metadata={"description": "10 per waiting hold + loans last year"})


class RestockPlanSchema(ma.Schema):
    kiosk_id = Id()
    free_slots = ma.fields.Integer(metadata={"example": 12})
    holds_awaiting_delivery = ma.fields.List(ma.fields.Nested(RestockHoldSchema))
    titles_in_demand = ma.fields.List(ma.fields.Nested(RestockTitleSchema))


class RestockQuerySchema(ma.Schema):
    kiosk_id = Id(required=True, metadata={"example": 1})


class LibraryConflictSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"example": "replay"})
    kiosk_id = Id()
    journal_id = Id(allow_none=True)
    reason = ma.fields.String(metadata={"example": "copy_on_loan"})
    message = ma.fields.String(metadata={"example": "Copy LIB0000123 is already on loan"})
    details = ma.fields.Dict()
    occurred_at = ma.fields.AwareDateTime()
    created_at = ma.fields.AwareDateTime()
    resolved_at = ma.fields.AwareDateTime(allow_none=True)
    resolved_by_id = Id(allow_none=True)
    resolution = ma.fields.String(allow_none=True)


class LibraryConflictQuerySchema(ma.Schema):
    status = ma.fields.String(
        load_default="open", validate=validate.OneOf(("open", "all")), metadata={"example": "open"}
    )
    kind = ma.fields.String(validate=validate.OneOf(("replay", "inventory")))
    kiosk_id = Id()


class ConflictResolveSchema(ma.Schema):
    resolution = ma.fields.String(
        required=True,
        validate=validate.Length(min=3, max=1000),
        metadata={"example": "책은 대출자에게 있음 확인, 수동 대출 처리"},
    )
    apply = ma.fields.Boolean(
        load_default=False,
        metadata={
            "example": True,
            "description": "Apply the queued checkout or return first (as of when it "
            "happened, without the patron's borrowing rules)",
        },
    )


IsbnTakenErrorSchema = error_with(
    "IsbnTaken", title_id=ma.fields.Integer(metadata={"description": "The title with this ISBN"})
)
SlotOccupiedErrorSchema = error_with(
    "SlotOccupied",
    barcode=ma.fields.String(metadata={"description": "The copy already in the slot"}),
)


# Refusals that add fields to the error shape (``core.errors``). Each status of an operation
# documents every field its refusals may add (all optional), so that an answer carrying them
# still matches the document; the fields shared by several operations are built here.


class NearbyKioskSchema(ma.Schema):
    id = Id(metadata={"example": 4})
    code = ma.fields.String(metadata={"example": "GN-02"})
    name = ma.fields.String()
    location = ma.fields.String(allow_none=True)
    free_slots = ma.fields.Integer(metadata={"example": 12})
    distance_km = ma.fields.Float(
        allow_none=True, metadata={"description": "null when a kiosk's position is not known"}
    )


def suspended_until_field() -> ma.fields.DateTime:
    return ma.fields.DateTime(
        metadata={"description": "patron_suspended: when the suspension for overdue books ends"}
    )


def changed_at_field() -> ma.fields.DateTime:
    return ma.fields.DateTime(
        metadata={
            "description": "copy_changed_since (a queued transaction): when the copy or its loan "
            "changed, after the transaction happened"
        }
    )


def nearby_field() -> ma.fields.List:
    return ma.fields.List(
        ma.fields.Nested(NearbyKioskSchema),
        metadata={"description": "kiosk_full: other kiosks that take returns and have room"},
    )


HoldExistsErrorSchema = error_with(
    "HoldExists",
    hold_id=Id(metadata={"description": "hold_exists: the patron's open hold of the title"}),
)
HoldRefusedErrorSchema = error_with(
    "HoldRefused",
    suspended_until=suspended_until_field(),
    holds_barred_until=ma.fields.DateTime(
        metadata={"description": "holds_barred: when new holds are possible again"}
    ),
    limit=ma.fields.Integer(
        metadata={"description": "hold_limit_reached: the most open holds a patron may have"}
    ),
)
QueuedTransactionRefusedErrorSchema = error_with(
    "QueuedTransactionRefused", changed_at=changed_at_field(), nearby=nearby_field()
)
