"""Residents' facility API: facilities, availability, bookings, waitlists, payments, check-in,
calendars."""

from __future__ import annotations

from flask import Response, g, jsonify, request, url_for

from core import idempotency
from core.clock import now
from core.db import intent
from core.http import Blueprint, paginated
from core.settings import settings_of
from facilities import signed_callbacks
from facilities.schemas import (
    AvailabilityQuerySchema,
    BookingCreateSchema,
    BookingNotOpenErrorSchema,
    BookingQuerySchema,
    BookingSchema,
    BookingSuspendedErrorSchema,
    CalendarFeedSchema,
    CancelSchema,
    CheckInSchema,
    CheckInWindowErrorSchema,
    FacilitySchema,
    PaymentCallbackSchema,
    SlotFullErrorSchema,
    SlotSchema,
    StandingSchema,
    WaitlistEntrySchema,
    WaitlistJoinSchema,
)
from facilities.services import (
    availability,
    calendars,
    catalog,
    checkin,
    feeds,
    payments,
    waitlist,
)
from facilities.services import booking as bookings
from facilities.services.gates import GATE
from facilities.settings import FacilitySettings

blp = Blueprint("facilities", __name__, url_prefix="/api", description="Ice rink and curling")
_read_callback = signed_callbacks.reader(PaymentCallbackSchema)


@blp.get("/facilities")
@blp.response(200, FacilitySchema(many=True))
def list_facilities():
    """Facilities with their resources, rules and prices."""
    return catalog.list_facilities()


@blp.get("/facilities/<int:facility_id>")
@blp.response(200, FacilitySchema)
@blp.errors(404)
def get_facility(facility_id):
    """One facility: resources, booking rules, discounts and refund tiers."""
    return catalog.facility_details(facility_id)


@blp.get("/facilities/<int:facility_id>/availability")
@blp.arguments(AvailabilityQuerySchema, location="query")
@blp.response(200, SlotSchema(many=True))
@blp.errors(404, 422)
def get_availability(query, facility_id):
    """Slots between two local dates (default: the next 14 days), with places left and status
    (open, full, closed, past)."""
    slots = availability.of_facility(
        facility_id,
        now(),
        first=query.get("from_"),
        last=query.get("to"),
        resource_id=query.get("resource_id"),
    )
    # Already plain JSON values; skipping the schema keeps this hot read cheap.
    return jsonify(slots)


# One instance: building a schema copies all its fields, and the booking path is hot.
_BOOKING_SCHEMA = BookingSchema()


@blp.post("/bookings")
# Authentication and the use case's first checks only read, and need no common snapshot
# (PostgreSQL: no transaction, no BEGIN and ROLLBACK round trips): see bookings.book.
@intent(writes=False, one_snapshot=False)
@blp.auth()
@blp.arguments(BookingCreateSchema)
@blp.response(201, BookingSchema)
@blp.errors(
    403,
    404,
    409,
    422,
    detailed={
        403: BookingSuspendedErrorSchema,
        409: SlotFullErrorSchema,
        422: BookingNotOpenErrorSchema,
    },
)
@blp.doc(parameters=[idempotency.HEADER_PARAMETER])
def create_booking(data):
    """Book places in a slot: held for payment (confirmed at once when free).

    Full → 409 `slot_full`; before opening → 422 `booking_not_open` with `bookable_from`;
    a broken per-person rule → 422 naming it; suspended → 403 `booking_suspended`."""
    body, status = bookings.book(
        g.user,
        data["slot_id"],
        data["party"],
        idempotency_key=request.headers.get(idempotency.HEADER),
        now=now(),
        render=_BOOKING_SCHEMA.dump,
    )
    return jsonify(body), status


@blp.get("/bookings")
@blp.auth()
@blp.arguments(BookingQuerySchema, location="query")
@blp.response(200, BookingSchema(many=True))
@blp.paginate()
def list_bookings(query, pagination_parameters):
    """My bookings, newest slot first. Staff see everyone's and may filter by user_id."""
    return paginated(bookings.query_bookings(g.user, now(), **query), pagination_parameters)


@blp.get("/bookings/<int:booking_id>")
@blp.auth()
@blp.response(200, BookingSchema)
@blp.errors(404)
def get_booking(booking_id):
    """One of my bookings (staff: any), with its check-in code once confirmed."""
    return bookings.get_booking(booking_id, g.user)


@blp.post("/bookings/<int:booking_id>/cancel")
@blp.auth()
@blp.arguments(CancelSchema)
@blp.response(200, BookingSchema)
@blp.errors(403, 404, 409, 422)
def cancel_booking(data, booking_id):
    """Cancel until the slot starts. Refund by notice (≥7 days 100%, ≥2 80%, ≥1 50%, same day
    0%); staff cancellations refund everything."""
    return bookings.cancel(
        bookings.get_booking(booking_id, g.user), g.user, now(), reason=data.get("reason")
    )


@blp.post("/bookings/<int:booking_id>/confirm")
@blp.auth()
@blp.response(200, BookingSchema)
@blp.errors(403, 404, 409, 422)
def accept_free_booking(booking_id):
    """Accept a free held booking (a waitlist offer on a free slot). Paid ones confirm by
    payment."""
    return bookings.confirm_free(bookings.get_booking(booking_id, g.user), g.user, now())


@blp.get("/bookings/<int:booking_id>/calendar.ics")
@blp.auth()
@blp.errors(404)
@blp.doc(responses={200: {"description": "text/calendar"}})
def booking_calendar(booking_id):
    """The booking as an iCalendar event (Asia/Seoul times; cancelled → STATUS:CANCELLED)."""
    body = calendars.booking_calendar(booking_id, g.user, now(), domain=calendar_domain())
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="booking-{booking_id}.ics"'},
    )


@blp.post("/slots/<int:slot_id>/waitlist")
@blp.auth()
@blp.arguments(WaitlistJoinSchema)
@blp.response(201, WaitlistEntrySchema)
@blp.errors(
    403,
    404,
    409,
    422,
    detailed={403: BookingSuspendedErrorSchema, 422: BookingNotOpenErrorSchema},
)
def join_waitlist(data, slot_id):
    """Join a full slot's waitlist; freed places are offered in order, one at a time."""
    return waitlist.describe(waitlist.join(g.user, slot_id, data["party"], now()))


@blp.get("/slots/<int:slot_id>/waitlist")
@blp.auth()
@blp.response(200, WaitlistEntrySchema)
@blp.errors(404)
def my_waitlist_entry(slot_id):
    """My place on this slot's waitlist (position 1 = next)."""
    return waitlist.my_entry(g.user, slot_id)


@blp.delete("/slots/<int:slot_id>/waitlist")
@blp.auth()
@blp.response(204)
@blp.errors(404)
def leave_waitlist(slot_id):
    """Leave the waitlist."""
    waitlist.leave(g.user, slot_id, now())


@blp.get("/me/waitlist")
@blp.auth()
@blp.response(200, WaitlistEntrySchema(many=True))
def my_waitlists():
    """The waitlists I am on, with my positions."""
    return waitlist.my_entries(g.user)


@blp.get("/me/facility-standing")
@blp.auth()
@blp.response(200, StandingSchema)
def my_standing():
    """My no-show strikes (last 90 days) and any booking suspension."""
    return checkin.standing(g.user.id, now())


@blp.post("/check-ins")
@blp.device_or_auth(GATE, "facility_manager")
@blp.arguments(CheckInSchema)
@blp.response(200, BookingSchema)
@blp.errors(404, 409, 422, detailed={422: CheckInWindowErrorSchema})
def check_in(data):
    """Check in with the booking's code (QR), from 30 min before the start to 15 min after.

    Called by a facility manager (bearer token) or a gate (`Authorization: Gate <key>`). A
    gate checks in only its own facility's bookings: another's → 403 `gate_wrong_facility`;
    a missing, unknown or revoked gate key → 401."""
    return checkin.check_in(
        g.device or g.user, data["code"], now(), settings_of(FacilitySettings).checkin_secret
    )


@blp.post("/payments/callback")
@blp.response(200, BookingSchema)
@blp.errors(401, 404, 409, 422)
@blp.doc(**signed_callbacks.documented(PaymentCallbackSchema))
def payment_callback():
    """The payment provider confirms (or fails) the payment of a held booking. Signed."""
    return payments.handle_signed_callback(
        request.get_data(cache=True),
        signed_callbacks.signature(),
        secret=settings_of(FacilitySettings).payment_callback_secret,
        now=now(),
        read=_read_callback,
    )


@blp.post("/me/calendar-feed")
@blp.auth()
@blp.response(201, CalendarFeedSchema)
def regenerate_feed():
    """Create (or replace) my private calendar feed URL. The old URL stops working."""
    raw = feeds.regenerate(g.user, now())
    return {"url": url_for("facilities.calendar_feed", token=raw, _external=True)}


@blp.delete("/me/calendar-feed")
@blp.auth()
@blp.response(204)
@blp.errors(404)
def revoke_feed():
    """Turn my private calendar feed off."""
    feeds.revoke(g.user)


@blp.get("/calendar/feeds/<token>.ics")
@blp.errors(404)
@blp.doc(responses={200: {"description": "text/calendar"}})
def calendar_feed(token):
    """A private feed of my bookings (the URL is the secret); cancelled ones show as cancelled."""
    return Response(
        calendars.feed_calendar(token, now(), domain=calendar_domain()), mimetype="text/calendar"
    )


def calendar_domain() -> str:
    """The host the calendar events' UIDs are made unique in."""
    return request.host.split(":")[0]
