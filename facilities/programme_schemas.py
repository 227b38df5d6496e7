"""Request and response shapes for programmes, applications, dependents and lotteries.

Shape and cross-field checks live here; checks that need the database are the services'."""

from __future__ import annotations

from datetime import date

import marshmallow as ma
from marshmallow import validate

from core.http import ID_RANGE as ID
from core.settings import settings_of
from facilities.models import (
    APPLICATION_STATUSES,
    CATEGORIES,
    ENROLMENT_MODES,
    PRIORITY_GROUPS,
    PROGRAMME_LEVELS,
)
from facilities.schemas import CITY_TIME, HHMM, PartyField, PaymentResultSchema
from facilities.settings import FacilitySettings

PRICES_EXAMPLE = {"adult": 120000, "child": 80000}
# Terms within the years the Korean holiday calendar (and the service) deals with.
TERM_DATES = validate.Range(min=date(2000, 1, 1), max=date(2099, 12, 31))
MAX_PRICE = 10_000_000


class _ProgrammeEditableSchema(ma.Schema):
    title = ma.fields.String(
        validate=validate.Length(1, 100), metadata={"example": "스케이트 초급 성인반"}
    )
    level = ma.fields.String(
        validate=validate.OneOf(PROGRAMME_LEVELS), metadata={"example": "beginner"}
    )
    instructor = ma.fields.String(validate=validate.Length(max=100), metadata={"example": "김코치"})
    min_age = ma.fields.Integer(validate=validate.Range(0, 120), metadata={"example": 19})
    max_age = ma.fields.Integer(validate=validate.Range(0, 120), metadata={"example": 99})
    capacity = ma.fields.Integer(validate=validate.Range(1, 1000), metadata={"example": 20})
    min_enrolment = ma.fields.Integer(validate=validate.Range(0, 1000), metadata={"example": 5})
    prices = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.OneOf(CATEGORIES)),
        values=ma.fields.Integer(strict=True, validate=validate.Range(0, MAX_PRICE)),
        validate=validate.Length(min=1),
        metadata={
            "description": "The term's price in KRW per price category",
            "example": PRICES_EXAMPLE,
        },
    )
    window_opens_at = ma.fields.AwareDateTime(metadata={"example": "2026-03-03T10:00:00+09:00"})
    window_closes_at = ma.fields.AwareDateTime(metadata={"example": "2026-03-10T18:00:00+09:00"})
    payment_hours = ma.fields.Integer(validate=validate.Range(1, 24 * 14), metadata={"example": 48})

    @ma.validates_schema
    def _ordered(self, data, **_kwargs):
        if data.get("min_age", 0) > data.get("max_age", 120):
            raise ma.ValidationError("Must not exceed max_age.", field_name="min_age")
        if data.get("min_enrolment", 0) > data.get("capacity", 1000):
            raise ma.ValidationError("Must not exceed capacity.", field_name="min_enrolment")
        opens, closes = data.get("window_opens_at"), data.get("window_closes_at")
        if opens and closes and closes <= opens:
            raise ma.ValidationError(
                "Must be after window_opens_at.", field_name="window_closes_at"
            )


class ProgrammeUpdateSchema(_ProgrammeEditableSchema):
    """What a manager may change (prices, age band and window only before the window opens)."""


class ProgrammeCreateSchema(_ProgrammeEditableSchema):
    facility_id = ma.fields.Integer(required=True, validate=ID, metadata={"example": 1})
    resource_id = ma.fields.Integer(required=True, validate=ID, metadata={"example": 1})
    title = ma.fields.String(
        required=True,
        validate=validate.Length(1, 100),
        metadata={"example": "스케이트 초급 성인반"},
    )
    level = ma.fields.String(required=True, validate=validate.OneOf(PROGRAMME_LEVELS))
    min_age = ma.fields.Integer(required=True, validate=validate.Range(0, 120))
    max_age = ma.fields.Integer(required=True, validate=validate.Range(0, 120))
    term_start = ma.fields.Date(
        required=True, validate=TERM_DATES, metadata={"example": "2026-04-01"}
    )
    term_end = ma.fields.Date(
        required=True, validate=TERM_DATES, metadata={"example": "2026-04-30"}
    )
    weekdays = ma.fields.List(
        ma.fields.Integer(validate=validate.Range(0, 6)),
        required=True,
        validate=validate.Length(1, 7),
        metadata={"description": "Mon = 0 ... Sun = 6", "example": [1, 3]},
    )
    start_time = ma.fields.String(required=True, validate=HHMM, metadata={"example": "19:00"})
    duration_minutes = ma.fields.Integer(
        required=True, validate=validate.Range(10, 600), metadata={"example": 50}
    )
    capacity = ma.fields.Integer(required=True, validate=validate.Range(1, 1000))
    min_enrolment = ma.fields.Integer(load_default=0, validate=validate.Range(0, 1000))
    prices = ma.fields.Dict(
        required=True,
        keys=ma.fields.String(validate=validate.OneOf(CATEGORIES)),
        values=ma.fields.Integer(strict=True, validate=validate.Range(0, MAX_PRICE)),
        validate=validate.Length(min=1),
        metadata={"example": PRICES_EXAMPLE},
    )
    instructor = ma.fields.String(load_default="", validate=validate.Length(max=100))
    rink_places = ma.fields.Integer(
        load_default=1,
        validate=validate.Range(1, 5000),
        metadata={
            "description": "Places public rink sessions lose meanwhile (a sheet is taken whole)",
            "example": 30,
        },
    )
    enrolment = ma.fields.String(
        required=True, validate=validate.OneOf(ENROLMENT_MODES), metadata={"example": "lottery"}
    )
    window_opens_at = ma.fields.AwareDateTime(required=True)
    window_closes_at = ma.fields.AwareDateTime(required=True)
    payment_hours = ma.fields.Integer(load_default=48, validate=validate.Range(1, 24 * 14))
    previous_programme_id = ma.fields.Integer(
        validate=ID,
        allow_none=True,
        load_default=None,
        metadata={"description": "The same class last term (for second tickets)"},
    )
    priority_groups = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(PRIORITY_GROUPS)),
        validate=validate.Length(1, len(PRIORITY_GROUPS)),
        metadata={"description": "Lottery: drawn in this order", "example": list(PRIORITY_GROUPS)},
    )
    second_ticket = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Lottery: those who lost last term's draw get two tickets"},
    )

    @ma.validates_schema
    def _term(self, data, **_kwargs):
        if "term_start" in data and "term_end" in data and data["term_end"] < data["term_start"]:
            raise ma.ValidationError("Must not be before term_start.", field_name="term_end")


class ProgrammeCancelSchema(ma.Schema):
    reason = ma.fields.String(
        required=True, validate=validate.Length(1, 200), metadata={"example": "강사 사정"}
    )


class ProgrammeQuerySchema(ma.Schema):
    facility_id = ma.fields.Integer(validate=ID)
    level = ma.fields.String(validate=validate.OneOf(PROGRAMME_LEVELS))
    age = ma.fields.Integer(validate=validate.Range(0, 120), metadata={"example": 9})
    open = ma.fields.Boolean(
        data_key="open",
        attribute="open_for_application",
        metadata={"description": "Only those whose application window is open now (or not)"},
    )


class LotteryWindowSchema(ma.Schema):
    opens_at = ma.fields.AwareDateTime()
    closes_at = ma.fields.AwareDateTime()


class WindowSchema(LotteryWindowSchema):
    state = ma.fields.String(
        metadata={"description": "not_open, open or closed", "example": "open"}
    )


class ProgrammeSchema(ma.Schema):
    """Dumps ``programmes.describe(programme, now)``."""

    id = ma.fields.Integer(attribute="programme.id", metadata={"example": 12})
    facility_id = ma.fields.Integer(attribute="programme.facility_id")
    resource_id = ma.fields.Integer(attribute="programme.resource_id")
    title = ma.fields.String(attribute="programme.title")
    level = ma.fields.String(attribute="programme.level")
    min_age = ma.fields.Integer(attribute="programme.min_age")
    max_age = ma.fields.Integer(attribute="programme.max_age")
    term_start = ma.fields.Date(attribute="programme.term_start")
    term_end = ma.fields.Date(attribute="programme.term_end")
    weekdays = ma.fields.List(ma.fields.Integer(), attribute="programme.weekdays")
    start_time = ma.fields.String(attribute="programme.start_time")
    duration_minutes = ma.fields.Integer(attribute="programme.duration_minutes")
    capacity = ma.fields.Integer(attribute="programme.capacity")
    min_enrolment = ma.fields.Integer(attribute="programme.min_enrolment")
    enrolled = ma.fields.Integer(attribute="programme.enrolled")
    remaining = ma.fields.Integer()
    prices = ma.fields.Dict(attribute="programme.prices", metadata={"example": PRICES_EXAMPLE})
    instructor = ma.fields.String(attribute="programme.instructor")
    rink_places = ma.fields.Integer(attribute="programme.rink_places")
    enrolment = ma.fields.String(attribute="programme.enrolment")
    payment_hours = ma.fields.Integer(attribute="programme.payment_hours")
    previous_programme_id = ma.fields.Integer(
        attribute="programme.previous_programme_id", allow_none=True
    )
    status = ma.fields.String(attribute="programme.status", metadata={"example": "open"})
    cancel_reason = ma.fields.String(attribute="programme.cancel_reason", allow_none=True)
    window = ma.fields.Nested(WindowSchema)
    lottery_id = ma.fields.Integer(allow_none=True)
    sessions = ma.fields.Integer(metadata={"description": "Sessions still scheduled"})
    first_session = ma.fields.AwareDateTime(allow_none=True)


class ApplicationCreateSchema(ma.Schema):
    category = ma.fields.String(
        required=True, validate=validate.OneOf(CATEGORIES), metadata={"example": "adult"}
    )
    dependent_id = ma.fields.Integer(
        validate=ID,
        allow_none=True,
        load_default=None,
        metadata={"description": "Applying for a dependent (leave out for yourself)"},
    )
    birth_year = ma.fields.Integer(
        validate=validate.Range(1900, 2100),
        allow_none=True,
        load_default=None,
        metadata={"description": "Yours, when applying for yourself", "example": 1990},
    )


class ApplicationSchema(ma.Schema):
    """Dumps ``enrolments.describe(application)``."""

    number = ma.fields.Integer(
        metadata={"description": "The application number the draw publishes", "example": 1042}
    )
    programme_id = ma.fields.Integer(attribute="application.programme_id", allow_none=True)
    programme_title = ma.fields.String(allow_none=True)
    lottery_id = ma.fields.Integer(attribute="application.lottery_id", allow_none=True)
    slot_id = ma.fields.Integer(allow_none=True)
    dependent_id = ma.fields.Integer(attribute="application.dependent_id", allow_none=True)
    participant_name = ma.fields.String(attribute="application.participant_name")
    category = ma.fields.String(attribute="application.category", allow_none=True)
    party = ma.fields.Dict(attribute="application.party", allow_none=True)
    status = ma.fields.String(
        attribute="application.status",
        validate=validate.OneOf(APPLICATION_STATUSES),
        metadata={"example": "applied"},
    )
    priority_group = ma.fields.String(attribute="application.priority_group", allow_none=True)
    tickets = ma.fields.Integer(attribute="application.tickets")
    draw_position = ma.fields.Integer(attribute="application.draw_position", allow_none=True)
    price = ma.fields.Integer(attribute="application.price")
    refund_amount = ma.fields.Integer(attribute="application.refund_amount", allow_none=True)
    hold_expires_at = ma.fields.AwareDateTime(
        attribute="application.hold_expires_at", allow_none=True
    )
    booking_id = ma.fields.Integer(attribute="application.booking_id", allow_none=True)
    created_at = ma.fields.AwareDateTime(attribute="application.created_at")
    check_in_code = ma.fields.Function(
        lambda described: described["application"].check_in_code(
            settings_of(FacilitySettings).checkin_secret
        ),
        allow_none=True,
        metadata={"description": "Signed token to show as a QR code at each session (enrolled)"},
    )


class DependentCreateSchema(ma.Schema):
    name = ma.fields.String(
        required=True, validate=validate.Length(1, 100), metadata={"example": "김하늘"}
    )
    birth_year = ma.fields.Integer(
        required=True, validate=validate.Range(1900, 2100), metadata={"example": 2018}
    )


class DependentSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    birth_year = ma.fields.Integer()


class PublishedApplicationSchema(ma.Schema):
    number = ma.fields.Integer()
    group = ma.fields.String()
    tickets = ma.fields.Integer()


class LotterySchema(ma.Schema):
    """Dumps ``lotteries.describe(lottery, now)``."""

    id = ma.fields.Integer()
    programme_id = ma.fields.Integer(allow_none=True)
    slot_id = ma.fields.Integer(allow_none=True)
    state = ma.fields.String(
        metadata={
            "description": "scheduled, open, closed (awaiting the draw), drawn or cancelled",
            "example": "open",
        }
    )
    window = ma.fields.Nested(LotteryWindowSchema)
    places = ma.fields.Integer()
    applications = ma.fields.Integer(metadata={"description": "Applications not withdrawn"})
    priority_groups = ma.fields.List(
        ma.fields.String(), metadata={"example": ["resident", "everyone"]}
    )
    second_ticket = ma.fields.Boolean()
    procedure = ma.fields.String(metadata={"example": "draw-v1"})
    commitment = ma.fields.String(
        metadata={"description": "SHA-256 of the seed, published before the window opens"}
    )
    seed = ma.fields.String(allow_none=True, metadata={"description": "Published after the draw"})
    drawn_at = ma.fields.AwareDateTime(allow_none=True)
    published_applications = ma.fields.List(
        ma.fields.Nested(PublishedApplicationSchema), allow_none=True
    )
    order = ma.fields.List(
        ma.fields.Integer(),
        allow_none=True,
        metadata={"description": "The application numbers in the drawn order"},
    )
    applications_digest = ma.fields.String(allow_none=True)


class LotteryVerificationSchema(ma.Schema):
    """Dumps ``lotteries.verify(lottery_id)``."""

    lottery_id = ma.fields.Integer()
    procedure = ma.fields.String()
    commitment = ma.fields.String()
    seed = ma.fields.String()
    commitment_matches = ma.fields.Boolean()
    order_matches = ma.fields.Boolean()
    first_difference = ma.fields.Integer(allow_none=True)
    applications_match = ma.fields.Boolean()
    applications = ma.fields.Integer()
    ok = ma.fields.Boolean()
    problem = ma.fields.String()


class ProgrammePaymentCallbackSchema(PaymentResultSchema):
    application_id = ma.fields.Integer(
        required=True, strict=True, validate=ID, metadata={"example": 1042}
    )


class CounterPaymentSchema(ma.Schema):
    payment_reference = ma.fields.String(
        required=True, validate=validate.Length(1, 100), metadata={"example": "COUNTER-0001"}
    )


class ProgrammeReportRowSchema(ma.Schema):
    programme_id = ma.fields.Integer()
    title = ma.fields.String()
    places = ma.fields.Integer()
    enrolment = ma.fields.String()
    group = ma.fields.String()
    applications = ma.fields.Integer()
    placed = ma.fields.Integer(metadata={"description": "Held for payment or enrolled"})
    waiting = ma.fields.Integer()


class ProgrammeReportQuerySchema(ma.Schema):
    facility_id = ma.fields.Integer(validate=ID)


class SessionLotteryApplySchema(ma.Schema):
    party = PartyField(required=True, validate=validate.Length(min=1))


class AttendanceSchema(ma.Schema):
    id = ma.fields.Integer()
    session_id = ma.fields.Integer()
    application_id = ma.fields.Integer()
    checked_in_at = ma.fields.AwareDateTime()


def _prices_from_inputs(data: dict) -> dict:
    """A page's form sends one input per price category (``price_adult``): gathered into the
    API's ``prices``, digits as numbers (anything else left for the field to refuse)."""
    data = dict(data)
    prices = {}
    for category in CATEGORIES:
        value = data.pop(f"price_{category}", None)
        if value is not None:
            text = str(value).strip().replace(",", "")
            prices[category] = int(text) if text.isdigit() else text
    if prices:
        data["prices"] = prices
    return data


# The page's choice of a lottery's draw order, as the API's ``priority_groups``.
PRIORITY_ORDERS = {"residents_first": ["resident", "everyone"], "together": ["everyone"]}


class ProgrammeFormSchema(ProgrammeCreateSchema):
    """A programme as the managers' page sends it: the API's fields, prices one input per
    category, the window's times from ``datetime-local`` inputs read in the city's time, and
    the lottery's draw order as one choice (``priority_order``, see ``PRIORITY_ORDERS``)."""

    window_opens_at = ma.fields.AwareDateTime(required=True, default_timezone=CITY_TIME)
    window_closes_at = ma.fields.AwareDateTime(required=True, default_timezone=CITY_TIME)

    @ma.pre_load
    def _prices(self, data, **_kwargs):
        data = _prices_from_inputs(data)
        order = data.pop("priority_order", None)
        if order is not None:
            # An unknown choice goes on as given, for the field to refuse and name.
            data["priority_groups"] = PRIORITY_ORDERS.get(order, [order])
        return data


class ProgrammeEditFormSchema(ProgrammeUpdateSchema):
    """``ProgrammeUpdateSchema`` as the managers' page sends it (see ``ProgrammeFormSchema``)."""

    window_opens_at = ma.fields.AwareDateTime(default_timezone=CITY_TIME)
    window_closes_at = ma.fields.AwareDateTime(default_timezone=CITY_TIME)

    @ma.pre_load
    def _prices(self, data, **_kwargs):
        return _prices_from_inputs(data)
