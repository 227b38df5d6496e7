"""Facility pages over HTTP: schedules with places, prices and opening times; booking with the
price quoted first and a form that books once however often it is sent; the test payment
page; my bookings with QR codes, cancelling with the refund shown first, waitlists and
calendars; refusals in Korean next to their fields; CSRF and sign-in."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import segno
from sqlalchemy import func, select

from core import web
from core.errors import DomainError
from core.extensions import db
from facilities.models import Booking, Suspension, WaitlistEntry
from facilities.services import booking as bookings
from tests.fixtures.facilities import book, create_slot, kst, now
from tests.fixtures.pages import csrf_of, field_error, signed_in, text
from tests.fixtures.users import create_user

KEY = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')


def bookings_count() -> int:
    return db.session.scalar(select(func.count(Booking.id)))


# --- facilities and their sessions ------------------------------------------------------


def test_the_schedule_shows_places_prices_and_when_booking_opens(client, dummy_rink, rink_slot):
    later = create_slot(dummy_rink, kst("2026-03-20", "18:00"))
    listing = client.get("/facilities")
    assert listing.status_code == 200
    assert f"/facilities/{dummy_rink.facility_id}" in text(listing)

    day = client.get(f"/facilities/{dummy_rink.facility_id}?date=2026-03-10")
    assert day.status_code == 200
    assert "3월 10일 (화)" in text(day)
    assert "150 / 150명" in text(day) and "5,000원 (1인)" in text(day)
    assert f"/facilities/slots/{rink_slot.id}/book" in text(day)

    week = client.get(f"/facilities/{dummy_rink.facility_id}?date=2026-03-15&view=week")
    assert week.status_code == 200
    assert "3월 21일 (토)" in text(week) and "3월 14일" not in text(week)
    # Opens 14 days ahead at 10:00: not today, so a date rather than a countdown.
    assert "3월 6일 (금) 10:00부터 예약" in text(week)
    assert f"/facilities/slots/{later.id}/book" not in text(week)


def test_on_its_opening_day_a_session_counts_down_to_ten(client, dummy_rink, clock):
    clock.at = kst("2026-03-02", "08:30")
    create_slot(dummy_rink, kst("2026-03-16", "18:00"))
    page = text(client.get(f"/facilities/{dummy_rink.facility_id}?date=2026-03-16"))
    assert 'datetime="2026-03-02T01:00:00+00:00" data-countdown' in page
    assert "오늘 10:00 예약 시작" in page and "1시간 30분" in page
    clock.at = kst("2026-03-02", "10:00")
    page = text(client.get(f"/facilities/{dummy_rink.facility_id}?date=2026-03-16"))
    assert "data-countdown" not in page and "예약하기" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date=yesterday", "날짜나 보기 방식이 올바르지 않습니다."),
        ("view=month", "날짜나 보기 방식이 올바르지 않습니다."),
        ("date=2031-01-01", "볼 수 있는 날짜 범위를 벗어났습니다."),
    ],
)
def test_a_wrong_schedule_query_is_an_error_page_in_korean(client, dummy_rink, query, message):
    answer = client.get(f"/facilities/{dummy_rink.facility_id}?{query}")
    assert answer.status_code == 422
    assert message in text(answer)


def test_an_unknown_facility_is_a_404_page(client, clock):
    answer = client.get("/facilities/999")
    assert answer.status_code == 404 and "페이지를 찾을 수 없습니다" in text(answer)


def test_home_shows_todays_and_this_weeks_open_sessions(client, dummy_rink, clock):
    create_slot(dummy_rink, kst("2026-03-02", "18:00"))
    create_slot(dummy_rink, kst("2026-03-04", "18:00"), booked=20)
    create_slot(dummy_rink, kst("2026-03-05", "18:00"), booked=150)  # full: not offered
    home = text(client.get("/"))
    assert "체육시설 예약" in home
    today = home.split("오늘 예약할 수 있는 회차")[1].split("이번 주")[0]
    assert "18:00" in today and "150자리 남음" in today
    assert re.search(r"3월 4일 \(수\)</a>\s*· 예약 가능 1회", home)
    assert re.search(r"3월 5일 \(목\)</a>\s*· 예약 가능한 회차 없음", home)
    # The nav: booking for everyone, one's own bookings once signed in.
    assert 'href="/facilities"' in home and 'href="/bookings"' not in home
    signed_in(client, create_user())
    assert 'href="/bookings"' in text(client.get("/"))


# --- sign-in and CSRF -------------------------------------------------------------------


def test_booking_pages_send_strangers_to_log_in_first(client, rink_slot):
    for path in ("/bookings", f"/facilities/slots/{rink_slot.id}/book", "/bookings/1"):
        answer = client.get(path)
        assert answer.status_code == 302
        assert answer.headers["Location"] == f"/login?next={path}"
    token = csrf_of(client.get("/login"))
    answer = client.post(
        f"/facilities/slots/{rink_slot.id}/book", data={"adult": "1", "csrf_token": token}
    )
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert bookings_count() == 0


def test_a_booking_form_without_its_csrf_token_books_nothing(client, resident, rink_slot):
    signed_in(client, resident, "/bookings")
    answer = client.post(f"/facilities/slots/{rink_slot.id}/book", data={"adult": "1"})
    assert answer.status_code == 400
    assert "페이지가 만료되었습니다" in text(answer)
    assert bookings_count() == 0


def test_someone_elses_booking_is_not_found(client, resident, rink_slot):
    other = book(create_user(), rink_slot)
    signed_in(client, resident, "/bookings")
    for path in (f"/bookings/{other.id}", f"/bookings/{other.id}/cancel"):
        assert client.get(path).status_code == 404
    assert client.get(f"/bookings/{other.id}/calendar.ics").status_code == 404


# --- booking: quote, then book once ---------------------------------------------------


def quote(client, token, slot, **party):
    return client.post(f"/facilities/slots/{slot.id}/quote", data={**party, "csrf_token": token})


def test_the_price_with_discounts_is_shown_before_anything_is_booked(client, resident, rink_slot):
    token = signed_in(client, resident, "/bookings")
    form = client.get(f"/facilities/slots/{rink_slot.id}/book")
    assert form.status_code == 200
    assert 'name="child"' in text(form) and "어린이 (50% 할인)" in text(form)
    answer = quote(client, token, rink_slot, adult="2", child="1", senior="")
    assert answer.status_code == 200
    page = text(answer)
    assert re.search(r'id="quote-total">12,500원<', page)
    assert "어린이 할인 50%" in page and "2,500원" in page
    assert KEY.search(page) is not None
    assert bookings_count() == 0


def test_a_verified_resident_sees_the_resident_discount(client, rink_slot):
    resident = create_user(verified_resident=True)
    token = signed_in(client, resident, "/bookings")
    page = text(quote(client, token, rink_slot, adult="1", child="1"))
    # 10% for the city's residents; the child's own 50% is larger, so it stays.
    assert "시민 할인 10%" in page and "어린이 할인 50%" in page
    assert re.search(r'id="quote-total">7,000원<', page)


def test_sending_the_same_booking_form_twice_books_once(client, resident, rink_slot):
    token = signed_in(client, resident, "/bookings")
    key = KEY.search(text(quote(client, token, rink_slot, adult="2", child="1")))[1]
    form = {"adult": "2", "child": "1", "idempotency_key": key, "csrf_token": token}
    first = client.post(f"/facilities/slots/{rink_slot.id}/book", data=form)
    again = client.post(f"/facilities/slots/{rink_slot.id}/book", data=form)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    booking = db.session.scalars(select(Booking)).one()
    assert first.headers["Location"] == f"/bookings/{booking.id}"
    assert booking.party == {"adult": 2, "child": 1} and booking.price == 12500
    assert booking.status == "held"
    db.session.refresh(rink_slot)
    assert rink_slot.booked == 3
    # A new form (a new key) is a new request: refused, next to the session it names.
    other_key = KEY.search(text(quote(client, token, rink_slot, adult="1")))[1]
    refused = client.post(
        f"/facilities/slots/{rink_slot.id}/book",
        data={"adult": "1", "idempotency_key": other_key, "csrf_token": token},
    )
    assert refused.status_code == 422
    assert field_error(refused, "slot_id") == "같은 시간에 다른 예약이 있습니다."
    assert bookings_count() == 1


def test_refusals_come_back_next_to_their_fields(client, resident, dummy_rink):
    token = signed_in(client, resident, "/bookings")
    full = create_slot(dummy_rink, kst("2026-03-10"), capacity=2, booked=2)
    answer = client.post(
        f"/facilities/slots/{full.id}/book", data={"adult": "1", "csrf_token": token}
    )
    assert answer.status_code == 422
    assert field_error(answer, "slot_id") == "남은 자리가 없습니다. 대기 신청을 하실 수 있습니다."
    assert f"/facilities/slots/{full.id}/waitlist" in text(answer)

    open_slot = create_slot(dummy_rink, kst("2026-03-11"))
    too_many = quote(client, token, open_slot, adult="11")
    assert too_many.status_code == 422
    assert field_error(too_many, "party") == (
        "예약 인원이 이 시설에서 받을 수 있는 범위를 벗어났습니다."
    )
    assert 'id="f-adult" name="adult" type="number"\n           value="11"' in text(too_many)

    not_a_number = quote(client, token, open_slot, adult="두 명")
    assert not_a_number.status_code == 422
    assert field_error(not_a_number, "adult") == "숫자로 입력해 주세요."

    not_open = create_slot(dummy_rink, kst("2026-03-20"))
    early = client.post(
        f"/facilities/slots/{not_open.id}/book", data={"adult": "1", "csrf_token": token}
    )
    assert early.status_code == 422
    assert field_error(early, "slot_id") == "아직 예약이 열리지 않은 회차입니다."
    assert "3월 6일 (금) 10:00부터 예약" in text(early)

    db.session.add(
        Suspension(
            user_id=resident.id,
            starts_at=now() - timedelta(days=1),
            ends_at=now() + timedelta(days=29),
            reason="3 no-shows",
        )
    )
    db.session.commit()
    suspended = client.post(
        f"/facilities/slots/{open_slot.id}/book", data={"adult": "1", "csrf_token": token}
    )
    assert suspended.status_code == 422
    assert "예약이 일시 정지되었습니다" in text(suspended).split('id="form-errors"')[1]
    assert bookings_count() == 0


def test_every_facilities_refusal_has_its_korean_text():
    root = Path(__file__).resolve().parents[2] / "facilities"
    codes = {
        code
        for path in root.rglob("*.py")
        for code in re.findall(r'code="([a-z_]+)"', path.read_text())
    }
    codes |= {"invalid_gate_key", "gate_key_required"}  # the gate's key (core.device_keys)
    assert {"slot_full", "booking_not_open", "booking_suspended", "active_limit"} <= codes
    untranslated = {
        code for code in codes if web.korean_message(DomainError("x", code=code)) == "x"
    }
    assert untranslated == set()


# --- the hold, payment and my bookings ------------------------------------------------


def pay(client, token, booking, status="paid", payment_id="test-0001"):
    return client.post(
        "/test-payment",
        data={
            "booking_id": booking.id,
            "payment_id": payment_id,
            "amount": booking.price,
            "status": status,
            "csrf_token": token,
        },
    )


def test_paying_on_the_test_payment_page_confirms_and_shows_the_qr_code(
    client, app, resident, rink_slot
):
    token = signed_in(client, resident, "/bookings")
    booking = book(resident, rink_slot, {"adult": 2, "child": 1})
    held = text(client.get(f"/bookings/{booking.id}"))
    assert "결제 대기" in held
    assert 'datetime="2026-03-02T01:15:00+00:00" data-countdown' in held
    assert f'href="/test-payment/{booking.id}"' in held
    sandbox = client.get(f"/test-payment/{booking.id}")
    assert sandbox.status_code == 200 and "12,500원" in text(sandbox)
    payment_id = re.search(r'name="payment_id" value="(test-[0-9a-f]{32})"', text(sandbox))[1]

    first = pay(client, token, booking, payment_id=payment_id)
    again = pay(client, token, booking, payment_id=payment_id)  # a double click: same payment
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == f"/bookings/{booking.id}"
    db.session.refresh(booking)
    assert booking.status == "confirmed" and booking.payment_reference == payment_id

    code = booking.check_in_code(app.config["SECRET_KEY"])
    qr = segno.make(code, error="m").svg_data_uri(scale=5, border=4)
    mine = text(client.get("/bookings"))
    assert f'<img src="{qr}" alt="예약 {booking.id}번 입장 확인용 QR 코드">' in mine
    assert "예약 확정" in mine


def test_a_failed_test_payment_releases_the_hold(client, resident, rink_slot):
    token = signed_in(client, resident, "/bookings")
    booking = book(resident, rink_slot, {"adult": 1})
    assert pay(client, token, booking, status="failed").status_code == 303
    db.session.refresh(booking)
    assert booking.status == "cancelled" and booking.refund_amount == 0
    assert "취소됨" in text(client.get(f"/bookings/{booking.id}"))


def test_the_test_payment_page_exists_only_in_development_and_testing(app):
    from core.app import create_app  # apps with other settings than the suite's

    production = create_app({**app.config, "APP_ENV": "production", "SECRET_KEY": "s" * 32})
    assert "facilities_sandbox" not in production.blueprints
    with production.test_client() as browser:
        assert browser.get("/test-payment/1").status_code == 404
        assert browser.post("/test-payment").status_code == 404
    development = create_app({**app.config, "APP_ENV": "development"})
    assert "facilities_sandbox" in development.blueprints
    assert "facilities_sandbox" in app.blueprints


def test_cancelling_shows_the_refund_before_and_after(client, resident, dummy_rink):
    token = signed_in(client, resident, "/bookings")
    slot = create_slot(dummy_rink, kst("2026-03-04"))  # two days ahead: 80% back
    booking = book(resident, slot, {"adult": 2})
    bookings.confirm(booking, now(), actor="payments", payment_reference="pg-1")
    db.session.commit()
    terms = client.get(f"/bookings/{booking.id}/cancel")
    assert terms.status_code == 200
    assert re.search(r'id="refund-amount">8,000원<', text(terms))
    db.session.refresh(booking)
    assert booking.status == "confirmed"  # looking changes nothing

    too_long = client.post(
        f"/bookings/{booking.id}/cancel", data={"reason": "가" * 201, "csrf_token": token}
    )
    assert too_long.status_code == 422
    assert field_error(too_long, "reason") == "200자 이하로 입력해 주세요."
    db.session.refresh(booking)
    assert booking.status == "confirmed"

    done = client.post(
        f"/bookings/{booking.id}/cancel", data={"reason": "일정 변경", "csrf_token": token}
    )
    assert done.status_code == 303 and done.headers["Location"] == f"/bookings/{booking.id}"
    db.session.refresh(booking)
    assert booking.status == "cancelled" and booking.refund_amount == 8000
    assert "8,000원" in text(client.get(f"/bookings/{booking.id}"))
    again = client.get(f"/bookings/{booking.id}/cancel")
    assert again.status_code == 409
    assert "취소할 수 없는 예약입니다" in text(again)


def test_cancelling_an_unpaid_hold_shows_nothing_to_refund(client, resident, rink_slot):
    signed_in(client, resident, "/bookings")
    booking = book(resident, rink_slot, {"adult": 1})
    page = text(client.get(f"/bookings/{booking.id}/cancel"))
    assert "환불할 금액이 없습니다" in page and 'id="refund-amount">0원<' in page


# --- waitlists ----------------------------------------------------------------------------


def test_a_full_sheet_offers_the_waitlist_and_one_joins_from_the_page(client, resident, sheet_slot):
    book(create_user(), sheet_slot, {"adult": 4})
    token = signed_in(client, resident, "/bookings")
    day = text(client.get(f"/facilities/{sheet_slot.facility_id}?date=2026-03-10"))
    assert "마감" in day and f"/facilities/slots/{sheet_slot.id}/waitlist" in day
    form = client.get(f"/facilities/slots/{sheet_slot.id}/waitlist")
    assert form.status_code == 200
    joined = client.post(
        f"/facilities/slots/{sheet_slot.id}/waitlist",
        data={"adult": "3", "child": "1", "csrf_token": token},
    )
    assert joined.status_code == 303 and joined.headers["Location"] == "/bookings#waiting"
    entry = db.session.scalars(select(WaitlistEntry)).one()
    assert entry.user_id == resident.id and entry.party == {"adult": 3, "child": 1}
    assert "대기 순번 <strong>1번</strong>" in text(client.get("/bookings"))

    twice = client.post(
        f"/facilities/slots/{sheet_slot.id}/waitlist", data={"adult": "3", "csrf_token": token}
    )
    assert twice.status_code == 422 and "이미 이 회차의 대기자 명단에 있습니다." in text(twice)

    left = client.post(
        f"/facilities/slots/{sheet_slot.id}/waitlist/leave", data={"csrf_token": token}
    )
    assert left.status_code == 303
    db.session.refresh(entry)
    assert entry.status == "left"


def test_a_free_waitlist_offer_is_accepted_from_my_bookings(client, resident, dummy_curling):
    slot = create_slot(dummy_curling[0], kst("2026-03-10", "19:00"), minutes=120, price=0)
    holder = create_user()
    taken = book(holder, slot, {"adult": 4})
    token = signed_in(client, resident, "/bookings")
    client.post(f"/facilities/slots/{slot.id}/waitlist", data={"adult": "2", "csrf_token": token})
    bookings.cancel(taken, holder, now())
    db.session.commit()
    offer = db.session.scalars(select(Booking).filter_by(user_id=resident.id)).one()
    assert offer.is_offer and offer.status == "held"
    mine = text(client.get("/bookings"))
    assert "기다리시던 자리가 났습니다" in mine and "수락하기" in mine
    accepted = client.post(f"/bookings/{offer.id}/accept", data={"csrf_token": token})
    assert accepted.status_code == 303
    db.session.refresh(offer)
    assert offer.status == "confirmed"


# --- calendars ----------------------------------------------------------------------------


def test_a_booking_downloads_as_ics_and_the_personal_feed_url_works(client, resident, rink_slot):
    token = signed_in(client, resident, "/bookings")
    booking = book(resident, rink_slot, {"adult": 1})
    ics = client.get(f"/bookings/{booking.id}/calendar.ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    assert "attachment" in ics.headers["Content-Disposition"]
    assert f"UID:booking-{booking.id}@" in text(ics)

    made = client.post("/bookings/calendar-feed", data={"csrf_token": token})
    assert made.status_code == 200
    url = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', text(made))[1]
    path = url.removeprefix("http://localhost")
    feed = client.get(path)
    assert feed.status_code == 200 and f"UID:booking-{booking.id}@" in text(feed)
    assert "구독 주소 끄기" in text(client.get("/bookings"))

    off = client.post("/bookings/calendar-feed/off", data={"csrf_token": token})
    assert off.status_code == 303
    assert client.get(path).status_code == 404
