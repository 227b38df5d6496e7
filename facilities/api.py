"""Residents' facility API: facilities, availability, bookings, waitlists, payments, check-in,
calendars."""

from __future__ import annotations

import functools
import json

from flask import Response, current_app, g, jsonify, request, url_for
from flask_smorest import abort
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from core.clock import now
from core.db import intent, write_intent
from core.errors import Conflict, Unauthorized
from core.extensions import db
from core.http import Blueprint
from core.idempotency import answered, run_once
from core.security import signature_matches
from facilities import calendar
from facilities.gate_auth import gate_or_staff
from facilities.models import Booking, Facility, WaitlistEntry
from facilities.rules import local_date
from facilities.schemas import (
    AvailabilityQuerySchema,
    BookingCreateSchema,
    BookingQuerySchema,
    BookingSchema,
    CalendarFeedSchema,
    CancelSchema,
    CheckInSchema,
    FacilitySchema,
    PaymentCallbackSchema,
    SlotSchema,
    StandingSchema,
    WaitlistEntrySchema,
    WaitlistJoinSchema,
)
from facilities.services import (
    availability,
    catalog,
    checkin,
    feeds,
    gates,
    payments,
    waitlist,
)
from facilities.services import booking as bookings
from facilities.services.ids import in_range

blp = Blueprint("facilities", __name__, url_prefix="/api", description="Ice rink and curling")
SIGNATURE_HEADER = "X-Signature"
BOOKING_SCOPE = "booking.create"


@blp.get("/facilities")
@blp.response(200, FacilitySchema(many=True))
def list_facilities():
    """Facilities with their resources, rules and prices."""
    stmt = select(Facility).options(selectinload(Facility.resources)).order_by(Facility.id)
    return db.session.scalars(stmt).all()


@blp.get("/facilities/<int:facility_id>")
@blp.response(200, FacilitySchema)
@blp.errors(404)
def get_facility(facility_id):
    """One facility: resources, booking rules, discounts and refund tiers."""
    return catalog.get_facility(facility_id)


@blp.get("/facilities/<int:facility_id>/availability")
@blp.arguments(AvailabilityQuerySchema, location="query")
@blp.response(200, SlotSchema(many=True))
@blp.errors(404, 422)
def get_availability(query, facility_id):
    """Slots between two local dates (default: the next 14 days), with places left and status
    (open, full, closed, past)."""
    facility = catalog.get_facility(facility_id)
    first = query.get("from_") or local_date(now(), facility.timezone)
    last = query.get("to") or availability.default_range(first)[1]
    slots = availability.availability(facility, first, last, now(), query.get("resource_id"))
    # Already plain JSON values; skipping the schema keeps this hot read cheap.
    return jsonify(slots)


# One instance: building a schema copies all its fields, and the booking path is hot.
_BOOKING_SCHEMA = BookingSchema()


def _dump(booking: Booking) -> dict:
    return _BOOKING_SCHEMA.dump(booking)


def _snapshot_first(view):
    """Start the request reading a snapshot (SQLite: no write lock yet), see create_booking."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        with intent(writes=False):
            return view(*args, **kwargs)

    return wrapper


def _end_snapshot(keep) -> None:
    """End the read-only snapshot so the booking gets a fresh (write) transaction.

    A rollback expires every loaded object; ``keep`` (the caller, read a moment ago) is set
    aside meanwhile, so the write transaction does not spend its lock time reloading it."""
    db.session.expunge(keep)
    db.session.rollback()
    db.session.add(keep)


@blp.post("/bookings")
@_snapshot_first
@blp.auth()
@blp.arguments(BookingCreateSchema)
@blp.response(201, BookingSchema)
@blp.errors(403, 404, 409, 422)
@blp.doc(
    parameters=[
        {
            "in": "header",
            "name": "Idempotency-Key",
            "schema": {"type": "string", "maxLength": 200},
            "description": "A retry with the same key returns the first answer",
        }
    ]
)
def create_booking(data):
    """Book places in a slot: held for payment (confirmed at once when free).

    Full → 409 `slot_full`; before opening → 422 `booking_not_open` with `bookable_from`;
    a broken per-person rule → 422 naming it; suspended → 403 `booking_suspended`."""
    at = now()
    user = g.user
    owner, key = f"user:{user.id}", request.headers.get("Idempotency-Key")
    # In a rush most requests lose. Authentication and these checks read a snapshot, so on
    # SQLite they run side by side instead of queueing for the single writer; only requests
    # that may win go on to the write transaction. A retry is replayed, never refused: its
    # first answer and the slot are read in one snapshot, so a booking counted in the slot
    # has its answer found here.
    replayed = answered(scope=BOOKING_SCOPE, owner=owner, key=key, payload=data)
    if replayed is not None:
        body, status = replayed
        return jsonify(body), status
    bookings.refuse_if_visibly_full(user.id, data["slot_id"], data["party"], at)
    _end_snapshot(keep=user)
    write_intent.set(True)
    # Retries racing each other queue on the person's lock in create_booking (SQLite queues
    # every writer anyway), so each later one finds the first one's booking, breaks a rule,
    # and is replayed by run_once.
    try:
        body, status = run_once(
            scope=BOOKING_SCOPE,
            owner=owner,
            key=key,
            payload=data,
            now=at,
            looked_up=True,
            action=lambda: (
                _dump(
                    bookings.create_booking(
                        user, data["slot_id"], data["party"], now=at, suspension_checked=True
                    )
                ),
                201,
            ),
        )
    except IntegrityError:
        # The database's capacity guards caught what the row lock should already have.
        db.session.rollback()
        raise Conflict("This slot is full", code="slot_full") from None
    return jsonify(body), status


@blp.get("/bookings")
@blp.auth()
@blp.arguments(BookingQuerySchema, location="query")
@blp.response(200, BookingSchema(many=True))
@blp.paginate()
def list_bookings(query, pagination_parameters):
    """My bookings, newest slot first. Staff see everyone's and may filter by user_id."""
    stmt = select(Booking)
    if bookings.is_staff(g.user):
        if "user_id" in query:
            stmt = stmt.where(Booking.user_id == query["user_id"])
    else:
        stmt = stmt.where(Booking.user_id == g.user.id)
    for key in ("status", "facility_id", "slot_id"):
        if key in query:
            stmt = stmt.where(getattr(Booking, key) == query[key])
    if query.get("upcoming"):
        stmt = stmt.where(Booking.starts_at > now())
    pagination_parameters.item_count = db.session.scalar(
        select(func.count()).select_from(stmt.subquery())
    )
    p = pagination_parameters
    stmt = stmt.order_by(Booking.starts_at.desc(), Booking.id.desc())
    return db.session.scalars(stmt.offset(p.first_item).limit(p.page_size)).all()


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
    booking = bookings.cancel(
        bookings.get_booking(booking_id, g.user), g.user, now(), reason=data.get("reason")
    )
    db.session.commit()
    return booking


@blp.post("/bookings/<int:booking_id>/confirm")
@blp.auth()
@blp.response(200, BookingSchema)
@blp.errors(403, 404, 409, 422)
def accept_free_booking(booking_id):
    """Accept a free held booking (a waitlist offer on a free slot). Paid ones confirm by
    payment."""
    booking = bookings.confirm_free(bookings.get_booking(booking_id, g.user), g.user, now())
    db.session.commit()
    return booking


@blp.get("/bookings/<int:booking_id>/calendar.ics")
@blp.auth()
@blp.errors(404)
@blp.doc(responses={200: {"description": "text/calendar"}})
def booking_calendar(booking_id):
    """The booking as an iCalendar event (Asia/Seoul times; cancelled → STATUS:CANCELLED)."""
    booking = bookings.get_booking(booking_id, g.user)
    body = calendar.render(
        [booking], now(), name="해피허브 예약", domain=request.host.split(":")[0]
    )
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="booking-{booking.id}.ics"'},
    )


@blp.post("/slots/<int:slot_id>/waitlist")
@blp.auth()
@blp.arguments(WaitlistJoinSchema)
@blp.response(201, WaitlistEntrySchema)
@blp.errors(403, 404, 409, 422)
def join_waitlist(data, slot_id):
    """Join a full slot's waitlist; freed places are offered in order, one at a time."""
    entry = waitlist.join(g.user, slot_id, data["party"], now())
    db.session.commit()
    return waitlist.describe(entry)


@blp.get("/slots/<int:slot_id>/waitlist")
@blp.auth()
@blp.response(200, WaitlistEntrySchema)
@blp.errors(404)
def my_waitlist_entry(slot_id):
    """My place on this slot's waitlist (position 1 = next)."""
    if not in_range(slot_id):
        abort(404, message="You are not on this waitlist")
    entry = db.session.scalar(
        select(WaitlistEntry)
        .where(WaitlistEntry.slot_id == slot_id, WaitlistEntry.user_id == g.user.id)
        .order_by(WaitlistEntry.id.desc())
        .limit(1)
    )
    if entry is None:
        abort(404, message="You are not on this waitlist")
    return waitlist.describe(entry)


@blp.delete("/slots/<int:slot_id>/waitlist")
@blp.auth()
@blp.response(204)
@blp.errors(404)
def leave_waitlist(slot_id):
    """Leave the waitlist."""
    waitlist.leave(g.user, slot_id, now())
    db.session.commit()


@blp.get("/me/waitlist")
@blp.auth()
@blp.response(200, WaitlistEntrySchema(many=True))
def my_waitlists():
    """The waitlists I am on, with my positions."""
    entries = db.session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.user_id == g.user.id, WaitlistEntry.status.in_(waitlist.OPEN))
        .order_by(WaitlistEntry.id)
    )
    return [waitlist.describe(e) for e in entries]


@blp.get("/me/facility-standing")
@blp.auth()
@blp.response(200, StandingSchema)
def my_standing():
    """My no-show strikes (last 90 days) and any booking suspension."""
    return checkin.standing(g.user.id, now())


@blp.post("/check-ins")
@gate_or_staff(blp, "facility_manager")
@blp.arguments(CheckInSchema)
@blp.response(200, BookingSchema)
@blp.errors(404, 409, 422)
def check_in(data):
    """Check in with the booking's code (QR), from 30 min before the start to 15 min after.

    Called by a facility manager (bearer token) or a gate (`Authorization: Gate <key>`). A
    gate checks in only its own facility's bookings: another's → 403 `gate_wrong_facility`;
    a missing, unknown or revoked gate key → 401."""
    gate = g.gate
    booking = checkin.check_in(
        gates.actor_label(gate) if gate else g.user,
        data["code"],
        now(),
        current_app.config["SECRET_KEY"],
        facility_id=gate.facility_id if gate else None,
    )
    db.session.commit()
    return booking


@blp.post("/payments/callback")
@blp.response(200, BookingSchema)
@blp.errors(401, 404, 409, 422)
@blp.doc(
    parameters=[
        {
            "in": "header",
            "name": SIGNATURE_HEADER,
            "required": True,
            "schema": {"type": "string"},
            "description": "hex HMAC-SHA256 of the raw body under the shared secret",
        }
    ],
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": PaymentCallbackSchema}},
    },
)
def payment_callback():
    """The payment provider confirms (or fails) the payment of a held booking. Signed."""
    raw = request.get_data(cache=True)
    secret = current_app.config["PAYMENT_CALLBACK_SECRET"]
    if not signature_matches(secret, raw, request.headers.get(SIGNATURE_HEADER)):
        raise Unauthorized("Missing or wrong payment signature", code="bad_signature")
    try:
        payload = PaymentCallbackSchema().load(json.loads(raw))
    except (ValueError, TypeError):
        abort(400, message="The body is not JSON")
    except ValidationError as error:
        abort(422, errors=error.messages)
    booking = payments.handle_callback(payload, now())
    db.session.commit()
    return booking


@blp.post("/me/calendar-feed")
@blp.auth()
@blp.response(201, CalendarFeedSchema)
def regenerate_feed():
    """Create (or replace) my private calendar feed URL. The old URL stops working."""
    raw = feeds.regenerate(g.user, now())
    db.session.commit()
    return {"url": url_for("facilities.calendar_feed", token=raw, _external=True)}


@blp.delete("/me/calendar-feed")
@blp.auth()
@blp.response(204)
@blp.errors(404)
def revoke_feed():
    """Turn my private calendar feed off."""
    feeds.revoke(g.user)
    db.session.commit()


@blp.get("/calendar/feeds/<token>.ics")
@blp.errors(404)
@blp.doc(responses={200: {"description": "text/calendar"}})
def calendar_feed(token):
    """A private feed of my bookings (the URL is the secret); cancelled ones show as cancelled."""
    user = feeds.user_for_token(token)
    at = now()
    body = calendar.render(
        feeds.feed_bookings(user, at),
        at,
        name="해피허브 시설 예약",
        domain=request.host.split(":")[0],
    )
    return Response(body, mimetype="text/calendar")
