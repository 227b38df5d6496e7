"""A resident books the rink in a real browser: the party and its price before confirming,
the hold, the local test payment page, the booking with its QR code, cancelling with the
refund shown; a full curling sheet offers its waitlist. Every page passes axe-core.

The live server keeps the real time, so the sessions are made a few days from today."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from core.extensions import db
from facilities.models import Booking, WaitlistEntry
from tests.fixtures.facilities import SEOUL, create_facility, create_resource, create_slot, kst

pytestmark = pytest.mark.slow


def _in_days(days: int) -> date:
    return datetime.now(SEOUL).date() + timedelta(days=days)


def test_a_resident_books_pays_sees_the_qr_code_and_cancels(page):
    rink = create_facility("ice_rink", name="해피시티 아이스링크")
    main_rink = create_resource(rink, name="메인 링크", capacity=150)
    # Three days ahead: bookable (from 14 days before), and cancelling refunds 80%.
    day = _in_days(3)
    slot = create_slot(main_rink, kst(day, "18:00"), price=5000)

    page.open("/register").check()
    page.fill(name="김하늘", email="haneul@example.kr", password="푸른 하늘 은하수 하얀 쪽배")
    page.submit()
    assert page.path == "/"
    assert "해피시티 아이스링크" in page.find(".home-panel").text
    page.check()

    page.submit("a[href='/facilities']")
    assert page.find("h1").text == "시설 예약"
    page.check()
    page.submit(f"main a[href='/facilities/{rink.id}']")
    page.check()
    page.open(f"/facilities/{rink.id}?date={day.isoformat()}&view=week")
    assert "150 / 150명" in page.text
    page.check()
    page.open(f"/facilities/{rink.id}?date={day.isoformat()}")
    page.check()

    page.submit(f"a[href='/facilities/slots/{slot.id}/book']")
    assert page.find("h1").text == "예약하기"
    page.check()
    page.fill(adult=2, child=1).submit()
    # The price, discounts applied, before anything is booked.
    assert page.find("h1").text == "요금 확인"
    assert page.find("#quote-total").text == "12,500원"
    assert "어린이 할인 50%" in page.text
    page.check()
    db.session.commit()
    assert db.session.scalars(select(Booking)).all() == []

    page.submit("main form button[type=submit]")
    booking = db.session.scalars(select(Booking)).one()
    assert page.path == f"/bookings/{booking.id}"
    assert booking.status == "held" and booking.price == 12500
    assert "결제 대기" in page.text
    assert "분" in page.find("time[data-countdown]").text  # counting down
    page.check()

    page.submit(f"a[href='/test-payment/{booking.id}']")
    assert page.find("h1").text == "시험 결제"
    page.check()
    page.submit("main form button.primary")  # 결제 승인
    assert page.path == f"/bookings/{booking.id}"
    assert "예약 확정" in page.text
    page.check()

    page.open("/bookings")
    qr = page.find(f"#booking-{booking.id} img")
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    assert qr.get_attribute("alt") == f"예약 {booking.id}번 입장 확인용 QR 코드"
    assert page.driver.execute_script("return arguments[0].naturalWidth", qr) > 100
    page.check()

    page.submit(f"a[href='/bookings/{booking.id}/cancel']")
    assert page.find("#refund-amount").text == "10,000원"
    page.check()
    page.submit("main form button[type=submit]")
    assert page.path == f"/bookings/{booking.id}"
    assert "취소됨" in page.text
    assert page.find(".refund-amount").text == "10,000원"
    page.check()


def test_a_full_curling_sheet_offers_the_waitlist(page):
    curling = create_facility("curling_centre", name="해피시티 컬링센터", rules={"max_party": 8})
    sheet = create_resource(curling, name="A시트")
    day = _in_days(4)
    full = create_slot(sheet, kst(day, "19:00"), minutes=120, price=40000, booked=1)

    page.open("/register")
    page.fill(name="이바람", email="baram@example.kr", password="푸른 하늘 은하수 하얀 쪽배")
    page.submit()
    page.open(f"/facilities/{curling.id}?date={day.isoformat()}")
    row = page.find(f"#slot-{full.id}")
    assert "마감" in row.text
    page.check()

    page.submit(f"#slot-{full.id} a[href='/facilities/slots/{full.id}/waitlist']")
    assert page.find("h1").text == "대기 신청"
    page.check()
    page.fill(adult=4).submit()
    assert page.path == "/bookings#waiting"
    assert "대기 순번 1번" in page.text
    page.check()
    db.session.commit()
    entry = db.session.scalars(select(WaitlistEntry)).one()
    assert entry.party == {"adult": 4} and entry.status == "waiting"
