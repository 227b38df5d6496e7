"""Slot templates and generation: weekdays, resurfacing breaks, holidays, idempotence, CLI."""

import dataclasses
from datetime import date

import pytest
from sqlalchemy import func, select

from core.errors import RuleViolation
from core.extensions import db
from core.settings import register, settings_of
from facilities import jobs
from facilities.models import Slot
from facilities.services import catalog, slots
from facilities.settings import FacilitySettings
from tests.fixtures.facilities import SEOUL, create_facility, create_resource, now
from tests.fixtures.users import auth_headers


def template(resource, **overrides):
    data = {
        "name": "자유 스케이팅",
        "weekdays": [0, 1, 2, 3, 4],
        "start_times": ["10:00", "12:00"],
        "duration_minutes": 90,
        "buffer_after_minutes": 30,
        "base_price": 5000,
        **overrides,
    }
    made = catalog.create_template("test", resource, data, now())
    db.session.commit()
    return made


def slot_days(resource):
    rows = db.session.scalars(select(Slot).where(Slot.resource_id == resource.id)).all()
    return sorted({s.local_date for s in rows}), rows


def test_generates_weekday_sessions_in_local_time(dummy_rink):
    template(dummy_rink)
    created = slots.generate_for_facility(dummy_rink.facility, 6, now())
    db.session.commit()
    days, rows = slot_days(dummy_rink)
    # 2 Mar (10:00 session has started; 12:00 remains) is a holiday -> Sunday schedule: none.
    assert days == [date(2026, 3, d) for d in (3, 4, 5, 6)]
    assert created == 8
    first = min(rows, key=lambda s: s.starts_at)
    assert first.starts_at.isoformat() == "2026-03-03T01:00:00+00:00"
    assert (first.ends_at - first.starts_at).seconds == 90 * 60
    assert first.capacity == 150 and first.base_price == 5000


def test_generation_is_idempotent(dummy_rink):
    template(dummy_rink)
    assert slots.generate_for_facility(dummy_rink.facility, 10, now()) > 0
    db.session.commit()
    assert slots.generate_for_facility(dummy_rink.facility, 10, now()) == 0


@pytest.mark.parametrize(("rule", "expected"), [("weekend", ["11:00"]), ("closed", [])])
def test_public_holiday_follows_the_facility_rule(clock, rule, expected):
    facility = create_facility(rules={"holiday_rule": rule})
    rink = create_resource(facility, capacity=100)
    template(rink, weekdays=[0, 1, 2, 3, 4], start_times=["10:00"])
    template(rink, name="일요일", weekdays=[6], start_times=["11:00"])
    # 2026-05-25 (Mon) is the alternative holiday for Buddha's Birthday.
    clock.at = clock.at.replace(month=5, day=20)
    slots.generate_for_facility(facility, 10, now())
    db.session.commit()
    _, rows = slot_days(rink)
    on_holiday = sorted(
        f"{s.starts_at.astimezone(SEOUL):%H:%M}" for s in rows if s.local_date == date(2026, 5, 25)
    )
    assert on_holiday == expected


def test_sessions_and_breaks_may_not_overlap(dummy_rink):
    with pytest.raises(RuleViolation) as caught:
        template(dummy_rink, start_times=["10:00", "11:45"])
    assert "start_times" in caught.value.errors


def test_another_template_cannot_double_book_the_resource(dummy_rink):
    template(dummy_rink, weekdays=[1], start_times=["10:00"])
    template(dummy_rink, name="겹침", weekdays=[1], start_times=["10:30"])
    slots.generate_for_facility(dummy_rink.facility, 7, now())
    db.session.commit()
    _, rows = slot_days(dummy_rink)
    assert len(rows) == 1


def test_cli_generate_slots(app, dummy_rink):
    template(dummy_rink)
    result = app.test_cli_runner().invoke(args=["facilities", "generate-slots", "--days", "7"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Slot.id))) > 0
    assert '"created"' in result.output


def test_manager_creates_templates_over_http(client, manager, dummy_rink):
    url = f"/api/facilities/{dummy_rink.facility_id}/slot-templates"
    body = {
        "resource_id": dummy_rink.id,
        "name": "주말",
        "weekdays": [5, 6],
        "start_times": ["09:00", "11:00"],
        "duration_minutes": 90,
        "buffer_after_minutes": 30,
        "base_price": 6000,
    }
    response = client.post(url, json=body, headers=auth_headers(manager))
    assert response.status_code == 201, response.json
    assert response.json["capacity"] == 150
    bad = client.post(url, json={**body, "start_times": ["25:00"]}, headers=auth_headers(manager))
    assert bad.status_code == 422 and "start_times" in bad.json["errors"]
    bad = client.post(url, json={**body, "weekdays": [7]}, headers=auth_headers(manager))
    assert bad.status_code == 422 and "weekdays" in bad.json["errors"]
    detail = client.get(f"/api/facilities/{dummy_rink.facility_id}").json
    assert detail["prices"] == [
        {
            "resource_id": dummy_rink.id,
            "name": "주말",
            "weekdays": [5, 6],
            "start_times": ["09:00", "11:00"],
            "base_price": 6000,
        }
    ]
    patched = client.patch(
        f"/api/slot-templates/{response.json['id']}",
        json={"base_price": 7000},
        headers=auth_headers(manager),
    )
    assert patched.json["base_price"] == 7000
    generated = client.post(
        f"/api/facilities/{dummy_rink.facility_id}/generate-slots",
        json={"days": 7},
        headers=auth_headers(manager),
    )
    # Sat 7 and Sun 8 March, two sessions each, and the 11:00 session of today (2 March), a
    # public holiday that runs the weekend schedule (09:00 has already started).
    assert generated.json["created"] == 5


def test_daily_job_keeps_the_configured_days_ahead(app, dummy_rink):
    template(dummy_rink, weekdays=list(range(7)), start_times=["18:00"])
    configured = settings_of(FacilitySettings)
    register(app, dataclasses.replace(configured, slot_days_ahead=3))
    try:
        created = jobs.generate_slots_now()
    finally:
        register(app, configured)
    db.session.commit()
    # Today (2 March, a holiday on the Sunday schedule, which this template also runs) + 3 days.
    assert created[dummy_rink.facility.name] == 4
