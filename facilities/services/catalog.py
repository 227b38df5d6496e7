"""Facilities, their resources and slot templates (set up by facility managers)."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import audit
from core.errors import Conflict, NotFound, RuleViolation
from core.extensions import db
from core.lookup import find, get
from core.models import User
from facilities.models import Facility, Resource, Rules, SlotTemplate


def get_facility(facility_id: int) -> Facility:
    return get(Facility, facility_id)


def get_resource(resource_id: int, facility: Facility | None = None) -> Resource:
    resource = find(Resource, resource_id)
    if resource is None or (facility is not None and resource.facility_id != facility.id):
        raise NotFound(f"Resource {resource_id} not found", errors={"resource_id": ["Unknown."]})
    return resource


def get_template(template_id: int) -> SlotTemplate:
    return get(SlotTemplate, template_id, label="Slot template")


def describe_all(facilities: list[Facility]) -> list[dict]:
    """Facilities as residents see them: their resources, rules and the base prices of their
    active weekly sessions. The prices of all of them are read in one query."""
    prices: dict[int, list[dict]] = {facility.id: [] for facility in facilities}
    if prices:
        rows = db.session.execute(
            select(
                Resource.facility_id,
                SlotTemplate.resource_id,
                SlotTemplate.name,
                SlotTemplate.weekdays,
                SlotTemplate.start_times,
                SlotTemplate.base_price,
            )
            .join(Resource, Resource.id == SlotTemplate.resource_id)
            .where(
                Resource.facility_id.in_(prices),
                Resource.active.is_(True),
                SlotTemplate.active.is_(True),
            )
            .order_by(Resource.position, SlotTemplate.id)
        )
        for row in rows:
            prices[row.facility_id].append(
                {
                    "resource_id": row.resource_id,
                    "name": row.name,
                    "weekdays": row.weekdays,
                    "start_times": row.start_times,
                    "base_price": row.base_price,
                }
            )
    return [
        {
            "id": facility.id,
            "name": facility.name,
            "kind": facility.kind,
            "timezone": facility.timezone,
            "address": facility.address,
            "rules": facility.rules.to_json(),
            "resources": list(facility.resources),
            "prices": prices[facility.id],
        }
        for facility in facilities
    ]


def describe(facility: Facility) -> dict:
    return describe_all([facility])[0]


def list_facilities() -> list[dict]:
    """Every facility, described (``describe_all``)."""
    facilities = db.session.scalars(
        select(Facility).options(selectinload(Facility.resources)).order_by(Facility.id)
    ).all()
    return describe_all(facilities)


def facility_details(facility_id: int) -> dict:
    return describe(get_facility(facility_id))


def list_templates(facility: Facility) -> list[SlotTemplate]:
    """The facility's weekly session patterns, active or not."""
    ids = [r.id for r in facility.resources]
    return db.session.scalars(
        select(SlotTemplate).where(SlotTemplate.resource_id.in_(ids)).order_by(SlotTemplate.id)
    ).all()


def active_templates(facility: Facility) -> list[SlotTemplate]:
    return db.session.scalars(
        select(SlotTemplate)
        .join(Resource)
        .where(
            Resource.facility_id == facility.id,
            Resource.active.is_(True),
            SlotTemplate.active.is_(True),
        )
        .order_by(Resource.position, SlotTemplate.id)
    ).all()


def create_facility(actor: User | str, data: dict, now: datetime) -> Facility:
    if db.session.scalar(select(Facility.id).filter_by(name=data["name"])) is not None:
        raise Conflict("A facility with this name exists", errors={"name": ["Already used."]})
    rules = Rules.from_json(data.get("rules")).to_json()
    facility = Facility(
        name=data["name"],
        kind=data["kind"],
        timezone=data.get("timezone") or "Asia/Seoul",
        address=data.get("address") or "",
        rules_json=rules,
        created_at=now,
    )
    db.session.add(facility)
    db.session.flush()
    audit.record(actor, "facility.create", "facility", facility.id, now=now, after={"rules": rules})
    return facility


def update_rules(actor: User | str, facility: Facility, changes: dict, now: datetime) -> Facility:
    before = facility.rules.to_json()
    after = Rules.from_json({**before, **changes}).to_json()
    facility.rules_json = after
    db.session.flush()
    audit.record(
        actor, "facility.rules", "facility", facility.id, now=now, before=before, after=after
    )
    return facility


def add_resource(actor: User | str, facility: Facility, data: dict, now: datetime) -> Resource:
    kind = data.get("kind") or ("sheet" if facility.kind == "curling_centre" else "rink")
    capacity = 1 if kind == "sheet" else data.get("capacity")
    if not capacity:
        raise RuleViolation("A rink needs a capacity", errors={"capacity": ["Required."]})
    if any(r.name == data["name"] for r in facility.resources):
        raise Conflict("A resource with this name exists", errors={"name": ["Already used."]})
    resource = Resource(
        facility_id=facility.id,
        name=data["name"],
        kind=kind,
        capacity=capacity,
        position=data.get("position", len(facility.resources)),
    )
    db.session.add(resource)
    db.session.flush()
    db.session.refresh(facility)
    audit.record(
        actor,
        "resource.create",
        "resource",
        resource.id,
        now=now,
        after={"name": resource.name, "capacity": capacity},
    )
    return resource


def _minutes(hhmm: str) -> int:
    hour, minute = hhmm.split(":")
    return int(hour) * 60 + int(minute)


def check_start_times(start_times: list[str], duration: int, buffer: int) -> None:
    """Sessions of one template may not overlap, breaks after each included, nor pass midnight."""
    starts = sorted(_minutes(t) for t in start_times)
    for earlier, later in zip(starts, starts[1:], strict=False):
        if later - earlier < duration + buffer:
            raise RuleViolation(
                "Sessions overlap (counting the break after each)",
                code="template_overlap",
                errors={"start_times": [f"Keep {duration + buffer} minutes between starts."]},
            )
    if starts and starts[-1] + duration > 24 * 60:
        raise RuleViolation(
            "A session may not pass midnight",
            errors={"start_times": ["Ends after midnight."]},
        )


def create_template(
    actor: User | str, resource: Resource, data: dict, now: datetime
) -> SlotTemplate:
    times = sorted(set(data["start_times"]))
    check_start_times(times, data["duration_minutes"], data.get("buffer_after_minutes", 0))
    template = SlotTemplate(
        resource_id=resource.id,
        name=data["name"],
        weekdays=sorted(set(data["weekdays"])),
        start_times=times,
        duration_minutes=data["duration_minutes"],
        buffer_after_minutes=data.get("buffer_after_minutes", 0),
        capacity=1 if resource.exclusive else data.get("capacity") or resource.capacity,
        base_price=data["base_price"],
        allocation=data.get("allocation", "first_come"),
        lottery_window_hours=data.get("lottery_window_hours", 24),
        created_at=now,
    )
    if template.capacity > resource.capacity:
        raise RuleViolation(
            "A session cannot hold more than the resource",
            errors={"capacity": [f"At most {resource.capacity}."]},
        )
    db.session.add(template)
    db.session.flush()
    audit.record(
        actor,
        "slot_template.create",
        "slot_template",
        template.id,
        now=now,
        after=_template_state(template),
    )
    return template


def _template_state(template: SlotTemplate) -> dict:
    return {
        "weekdays": template.weekdays,
        "start_times": template.start_times,
        "duration_minutes": template.duration_minutes,
        "buffer_after_minutes": template.buffer_after_minutes,
        "capacity": template.capacity,
        "base_price": template.base_price,
        "active": template.active,
        "allocation": template.allocation,
        "lottery_window_hours": template.lottery_window_hours,
    }


def update_template(
    actor: User | str, template: SlotTemplate, changes: dict, now: datetime
) -> SlotTemplate:
    """Changes apply to slots generated from now on; existing slots keep their terms."""
    before = _template_state(template)
    for key, value in changes.items():
        setattr(template, key, sorted(set(value)) if key in ("weekdays", "start_times") else value)
    check_start_times(
        template.start_times, template.duration_minutes, template.buffer_after_minutes
    )
    if template.resource.exclusive:
        template.capacity = 1
    db.session.flush()
    audit.record(
        actor,
        "slot_template.update",
        "slot_template",
        template.id,
        now=now,
        before=before,
        after=_template_state(template),
    )
    return template


def parse_time(hhmm: str) -> time:
    hour, minute = hhmm.split(":")
    return time(int(hour), int(minute))
