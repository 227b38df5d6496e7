"""Check-in codes and window; no-shows become strikes; 3 strikes in 90 days suspend."""

from datetime import timedelta

import pytest

from core.errors import Forbidden
from core.extensions import db
from facilities import jobs
from facilities.services import booking as bookings
from facilities.services import checkin
from tests.fixtures.facilities import book, create_slot, kst, now
from tests.fixtures.users import auth_headers


def confirmed(user, slot):
    booking = book(user, slot)
    bookings.confirm(booking, now(), actor="payments", payment_reference=f"pg-{booking.id}")
    db.session.commit()
    return booking


def code_of(client, user, booking):
    response = client.get(f"/api/bookings/{booking.id}", headers=auth_headers(user))
    return response.json["check_in_code"]


@pytest.mark.parametrize(
    ("offset_minutes", "status"),
    [(-31, 422), (-30, 200), (0, 200), (15, 200), (16, 422)],
)
def test_check_in_window(client, resident, manager, rink_slot, clock, offset_minutes, status):
    booking = confirmed(resident, rink_slot)
    code = code_of(client, resident, booking)
    clock.at = rink_slot.starts_at + timedelta(minutes=offset_minutes)
    response = client.post("/api/check-ins", json={"code": code}, headers=auth_headers(manager))
    assert response.status_code == status, response.json
    if status == 200:
        assert response.json["status"] == "checked_in"
    else:
        assert response.json["code"] == "checkin_window"


def test_forged_or_tampered_code_is_refused(client, resident, manager, rink_slot, app):
    booking = confirmed(resident, rink_slot)
    forged = checkin._serializer("another-secret").dumps({"b": booking.id})
    for code in (forged, code_of(client, resident, booking) + "x", "garbage"):
        response = client.post("/api/check-ins", json={"code": code}, headers=auth_headers(manager))
        assert response.status_code == 422
        assert "code" in response.json["errors"]


def test_held_booking_has_no_code_and_cannot_check_in(client, resident, manager, rink_slot, app):
    booking = book(resident, rink_slot)
    assert code_of(client, resident, booking) is None
    code = checkin._serializer(app.config["SECRET_KEY"]).dumps({"b": booking.id})
    response = client.post("/api/check-ins", json={"code": code}, headers=auth_headers(manager))
    assert response.status_code == 409


def test_no_show_after_the_window_is_a_strike(client, resident, rink_slot, clock, outbox):
    booking = confirmed(resident, rink_slot)
    clock.at = rink_slot.starts_at + timedelta(minutes=15)
    assert jobs.mark_no_shows_now() == 0
    clock.advance(minutes=1)
    assert jobs.mark_no_shows_now() == 1
    db.session.commit()
    assert booking.status == "no_show"
    standing = client.get("/api/me/facility-standing", headers=auth_headers(resident)).json
    assert standing["strike_count"] == 1 and standing["suspended_until"] is None
    assert "no_show_strike" in [n["kind"] for n in outbox]


def test_checked_in_booking_is_not_a_no_show(client, resident, manager, rink_slot, clock):
    booking = confirmed(resident, rink_slot)
    clock.at = rink_slot.starts_at
    checkin.check_in(manager, code_of(client, resident, booking), now(), "test-secret-key")
    clock.advance(hours=2)
    assert jobs.mark_no_shows_now() == 0


def test_three_strikes_in_90_days_suspend_for_30_days(
    client, resident, manager, dummy_rink, clock, outbox
):
    days = ["2026-03-03", "2026-03-05", "2026-03-07"]
    for day in days:
        slot = create_slot(dummy_rink, kst(day, "18:00"))
        confirmed(resident, slot)
    for day in days:
        clock.at = kst(day, "19:00")
        jobs.mark_no_shows_now()
        db.session.commit()
    standing = client.get(
        f"/api/users/{resident.id}/facility-standing", headers=auth_headers(manager)
    ).json
    assert standing["strike_count"] == 3
    assert standing["suspended_until"] == (now() + timedelta(days=30)).isoformat()
    assert "booking_suspension" in [n["kind"] for n in outbox]
    later = create_slot(dummy_rink, kst("2026-03-12"))
    with pytest.raises(Forbidden):
        book(resident, later)
    clock.advance(days=30)
    after = create_slot(dummy_rink, kst("2026-04-08"))
    assert book(resident, after).status == "held"


def test_strikes_older_than_the_window_do_not_count(resident, dummy_rink, clock):
    from facilities.services.user_rules import active_suspension

    for day in ("2026-03-03", "2026-03-05"):
        confirmed(resident, create_slot(dummy_rink, kst(day)))
    clock.at = kst("2026-03-06")
    jobs.mark_no_shows_now()
    db.session.commit()
    clock.at = kst("2026-06-10", "09:00")  # > 90 days after the first strikes
    confirmed(resident, create_slot(dummy_rink, kst("2026-06-10")))
    clock.at = kst("2026-06-10", "19:00")
    jobs.mark_no_shows_now()
    db.session.commit()
    assert active_suspension(resident.id, now()) is None
