"""Request and response schemas for facilities, slots, bookings, waitlists and reports.

They never query: what an answer shows beyond an object's own columns (a facility's prices, a
waitlist position) is worked out by the services and handed over in the object or dict."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import marshmallow as ma
from marshmallow import validate

from core.http import ID_RANGE as ID
from core.openapi import error_with
from core.settings import settings_of
from facilities.models import (
    ALLOCATIONS,
    BOOKING_STATUSES,
    CATEGORIES,
    FACILITY_KINDS,
    HOLIDAY_RULES,
    RESOURCE_KINDS,
)
from facilities.settings import FacilitySettings

# Every facility's time zone (FacilityCreateSchema offers no other).
CITY_TIME = ZoneInfo("Asia/Seoul")
HHMM = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="Use HH:MM (24-hour).")
PARTY_EXAMPLE = {"adult": 2, "child": 1}


# People of one price category in one booking.
MAX_PER_CATEGORY = 50


class PartyField(ma.fields.Dict):
    """People per price category: known categories, counts 0-50."""

    def __init__(self, **kwargs):
        super().__init__(
            keys=ma.fields.String(validate=validate.OneOf(CATEGORIES)),
            values=ma.fields.Integer(
                strict=True, validate=validate.Range(min=0, max=MAX_PER_CATEGORY)
            ),
            metadata={"example": PARTY_EXAMPLE},
            **kwargs,
        )


class RulesSchema(ma.Schema):
    opens_days_before = ma.fields.Integer(validate=validate.Range(0, 365))
    opens_at = ma.fields.String(validate=HHMM, metadata={"example": "10:00"})
    hold_minutes = ma.fields.Integer(validate=validate.Range(1, 24 * 60))
    offer_minutes = ma.fields.Integer(validate=validate.Range(1, 24 * 60))
    max_active_bookings = ma.fields.Integer(validate=validate.Range(1, 100))
    max_bookings_per_day = ma.fields.Integer(validate=validate.Range(1, 20))
    min_party = ma.fields.Integer(validate=validate.Range(1, 50))
    max_party = ma.fields.Integer(validate=validate.Range(1, 50))
    holiday_rule = ma.fields.String(validate=validate.OneOf(HOLIDAY_RULES))
    checkin_before_minutes = ma.fields.Integer(validate=validate.Range(0, 24 * 60))
    checkin_after_minutes = ma.fields.Integer(validate=validate.Range(0, 24 * 60))
    strike_limit = ma.fields.Integer(validate=validate.Range(1, 100))
    strike_window_days = ma.fields.Integer(validate=validate.Range(1, 3650))
    suspension_days = ma.fields.Integer(validate=validate.Range(1, 3650))
    resident_discount = ma.fields.Integer(validate=validate.Range(0, 100))
    category_discounts = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.OneOf(CATEGORIES)),
        values=ma.fields.Integer(validate=validate.Range(0, 100)),
        metadata={"example": {"adult": 0, "youth": 20, "child": 50, "senior": 50}},
    )
    refund_tiers = ma.fields.List(
        ma.fields.List(
            ma.fields.Integer(validate=validate.Range(0, 365)), validate=validate.Length(equal=2)
        ),
        metadata={"example": [[7, 100], [2, 80], [1, 50], [0, 0]]},
    )

    @ma.validates_schema
    def _party_bounds(self, data, **_kwargs):
        if data.get("min_party", 1) > data.get("max_party", 50):
            raise ma.ValidationError("min_party exceeds max_party", field_name="min_party")


class ResourceSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 3})
    name = ma.fields.String(metadata={"example": "A시트"})
    kind = ma.fields.String(metadata={"example": "sheet"})
    capacity = ma.fields.Integer(metadata={"example": 1})
    active = ma.fields.Boolean()


class ResourceCreateSchema(ma.Schema):
    name = ma.fields.String(
        required=True, validate=validate.Length(1, 50), metadata={"example": "메인 링크"}
    )
    kind = ma.fields.String(validate=validate.OneOf(RESOURCE_KINDS), metadata={"example": "rink"})
    capacity = ma.fields.Integer(validate=validate.Range(1, 5000), metadata={"example": 150})
    position = ma.fields.Integer(validate=validate.Range(0, 100))


class FacilitySchema(ma.Schema):
    """Dumps ``catalog.describe(facility)``."""

    id = ma.fields.Integer(metadata={"example": 1})
    name = ma.fields.String(metadata={"example": "해피시티 아이스링크"})
    kind = ma.fields.String(metadata={"example": "ice_rink"})
    timezone = ma.fields.String(metadata={"example": "Asia/Seoul"})
    address = ma.fields.String(metadata={"example": "해피시 중앙로 100"})
    rules = ma.fields.Dict()
    resources = ma.fields.List(ma.fields.Nested(ResourceSchema))
    prices = ma.fields.List(
        ma.fields.Dict(),
        metadata={
            "description": "Base prices of the weekly sessions (per person on the rink, per "
            "sheet for curling); discounts are in rules.category_discounts and "
            "rules.resident_discount",
            "example": [
                {
                    "resource_id": 1,
                    "name": "주말 자유 스케이팅",
                    "weekdays": [5, 6],
                    "start_times": ["09:00", "11:00"],
                    "base_price": 6000,
                }
            ],
        },
    )


class FacilityCreateSchema(ma.Schema):
    name = ma.fields.String(
        required=True, validate=validate.Length(1, 100), metadata={"example": "해피시티 컬링센터"}
    )
    kind = ma.fields.String(
        required=True,
        validate=validate.OneOf(FACILITY_KINDS),
        metadata={"example": "curling_centre"},
    )
    timezone = ma.fields.String(
        validate=validate.OneOf(["Asia/Seoul"]), metadata={"example": "Asia/Seoul"}
    )
    address = ma.fields.String(validate=validate.Length(max=300))
    rules = ma.fields.Nested(RulesSchema)


class SlotTemplateSchema(ma.Schema):
    id = ma.fields.Integer()
    resource_id = ma.fields.Integer()
    name = ma.fields.String(metadata={"example": "주말 자유 스케이팅"})
    weekdays = ma.fields.List(ma.fields.Integer(), metadata={"example": [5, 6]})
    start_times = ma.fields.List(ma.fields.String(), metadata={"example": ["10:00", "12:00"]})
    duration_minutes = ma.fields.Integer(metadata={"example": 90})
    buffer_after_minutes = ma.fields.Integer(metadata={"example": 30})
    capacity = ma.fields.Integer(metadata={"example": 150})
    base_price = ma.fields.Integer(metadata={"example": 5000})
    active = ma.fields.Boolean()
    allocation = ma.fields.String(metadata={"example": "first_come"})
    lottery_window_hours = ma.fields.Integer(metadata={"example": 24})


class SlotTemplateUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=validate.Length(1, 100))
    weekdays = ma.fields.List(
        ma.fields.Integer(validate=validate.Range(0, 6)),
        validate=validate.Length(min=1),
        metadata={"example": [5, 6]},
    )
    start_times = ma.fields.List(
        ma.fields.String(validate=HHMM),
        validate=validate.Length(1, 48),
        metadata={"example": ["10:00", "12:00"]},
    )
    duration_minutes = ma.fields.Integer(
        validate=validate.Range(15, 24 * 60), metadata={"example": 90}
    )
    buffer_after_minutes = ma.fields.Integer(
        validate=validate.Range(0, 240), metadata={"example": 30}
    )
    capacity = ma.fields.Integer(validate=validate.Range(1, 5000), metadata={"example": 150})
    base_price = ma.fields.Integer(
        validate=validate.Range(0, 10_000_000), metadata={"example": 5000}
    )
    active = ma.fields.Boolean()
    allocation = ma.fields.String(
        validate=validate.OneOf(ALLOCATIONS),
        metadata={
            "description": "lottery: each session's places are drawn among those who applied "
            "in a window opening when booking would open",
            "example": "lottery",
        },
    )
    lottery_window_hours = ma.fields.Integer(
        validate=validate.Range(1, 24 * 14), metadata={"example": 24}
    )


class SlotTemplateCreateSchema(SlotTemplateUpdateSchema):
    resource_id = ma.fields.Integer(required=True, validate=ID, metadata={"example": 1})
    name = ma.fields.String(
        required=True, validate=validate.Length(1, 100), metadata={"example": "평일 자유 스케이팅"}
    )
    weekdays = ma.fields.List(
        ma.fields.Integer(validate=validate.Range(0, 6)),
        required=True,
        validate=validate.Length(min=1),
        metadata={"example": [0, 1, 2]},
    )
    start_times = ma.fields.List(
        ma.fields.String(validate=HHMM),
        required=True,
        validate=validate.Length(1, 48),
        metadata={"example": ["10:00", "12:00"]},
    )
    duration_minutes = ma.fields.Integer(
        required=True, validate=validate.Range(15, 24 * 60), metadata={"example": 90}
    )
    base_price = ma.fields.Integer(
        required=True, validate=validate.Range(0, 10_000_000), metadata={"example": 5000}
    )


class GenerateSlotsSchema(ma.Schema):
    days = ma.fields.Integer(
        load_default=60, validate=validate.Range(1, 366), metadata={"example": 60}
    )


class GenerateSlotsResultSchema(ma.Schema):
    created = ma.fields.Integer(metadata={"example": 84})


class AvailabilityQuerySchema(ma.Schema):
    from_ = ma.fields.Date(data_key="from", metadata={"example": "2026-03-16"})
    to = ma.fields.Date(metadata={"example": "2026-03-29"})
    resource_id = ma.fields.Integer(validate=ID)


class SlotSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 120})
    resource_id = ma.fields.Integer(metadata={"example": 1})
    starts_at = ma.fields.AwareDateTime(metadata={"example": "2026-03-16T01:00:00+00:00"})
    ends_at = ma.fields.AwareDateTime(metadata={"example": "2026-03-16T02:30:00+00:00"})
    capacity = ma.fields.Integer(metadata={"example": 150})
    remaining = ma.fields.Integer(metadata={"example": 12})
    price = ma.fields.Integer(metadata={"example": 5000})
    bookable_from = ma.fields.AwareDateTime(metadata={"example": "2026-03-02T01:00:00+00:00"})
    status = ma.fields.String(metadata={"example": "open"})


class BookingCreateSchema(ma.Schema):
    slot_id = ma.fields.Integer(required=True, strict=True, validate=ID, metadata={"example": 120})
    party = PartyField(required=True, validate=validate.Length(min=1))


class PartyFormSchema(
    ma.Schema.from_dict(
        {
            category: ma.fields.Integer(validate=validate.Range(min=0, max=MAX_PER_CATEGORY))
            for category in CATEGORIES
        },
        name="PartyCounts",
    )
):
    """A party as a page's form sends it: one count per price category, blank for none.
    Loads as the API's ``{"party": {...}}``, with only the categories that have people; the
    party's size is the use case's to check, as it is for the API."""

    @ma.post_load
    def _as_party(self, data, **_kwargs):
        return {"party": {category: count for category, count in data.items() if count}}


class ScheduleQuerySchema(ma.Schema):
    """A facility's page: a day, or the week from that day (default: today)."""

    date = ma.fields.Date(metadata={"example": "2026-03-16"})
    view = ma.fields.String(validate=validate.OneOf(["day", "week"]), load_default="day")


class StaffBookingCreateSchema(BookingCreateSchema):
    user_id = ma.fields.Integer(required=True, strict=True, validate=ID, metadata={"example": 7})
    confirm = ma.fields.Boolean(
        load_default=True, metadata={"description": "Paid at the counter: confirm at once"}
    )


class PriceLineSchema(ma.Schema):
    category = ma.fields.String(metadata={"example": "child"})
    count = ma.fields.Integer(metadata={"example": 1})
    unit_price = ma.fields.Integer(metadata={"example": 2500})
    discount_percent = ma.fields.Integer(metadata={"example": 50})
    discount_reason = ma.fields.String(allow_none=True, metadata={"example": "child"})
    amount = ma.fields.Integer(metadata={"example": 2500})


class BookingSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 42})
    slot_id = ma.fields.Integer(metadata={"example": 120})
    user_id = ma.fields.Integer(metadata={"example": 7})
    facility_id = ma.fields.Integer(metadata={"example": 1})
    resource_id = ma.fields.Integer(metadata={"example": 1})
    starts_at = ma.fields.AwareDateTime()
    ends_at = ma.fields.AwareDateTime()
    party = ma.fields.Dict(metadata={"example": PARTY_EXAMPLE})
    party_size = ma.fields.Integer(metadata={"example": 3})
    status = ma.fields.String(metadata={"example": "held"})
    price = ma.fields.Integer(metadata={"example": 12500})
    price_lines = ma.fields.List(ma.fields.Nested(PriceLineSchema))
    refund_amount = ma.fields.Integer(allow_none=True, metadata={"example": None})
    hold_expires_at = ma.fields.AwareDateTime(allow_none=True)
    is_offer = ma.fields.Boolean()
    created_at = ma.fields.AwareDateTime()
    confirmed_at = ma.fields.AwareDateTime(allow_none=True)
    checked_in_at = ma.fields.AwareDateTime(allow_none=True)
    cancelled_at = ma.fields.AwareDateTime(allow_none=True)
    cancel_reason = ma.fields.String(allow_none=True)
    check_in_code = ma.fields.Function(
        lambda booking: booking.check_in_code(settings_of(FacilitySettings).checkin_secret),
        allow_none=True,
        metadata={"description": "Signed token to show as a QR code (confirmed bookings)"},
    )


class BookingQuerySchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(BOOKING_STATUSES))
    facility_id = ma.fields.Integer(validate=ID)
    slot_id = ma.fields.Integer(validate=ID)
    user_id = ma.fields.Integer(validate=ID, metadata={"description": "Staff only"})
    upcoming = ma.fields.Boolean(metadata={"description": "Only bookings not started yet"})


class CancelSchema(ma.Schema):
    reason = ma.fields.String(validate=validate.Length(max=200), metadata={"example": "일정 변경"})


class ConfirmSchema(ma.Schema):
    payment_reference = ma.fields.String(
        validate=validate.Length(1, 100), metadata={"example": "COUNTER-2026-0001"}
    )


class PaymentResultSchema(ma.Schema):
    """What the payment provider's signed callback reports, whatever was paid for."""

    payment_id = ma.fields.String(
        required=True, validate=validate.Length(1, 100), metadata={"example": "pg_20260302_0001"}
    )
    amount = ma.fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0), metadata={"example": 12500}
    )
    status = ma.fields.String(
        required=True, validate=validate.OneOf(["paid", "failed"]), metadata={"example": "paid"}
    )


class PaymentCallbackSchema(PaymentResultSchema):
    booking_id = ma.fields.Integer(
        required=True, strict=True, validate=ID, metadata={"example": 42}
    )


class WaitlistJoinSchema(ma.Schema):
    party = PartyField(required=True, validate=validate.Length(min=1))


class WaitlistEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    slot_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    party = ma.fields.Dict(metadata={"example": PARTY_EXAMPLE})
    status = ma.fields.String(metadata={"example": "waiting"})
    position = ma.fields.Integer(allow_none=True, metadata={"example": 2})
    booking_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    offered_at = ma.fields.AwareDateTime(allow_none=True)


class CheckInSchema(ma.Schema):
    code = ma.fields.String(
        required=True, validate=validate.Length(1, 500), metadata={"example": "eyJiIjo0Mn0.abc123"}
    )


class ClosureCreateSchema(ma.Schema):
    resource_id = ma.fields.Integer(
        validate=ID,
        allow_none=True,
        load_default=None,
        metadata={"description": "Leave out to close everything"},
    )
    starts_at = ma.fields.AwareDateTime(
        required=True, metadata={"example": "2026-03-20T00:00:00+09:00"}
    )
    ends_at = ma.fields.AwareDateTime(
        required=True, metadata={"example": "2026-03-21T00:00:00+09:00"}
    )
    reason = ma.fields.String(
        required=True, validate=validate.Length(1, 200), metadata={"example": "제빙기 고장"}
    )

    @ma.validates_schema
    def _order(self, data, **_kwargs):
        if "starts_at" in data and "ends_at" in data and data["ends_at"] <= data["starts_at"]:
            raise ma.ValidationError("Must be after starts_at.", field_name="ends_at")


class ClosureFormSchema(ClosureCreateSchema):
    """A closure as a page's form sends it: the times of ``datetime-local`` inputs, with no
    offset, read in the city's time (every facility's time zone)."""

    starts_at = ma.fields.AwareDateTime(required=True, default_timezone=CITY_TIME)
    ends_at = ma.fields.AwareDateTime(required=True, default_timezone=CITY_TIME)


class ClosureSchema(ma.Schema):
    id = ma.fields.Integer()
    facility_id = ma.fields.Integer()
    resource_id = ma.fields.Integer(allow_none=True)
    starts_at = ma.fields.AwareDateTime()
    ends_at = ma.fields.AwareDateTime()
    reason = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    slots_closed = ma.fields.Integer(metadata={"example": 4})
    bookings_cancelled = ma.fields.Integer(metadata={"example": 37})
    lifted_at = ma.fields.AwareDateTime(
        allow_none=True, metadata={"description": "When the closure was lifted early"}
    )
    slots_reopened = ma.fields.Integer(
        allow_none=True,
        metadata={
            "example": 3,
            "description": "Slots not started yet that reopened when the closure was lifted "
            "(those another closure still covers stay closed)",
        },
    )


class GateCreateSchema(ma.Schema):
    name = ma.fields.String(
        required=True, validate=validate.Length(1, 100), metadata={"example": "정문 게이트"}
    )


class _GateFieldsSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 2})
    facility_id = ma.fields.Integer(metadata={"example": 1})
    name = ma.fields.String(metadata={"example": "정문 게이트"})
    created_at = ma.fields.AwareDateTime()


class GateSchema(_GateFieldsSchema):
    revoked_at = ma.fields.AwareDateTime(allow_none=True)


class GateCreatedSchema(_GateFieldsSchema):
    key = ma.fields.String(
        metadata={
            "description": "The gate's key, shown only in this answer: Authorization: Gate <key>"
        }
    )


class StrikeSchema(ma.Schema):
    booking_id = ma.fields.Integer()
    at = ma.fields.AwareDateTime()


class StandingSchema(ma.Schema):
    strike_count = ma.fields.Integer(metadata={"example": 1})
    strikes = ma.fields.List(ma.fields.Nested(StrikeSchema))
    suspended_until = ma.fields.AwareDateTime(allow_none=True)


class CalendarFeedSchema(ma.Schema):
    url = ma.fields.String(metadata={"example": "/api/calendar/feeds/3kX...Q.ics"})


class ReportQuerySchema(ma.Schema):
    from_ = ma.fields.Date(data_key="from", required=True, metadata={"example": "2026-03-01"})
    to = ma.fields.Date(required=True, metadata={"example": "2026-03-31"})
    format = ma.fields.String(validate=validate.OneOf(["json", "csv"]))


class OccupancyRowSchema(ma.Schema):
    date = ma.fields.Date()
    resource_id = ma.fields.Integer()
    resource = ma.fields.String(metadata={"example": "메인 링크"})
    slots = ma.fields.Integer(metadata={"example": 6})
    closed_slots = ma.fields.Integer(metadata={"example": 0})
    capacity = ma.fields.Integer(metadata={"example": 900})
    booked = ma.fields.Integer(metadata={"example": 612})
    checked_in = ma.fields.Integer(metadata={"example": 580})
    no_show = ma.fields.Integer(metadata={"example": 12})
    occupancy_percent = ma.fields.Float(metadata={"example": 68.0})


# Refusals that add fields to the error shape (``core.errors``): each documents its own, so a
# client can rely on them and an answer with them still matches the document.
BookingSuspendedErrorSchema = error_with(
    "BookingSuspended",
    suspended_until=ma.fields.DateTime(
        metadata={"description": "booking_suspended: when the no-show suspension ends"}
    ),
)
BookingNotOpenErrorSchema = error_with(
    "BookingNotOpen",
    bookable_from=ma.fields.DateTime(
        metadata={"description": "booking_not_open: when booking for the slot opens"}
    ),
)
SlotFullErrorSchema = error_with(
    "SlotFull",
    remaining=ma.fields.Integer(
        validate=validate.Range(min=0),
        metadata={"description": "slot_full: the places still free"},
    ),
)
CheckInWindowErrorSchema = error_with(
    "CheckInWindow",
    checkin_opens=ma.fields.DateTime(
        metadata={"description": "checkin_window: the first moment this booking checks in"}
    ),
    checkin_closes=ma.fields.DateTime(
        metadata={"description": "checkin_window: the last moment this booking checks in"}
    ),
)
