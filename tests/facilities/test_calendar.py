"""iCalendar output parses with icalendar and carries Asia/Seoul times; private feeds."""

import icalendar

from core.extensions import db
from facilities.services import booking as bookings
from facilities.services import enrolments, programmes
from tests.fixtures.facilities import book, create_programme, create_slot, kst, now
from tests.fixtures.users import auth_headers, create_user


def events(body: bytes):
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_booking_calendar_has_seoul_times(client, resident, rink_slot):
    booking = book(resident, rink_slot)
    response = client.get(
        f"/api/bookings/{booking.id}/calendar.ics", headers=auth_headers(resident)
    )
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    (event,) = events(response.data)
    start = event.decoded("dtstart")
    assert str(start.tzinfo) == "Asia/Seoul"
    assert (start.hour, start.minute, start.utcoffset().total_seconds()) == (18, 0, 9 * 3600)
    assert start == rink_slot.starts_at
    assert event.decoded("dtend") == rink_slot.ends_at
    assert str(event["status"]) == "TENTATIVE"
    assert b"TZID=Asia/Seoul" in response.data
    assert b"BEGIN:VTIMEZONE" in response.data
    other = client.get(
        f"/api/bookings/{booking.id}/calendar.ics", headers=auth_headers(create_user())
    )
    assert other.status_code == 404


def test_cancelled_booking_is_a_cancelled_event(client, resident, rink_slot):
    booking = book(resident, rink_slot)
    bookings.cancel(booking, resident, now())
    response = client.get(
        f"/api/bookings/{booking.id}/calendar.ics", headers=auth_headers(resident)
    )
    (event,) = events(response.data)
    assert str(event["status"]) == "CANCELLED"


def test_private_feed_regenerate_and_revoke(client, resident, dummy_rink):
    kept = book(resident, create_slot(dummy_rink, kst("2026-03-10")))
    dropped = book(resident, create_slot(dummy_rink, kst("2026-03-11")))
    bookings.cancel(dropped, resident, now())
    book(create_user(), create_slot(dummy_rink, kst("2026-03-12")))  # someone else's
    created = client.post("/api/me/calendar-feed", headers=auth_headers(resident))
    assert created.status_code == 201
    url = created.json["url"]
    feed = client.get(url)  # no token needed: the URL is the secret
    assert feed.status_code == 200
    statuses = {str(e["uid"]): str(e["status"]) for e in events(feed.data)}
    assert statuses == {
        f"booking-{kept.id}@localhost": "TENTATIVE",
        f"booking-{dropped.id}@localhost": "CANCELLED",
    }
    renewed = client.post("/api/me/calendar-feed", headers=auth_headers(resident)).json["url"]
    assert renewed != url
    assert client.get(url).status_code == 404
    assert client.get(renewed).status_code == 200
    assert client.delete("/api/me/calendar-feed", headers=auth_headers(resident)).status_code == 204
    assert client.get(renewed).status_code == 404


def test_the_feed_has_the_programmes_sessions(client, manager, resident, dummy_rink):
    programme = create_programme(manager, dummy_rink, start_time="07:00")
    child = programmes.add_dependent(resident, "김하늘", 2000, now())
    enrolments.apply(resident, programme.id, category="adult", dependent_id=child.id, now=now())
    other = create_programme(manager, dummy_rink, title="다른 강습", start_time="08:00")
    enrolments.apply(create_user(), other.id, category="adult", birth_year=1990, now=now())
    db.session.commit()
    url = client.post("/api/me/calendar-feed", headers=auth_headers(resident)).json["url"]
    lessons = [e for e in events(client.get(url).data) if str(e["uid"]).startswith("lesson-")]
    assert len(lessons) == 9  # April's Tuesdays and Thursdays, only the person's programme
    first = min(lessons, key=lambda e: e.decoded("dtstart"))
    assert first.decoded("dtstart").isoformat() == "2026-04-02T07:00:00+09:00"
    assert str(first["summary"]).startswith("스케이트 초급 성인반")
    assert "김하늘" in str(first["description"])
    assert {str(e["status"]) for e in lessons} == {"TENTATIVE"}  # held, not paid yet
