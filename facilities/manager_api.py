"""Facility managers: facilities, resources, slot templates, slot generation, closures (and
lifting them), check-in gates, staff bookings and counter confirmation, occupancy reports,
residents' standing."""

from __future__ import annotations

from flask import Response, g, request

from core.clock import now
from core.http import Blueprint
from core.services import get_user
from facilities.schemas import (
    BookingSchema,
    ClosureCreateSchema,
    ClosureSchema,
    ConfirmSchema,
    FacilityCreateSchema,
    FacilitySchema,
    GateCreatedSchema,
    GateCreateSchema,
    GateSchema,
    GenerateSlotsResultSchema,
    GenerateSlotsSchema,
    OccupancyRowSchema,
    ReportQuerySchema,
    ResourceCreateSchema,
    ResourceSchema,
    RulesSchema,
    SlotFullErrorSchema,
    SlotTemplateCreateSchema,
    SlotTemplateSchema,
    SlotTemplateUpdateSchema,
    StaffBookingCreateSchema,
    StandingSchema,
    WaitlistEntrySchema,
)
from facilities.services import booking as bookings
from facilities.services import (
    capacity,
    catalog,
    checkin,
    closures,
    gates,
    reports,
    slots,
    waitlist,
)

blp = Blueprint(
    "facilities_manager", __name__, url_prefix="/api", description="Facility management (staff)"
)
MANAGER = "facility_manager"


@blp.post("/facilities")
@blp.auth(MANAGER)
@blp.arguments(FacilityCreateSchema)
@blp.response(201, FacilitySchema)
@blp.errors(409)
def create_facility(data):
    """Create a facility (rules default to the city's standard rules)."""
    return catalog.describe(catalog.create_facility(g.user, data, now()))


@blp.patch("/facilities/<int:facility_id>/rules")
@blp.auth(MANAGER)
@blp.arguments(RulesSchema)
@blp.response(200, FacilitySchema)
@blp.errors(404)
def update_rules(data, facility_id):
    """Change some of a facility's booking rules."""
    facility = catalog.update_rules(g.user, catalog.get_facility(facility_id), data, now())
    return catalog.describe(facility)


@blp.post("/facilities/<int:facility_id>/resources")
@blp.auth(MANAGER)
@blp.arguments(ResourceCreateSchema)
@blp.response(201, ResourceSchema)
@blp.errors(404, 409, 422)
def add_resource(data, facility_id):
    """Add the rink or a curling sheet."""
    return catalog.add_resource(g.user, catalog.get_facility(facility_id), data, now())


@blp.get("/facilities/<int:facility_id>/slot-templates")
@blp.auth(MANAGER)
@blp.response(200, SlotTemplateSchema(many=True))
@blp.errors(404)
def list_templates(facility_id):
    """The facility's weekly session patterns."""
    return catalog.list_templates(catalog.get_facility(facility_id))


@blp.post("/facilities/<int:facility_id>/slot-templates")
@blp.auth(MANAGER)
@blp.arguments(SlotTemplateCreateSchema)
@blp.response(201, SlotTemplateSchema)
@blp.errors(404, 422)
def create_template(data, facility_id):
    """Add a weekly pattern: weekdays (Mon=0), start times, duration, break after, capacity,
    base price."""
    resource = catalog.get_resource(data.pop("resource_id"), catalog.get_facility(facility_id))
    return catalog.create_template(g.user, resource, data, now())


@blp.patch("/slot-templates/<int:template_id>")
@blp.auth(MANAGER)
@blp.arguments(SlotTemplateUpdateSchema)
@blp.response(200, SlotTemplateSchema)
@blp.errors(404, 422)
def update_template(data, template_id):
    """Change a pattern; slots already generated keep their terms."""
    return catalog.update_template(g.user, catalog.get_template(template_id), data, now())


@blp.post("/facilities/<int:facility_id>/generate-slots")
@blp.auth(MANAGER)
@blp.arguments(GenerateSlotsSchema)
@blp.response(200, GenerateSlotsResultSchema)
@blp.errors(404)
def generate_slots(data, facility_id):
    """Materialize slots from the templates (safe to repeat)."""
    created = slots.generate_for_facility(catalog.get_facility(facility_id), data["days"], now())
    return {"created": created}


@blp.get("/facilities/<int:facility_id>/closures")
@blp.auth(MANAGER)
@blp.response(200, ClosureSchema(many=True))
@blp.errors(404)
def list_closures(facility_id):
    """Closures of a facility, newest first."""
    return closures.list_closures(catalog.get_facility(facility_id))


@blp.post("/facilities/<int:facility_id>/closures")
@blp.auth(MANAGER)
@blp.arguments(ClosureCreateSchema)
@blp.response(201, ClosureSchema)
@blp.errors(404, 422)
def create_closure(data, facility_id):
    """Close a resource (or the whole facility) for a period: overlapping slots close, their
    bookings are cancelled with a full refund and the residents are notified."""
    return closures.create(g.user, catalog.get_facility(facility_id), now=now(), **data)


@blp.post("/closures/<int:closure_id>/lift")
@blp.auth(MANAGER)
@blp.response(200, ClosureSchema)
@blp.errors(404, 409)
def lift_closure(closure_id):
    """Lift a closure early (the ice is fixed): its slots not started yet reopen for booking,
    unless another closure still covers them; `slots_reopened` counts them. Bookings it
    cancelled stay cancelled. Lifted already → 409 `closure_lifted`."""
    return closures.lift(g.user, closures.get_closure(closure_id), now())


@blp.get("/facilities/<int:facility_id>/gates")
@blp.auth(MANAGER)
@blp.response(200, GateSchema(many=True))
@blp.errors(404)
def list_gates(facility_id):
    """The facility's check-in gates (their keys are never shown again)."""
    return gates.list_gates(catalog.get_facility(facility_id))


@blp.post("/facilities/<int:facility_id>/gates")
@blp.auth(MANAGER)
@blp.arguments(GateCreateSchema)
@blp.response(201, GateCreatedSchema)
@blp.errors(404, 422)
def create_gate(data, facility_id):
    """Register a check-in gate. Its key is in this answer only: the gate sends
    `Authorization: Gate <key>` to `POST /api/check-ins`."""
    gate, key = gates.create_gate(g.user, catalog.get_facility(facility_id), data["name"], now())
    return {
        "id": gate.id,
        "facility_id": gate.facility_id,
        "name": gate.name,
        "created_at": gate.created_at,
        "key": key,
    }


@blp.post("/gates/<int:gate_id>/revoke")
@blp.auth(MANAGER)
@blp.response(200, GateSchema)
@blp.errors(404, 409)
def revoke_gate(gate_id):
    """Revoke a gate's key: it is refused (401) from now on. Revoked already → 409."""
    return gates.revoke(g.user, gates.get_gate(gate_id), now())


@blp.post("/manager/bookings")
@blp.auth(MANAGER)
@blp.arguments(StaffBookingCreateSchema)
@blp.response(201, BookingSchema)
@blp.errors(404, 409, 422, detailed={409: SlotFullErrorSchema})
def staff_booking(data):
    """Book for a resident at the counter (no opening time or per-person limits; capacity
    still holds). Confirmed at once unless `confirm` is false."""
    return bookings.create_booking(
        g.user,
        data["slot_id"],
        data["party"],
        now=now(),
        for_user=get_user(data["user_id"]),
        confirm=data["confirm"],
    )


@blp.post("/manager/bookings/<int:booking_id>/confirm")
@blp.auth(MANAGER)
@blp.arguments(ConfirmSchema)
@blp.response(200, BookingSchema)
@blp.errors(404, 409)
def confirm_at_counter(data, booking_id):
    """Confirm a held booking paid at the counter (never after its hold expired)."""
    return bookings.confirm(
        bookings.find(booking_id),
        now(),
        actor=g.user,
        payment_reference=data.get("payment_reference"),
    )


@blp.get("/facilities/<int:facility_id>/reports/occupancy")
@blp.auth(MANAGER)
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, OccupancyRowSchema(many=True))
@blp.errors(404, 422)
@blp.doc(responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def occupancy_report(query, facility_id):
    """Occupancy per resource per day, as JSON or CSV (`format=csv` or `Accept: text/csv`)."""
    facility = catalog.get_facility(facility_id)
    rows = reports.occupancy(facility, query["from_"], query["to"])
    wanted = query.get("format")
    if wanted is None:
        best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
        wanted = "csv" if best == "text/csv" else "json"
    if wanted == "csv":
        name = f"occupancy-{facility.id}-{query['from_']}-{query['to']}.csv"
        return Response(
            reports.to_csv(rows),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return rows


@blp.get("/slots/<int:slot_id>/waitlist/entries")
@blp.auth(MANAGER)
@blp.response(200, WaitlistEntrySchema(many=True))
@blp.errors(404)
def slot_waitlist(slot_id):
    """Everyone on a slot's waitlist, in order, with positions and offers."""
    return waitlist.slot_entries(capacity.find_slot(slot_id))


@blp.get("/users/<int:user_id>/facility-standing")
@blp.auth(MANAGER)
@blp.response(200, StandingSchema)
@blp.errors(404)
def user_standing(user_id):
    """A resident's no-show strikes and suspension."""
    return checkin.standing(get_user(user_id).id, now())
