"""Occupancy per resource per day, JSON and CSV."""

import csv
import io

import pytest

from tests.fixtures.facilities import book, create_slot, kst
from tests.fixtures.users import auth_headers, create_user


@pytest.fixture
def booked_day(dummy_rink):
    morning = create_slot(dummy_rink, kst("2026-03-10", "10:00"), capacity=10)
    create_slot(dummy_rink, kst("2026-03-10", "18:00"), capacity=10)
    create_slot(dummy_rink, kst("2026-03-11", "18:00"), capacity=10, status="closed")
    book(create_user(), morning, {"adult": 3})
    book(create_user(), morning, {"adult": 2})
    return dummy_rink


def test_occupancy_json(client, manager, booked_day):
    response = client.get(
        f"/api/facilities/{booked_day.facility_id}/reports/occupancy?from=2026-03-10&to=2026-03-11",
        headers=auth_headers(manager),
    )
    assert response.status_code == 200
    first, second = response.json
    assert first["date"] == "2026-03-10" and first["resource_id"] == booked_day.id
    assert (first["slots"], first["capacity"], first["booked"]) == (2, 20, 5)
    assert first["occupancy_percent"] == 25.0
    assert (second["closed_slots"], second["capacity"], second["booked"]) == (1, 0, 0)


@pytest.mark.parametrize("how", ["format", "accept"])
def test_occupancy_csv(client, manager, booked_day, how):
    url = (
        f"/api/facilities/{booked_day.facility_id}/reports/occupancy?from=2026-03-10&to=2026-03-10"
    )
    headers = auth_headers(manager)
    if how == "format":
        url += "&format=csv"
    else:
        headers["Accept"] = "text/csv"
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [
        {
            "date": "2026-03-10",
            "resource_id": str(booked_day.id),
            "resource": "메인 링크",
            "slots": "2",
            "closed_slots": "0",
            "capacity": "20",
            "booked": "5",
            "checked_in": "0",
            "no_show": "0",
            "occupancy_percent": "25.0",
        }
    ]


def test_report_needs_dates(client, manager, dummy_rink):
    response = client.get(
        f"/api/facilities/{dummy_rink.facility_id}/reports/occupancy", headers=auth_headers(manager)
    )
    assert response.status_code == 422
    assert {"from", "to"} <= set(response.json["errors"])
