"""Programmes, applications, dependents and lotteries: the JSON doors of residents, machines
and (creating and editing programmes under the same paths) facility managers."""

from __future__ import annotations

from flask import g, jsonify, request

from core import idempotency
from core.clock import now
from core.http import Blueprint, paginated
from core.settings import settings_of
from facilities import signed_callbacks
from facilities.programme_schemas import (
    ApplicationCreateSchema,
    ApplicationSchema,
    AttendanceSchema,
    CounterPaymentSchema,
    DependentCreateSchema,
    DependentSchema,
    LotterySchema,
    LotteryVerificationSchema,
    ProgrammeCancelSchema,
    ProgrammeCreateSchema,
    ProgrammePaymentCallbackSchema,
    ProgrammeQuerySchema,
    ProgrammeReportQuerySchema,
    ProgrammeReportRowSchema,
    ProgrammeSchema,
    ProgrammeUpdateSchema,
    SessionLotteryApplySchema,
)
from facilities.schemas import CheckInSchema
from facilities.services import attendance, enrolments, lotteries, programmes, session_lotteries
from facilities.services.gates import GATE
from facilities.settings import FacilitySettings

blp = Blueprint(
    "facilities_programmes",
    __name__,
    url_prefix="/api",
    description="Lesson programmes, applications and lotteries",
)
MANAGER = "facility_manager"
_read_callback = signed_callbacks.reader(ProgrammePaymentCallbackSchema)


@blp.get("/programmes")
@blp.arguments(ProgrammeQuerySchema, location="query")
@blp.response(200, ProgrammeSchema(many=True))
@blp.paginate()
def list_programmes(query, pagination_parameters):
    """Programmes whose term has not ended, soonest first. Filters: `facility_id`, `level`,
    `age` (the age band includes it), `open` (the application window is open now)."""
    return programmes.list_programmes(
        now(), page=lambda stmt: paginated(stmt, pagination_parameters), **query
    )


@blp.get("/programmes/<int:programme_id>")
@blp.response(200, ProgrammeSchema)
@blp.errors(404)
def get_programme(programme_id):
    """One programme: term, weekly times, places left, prices per category, its window and
    its lottery (if it has one)."""
    return programmes.programme_details(programme_id, now())


@blp.post("/programmes")
@blp.auth(MANAGER)
@blp.arguments(ProgrammeCreateSchema)
@blp.response(201, ProgrammeSchema)
@blp.errors(404, 409, 422)
def create_programme(data):
    """Create a programme (managers). Its sessions take their ice: `rink_places` of every
    public rink session at the same time, or the whole sheet; ice another programme uses or
    the public booked → 409 `ice_taken`. A lottery programme publishes its commitment now."""
    return programmes.describe(programmes.create_programme(g.user, data, now()), now())


@blp.patch("/programmes/<int:programme_id>")
@blp.auth(MANAGER)
@blp.arguments(ProgrammeUpdateSchema)
@blp.response(200, ProgrammeSchema)
@blp.errors(404, 409, 422)
def update_programme(data, programme_id):
    """Edit a programme (managers): never below the places given; prices, age band and window
    only before the window opens (422 `window_opened`)."""
    return programmes.describe(
        programmes.update_programme(g.user, programme_id, data, now()), now()
    )


@blp.post("/programmes/<int:programme_id>/cancel")
@blp.auth(MANAGER)
@blp.arguments(ProgrammeCancelSchema)
@blp.response(200, ProgrammeSchema)
@blp.errors(404, 409)
def cancel_programme(data, programme_id):
    """Cancel a programme (managers): every applicant is told, paid places are refunded for
    the sessions not held yet, the ice goes back to public sessions."""
    programme = enrolments.cancel_by_manager(g.user, programme_id, data["reason"], now())
    return programmes.describe(programme, now())


# One instance: building a schema copies its fields, and a window's last minute is busy.
_APPLICATION_SCHEMA = ApplicationSchema()


@blp.post("/programmes/<int:programme_id>/applications")
@blp.auth()
@blp.arguments(ApplicationCreateSchema)
@blp.response(201, ApplicationSchema)
@blp.errors(404, 409, 422)
@blp.doc(parameters=[idempotency.HEADER_PARAMETER])
def apply(data, programme_id):
    """Apply for yourself (with `birth_year`) or a dependent (`dependent_id`) while the window
    is open → 201 with the application `number`. First come: a free place is held for payment
    (`hold_expires_at`), or you wait in order; lottery: you wait for the draw. Once per person
    (409 `already_applied`); outside the age band → 422 `age_band`; outside the window → 422
    `window_not_open` / `window_closed`. A retry with the same `Idempotency-Key` gets the
    first answer again."""
    body, status = enrolments.apply_once(
        g.user,
        programme_id,
        data,
        idempotency_key=request.headers.get(idempotency.HEADER),
        now=now(),
        render=_APPLICATION_SCHEMA.dump,
    )
    return jsonify(body), status


@blp.get("/me/applications")
@blp.auth()
@blp.response(200, ApplicationSchema(many=True))
def my_applications():
    """My applications (and my dependents'), newest first, with their status and place in
    the drawn order."""
    return enrolments.my_applications(g.user)


@blp.delete("/me/applications/<int:application_id>")
@blp.auth()
@blp.response(200, ApplicationSchema)
@blp.errors(404, 409, 422)
def withdraw(application_id):
    """Withdraw while the window is open (after → 422 `window_closed`); a place it held goes
    to the next in order, and what was paid is refunded."""
    return enrolments.describe(enrolments.withdraw(g.user, application_id, now()))


@blp.get("/me/dependents")
@blp.auth()
@blp.response(200, DependentSchema(many=True))
def my_dependents():
    """The people I apply for, with their birth years."""
    return programmes.list_dependents(g.user)


@blp.post("/me/dependents")
@blp.auth()
@blp.arguments(DependentCreateSchema)
@blp.response(201, DependentSchema)
@blp.errors(409)
def add_dependent(data):
    """Add a child (or another person) I apply for; their birth year is checked against age
    bands."""
    return programmes.add_dependent(g.user, data["name"], data["birth_year"], now())


@blp.get("/lotteries/<int:lottery_id>")
@blp.response(200, LotterySchema)
@blp.errors(404)
def get_lottery(lottery_id):
    """A lottery, public: state, window, places, the commitment (SHA-256 of the secret seed,
    published before the window opens); after the draw the seed, the applications as drawn
    (number, group, tickets) and the application numbers in the drawn order. The procedure
    to recompute it is `draw-v1` (see the README)."""
    return lotteries.lottery_details(lottery_id, now())


@blp.post("/lotteries/<int:lottery_id>/applications")
@blp.auth()
@blp.arguments(SessionLotteryApplySchema)
@blp.response(201, ApplicationSchema)
@blp.errors(403, 404, 409, 422)
@blp.doc(parameters=[idempotency.HEADER_PARAMETER])
def apply_to_session_lottery(data, lottery_id):
    """Apply to the lottery of a session (a slot of an `allocation: lottery` template) with
    your party, while its window is open → 201 with the application `number`. At the draw a
    winner gets a held booking to pay within `FACILITIES_SESSION_LOTTERY_PAYMENT_HOURS` (24 by
    default); an unpaid one passes to the next in the drawn order. The session's waitlist is
    closed meanwhile (409 `slot_by_lottery`). A retry with the same `Idempotency-Key` gets the
    first answer again."""
    body, status = session_lotteries.apply_once(
        g.user,
        lottery_id,
        data["party"],
        idempotency_key=request.headers.get(idempotency.HEADER),
        now=now(),
        render=_APPLICATION_SCHEMA.dump,
    )
    return jsonify(body), status


@blp.get("/lotteries/<int:lottery_id>/verification")
@blp.response(200, LotteryVerificationSchema)
@blp.errors(404, 409)
def verify_lottery(lottery_id):
    """The drawn order recomputed from the published seed and applications: does the seed
    match the commitment, and the order the procedure? Not drawn yet → 409."""
    return lotteries.verify(lottery_id)


@blp.post("/payments/programme-callback")
@blp.response(200, ApplicationSchema)
@blp.errors(401, 404, 409, 422)
@blp.doc(**signed_callbacks.documented(ProgrammePaymentCallbackSchema))
def payment_callback():
    """The payment provider confirms the payment of a held programme place. Signed."""
    application = enrolments.handle_signed_payment(
        request.get_data(cache=True),
        signed_callbacks.signature(),
        secret=settings_of(FacilitySettings).payment_callback_secret,
        now=now(),
        read=_read_callback,
    )
    return enrolments.describe(application)


@blp.post("/manager/applications/<int:application_id>/confirm")
@blp.auth(MANAGER)
@blp.arguments(CounterPaymentSchema)
@blp.response(200, ApplicationSchema)
@blp.errors(404, 409, 422)
def confirm_at_counter(data, application_id):
    """A held place paid at the counter (never after its deadline)."""
    application = enrolments.confirm_payment(
        application_id, now(), actor=g.user, payment_reference=data["payment_reference"]
    )
    return enrolments.describe(application)


@blp.post("/programme-check-ins")
@blp.device_or_auth(GATE, MANAGER)
@blp.arguments(CheckInSchema)
@blp.response(201, AttendanceSchema)
@blp.errors(403, 404, 409, 422)
def programme_check_in(data):
    """Mark an enrolled participant present with their programme check-in code (QR), at the
    session starting within 30 minutes (until 15 minutes after its start). A gate checks in
    only its own facility's programmes; twice → 409 `already_checked_in`."""
    return attendance.check_in(
        g.device or g.user, data["code"], now(), settings_of(FacilitySettings).checkin_secret
    )


@blp.get("/manager/programme-report")
@blp.auth(MANAGER)
@blp.arguments(ProgrammeReportQuerySchema, location="query")
@blp.response(200, ProgrammeReportRowSchema(many=True))
def programme_report(query):
    """Applications against places per programme and priority group."""
    return lotteries.report(query.get("facility_id"))
