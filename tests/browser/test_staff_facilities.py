"""The staff console's facility and admin pages in a real browser: a facility manager closes a
session that has bookings (the preview shows how many are cancelled and what is refunded,
then the closure is confirmed) and sees them cancelled and refunded; an admin gives a role and
reads the audit log and the job queue; a resident opens no /staff/ page (the 403 page). Every
page passes axe-core.

The live server keeps the real time, so the sessions are made a few days from today."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import AuditLog, User
from facilities.models import Booking, Closure
from tests.fixtures.facilities import (
    SEOUL,
    book,
    create_facility,
    create_resource,
    create_slot,
    kst,
)
from tests.fixtures.users import PASSWORD, create_user

pytestmark = pytest.mark.slow


def log_in(page, user) -> None:
    page.open("/login").fill(email=user.email, password=PASSWORD).submit()
    assert user.name in page.find(".account").text


def set_datetime(page, name: str, value: str) -> None:
    """A datetime-local input takes its value as the browser's locale types it; set it whole."""
    page.driver.execute_script(
        "arguments[0].value = arguments[1];", page.find(f"[name='{name}']"), value
    )


def test_a_manager_closes_a_booked_session_and_sees_the_refunds(page):
    rink = create_facility("ice_rink", name="해피시티 아이스링크")
    main_rink = create_resource(rink, name="메인 링크", capacity=150)
    day = datetime.now(SEOUL).date() + timedelta(days=3)
    slot = create_slot(main_rink, kst(day, "18:00"), price=5000)
    manager = create_user(("facility_manager",), name="최관리")
    paid = [
        book(manager, slot, {"adult": 2}, for_user=create_user(name="김하늘"), confirm=True),
        book(manager, slot, {"adult": 1}, for_user=create_user(name="이바람"), confirm=True),
    ]

    log_in(page, manager)
    page.open("/staff/").check()
    page.submit("main a[href='/staff/facilities/']")
    assert page.find("h1").text == "시설 운영"
    page.check()
    page.open(f"/staff/facilities/{rink.id}/sessions?date={day.isoformat()}")
    assert "3 / 150" in page.find(f"#slot-{slot.id}").text
    page.check()
    page.open(f"/staff/facilities/{rink.id}/sessions?date={day.isoformat()}&view=week").check()
    page.submit(f"#slot-{slot.id} a")
    assert page.path == f"/staff/facilities/sessions/{slot.id}"
    assert "김하늘" in page.text and "이바람" in page.text
    page.check()
    page.fill(code="not-a-code").submit()
    assert page.find("#f-code-error").text == "올바른 입장 코드가 아닙니다."
    page.check()
    for path in ("templates", "gates", "report"):
        page.open(f"/staff/facilities/{rink.id}/{path}").check()
    page.open(f"/staff/facilities/{rink.id}/report?from={day.isoformat()}&to={day.isoformat()}")
    assert "2.0%" in page.find("svg.occupancy-chart desc").get_attribute("textContent")
    page.check()

    page.open(f"/staff/facilities/{rink.id}/closures").check()
    set_datetime(page, "starts_at", f"{day.isoformat()}T00:00")
    set_datetime(page, "ends_at", f"{(day + timedelta(days=1)).isoformat()}T00:00")
    page.fill(reason="제빙기 고장").submit()
    assert page.find("h1").text == "휴장 확인"
    assert page.find("#preview-bookings").text == "2건 (3명)"
    assert page.find("#preview-refund").text == "15,000원"
    page.check()
    db.session.commit()
    assert db.session.scalars(select(Closure)).all() == []  # nothing done before confirming

    page.submit()  # 휴장 등록
    closure = db.session.scalars(select(Closure)).one()
    assert page.path == f"/staff/facilities/closures/{closure.id}"
    assert page.find("#closure-bookings").text == "2건"
    assert page.find("#closure-refund").text == "15,000원"
    for booking in paid:
        assert "취소됨" in page.find(f"#cancelled-{booking.id}").text
    page.check()
    db.session.commit()
    assert {b.status for b in db.session.scalars(select(Booking))} == {"cancelled"}
    assert sorted(b.refund_amount for b in db.session.scalars(select(Booking))) == [5000, 10000]

    page.open(f"/staff/facilities/sessions/{slot.id}")
    assert "환불 10,000원" in page.find(f"#booking-{paid[0].id}").text
    page.check()


def test_an_admin_gives_a_role_and_a_resident_opens_no_staff_page(page):
    admin = create_user(("admin",), name="관리자")
    resident = create_user(("resident",), name="김시민")

    log_in(page, admin)
    page.open("/staff/admin/users").check()
    page.submit(f"#user-{resident.id} a")
    assert page.find("h1").text == "김시민"
    page.check()
    page.find("#role-librarian").click()
    page.submit()  # 권한 저장
    assert "권한을 사서, 시민(으)로 바꿨습니다" in page.text
    page.check()
    db.session.commit()
    assert db.session.get(User, resident.id).roles == ["librarian", "resident"]
    page.open(f"/staff/admin/audit?target_type=user&target_id={resident.id}")
    assert "user.set_roles" in page.text
    page.check()
    page.open("/staff/admin/jobs").check()
    db.session.commit()
    assert db.session.scalars(select(AuditLog).filter_by(action="user.set_roles")).one()

    outsider = create_user(("resident",), name="박주민")
    page.submit(".account button[type=submit]")  # 로그아웃
    log_in(page, outsider)
    assert "업무" not in page.find(".site-header nav").text
    for path in ("/staff/", "/staff/facilities/", "/staff/admin/users", "/staff/admin/jobs"):
        page.open(path)
        assert page.find("h1").text == "권한이 없습니다", path
    page.check()
