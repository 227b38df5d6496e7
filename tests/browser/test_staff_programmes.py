"""The managers' programme pages in a real browser: a facility manager creates a programme
with the form, lands on its page with its sessions, and sees it listed with its places; the
report and a session's attendance page open. Every page passes axe-core.

The live server keeps the real time, so the term and the window are set from today."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core.extensions import db
from facilities.models import Programme
from tests.fixtures.facilities import SEOUL, create_facility, create_resource
from tests.fixtures.users import PASSWORD, create_user

pytestmark = pytest.mark.slow


def log_in(page, user) -> None:
    page.open("/login").fill(email=user.email, password=PASSWORD).submit()
    assert user.name in page.find(".account").text


def set_value(page, name: str, value: str) -> None:
    """Date and datetime-local inputs take their value as the browser's locale types it; set
    it whole."""
    page.driver.execute_script(
        "arguments[0].value = arguments[1];", page.find(f"[name='{name}']"), value
    )


def test_a_manager_creates_a_programme_and_sees_it_listed(page):
    rink = create_facility("ice_rink", name="해피시티 아이스링크")
    main_rink = create_resource(rink, name="메인 링크", capacity=150)
    manager = create_user(("facility_manager",), name="최관리")
    today = datetime.now(SEOUL).date()
    term_start = today + timedelta(days=30)

    log_in(page, manager)
    page.open(f"/staff/facilities/{rink.id}/programmes")
    assert "강습이 없습니다" in page.text
    page.check()
    page.fill(
        resource_id=str(main_rink.id),
        title="스케이트 초급 성인반",
        level="beginner",
        instructor="김코치",
        min_age="19",
        max_age="99",
        capacity="20",
        price_adult="120000",
        start_time="19:00",
        duration_minutes="50",
        rink_places="30",
        enrolment="first_come",
    )
    set_value(page, "window_opens_at", f"{(today + timedelta(days=1)).isoformat()}T10:00")
    set_value(page, "window_closes_at", f"{(today + timedelta(days=10)).isoformat()}T18:00")
    set_value(page, "term_start", term_start.isoformat())
    set_value(page, "term_end", (term_start + timedelta(days=27)).isoformat())
    page.find("#weekday-1").click()
    page.find("#weekday-3").click()
    page.submit()
    db.session.commit()
    programme = db.session.scalars(select(Programme)).one()
    assert page.path == f"/staff/facilities/programmes/{programme.id}"
    assert page.find("h1").text == "스케이트 초급 성인반"
    assert page.find("#programme-enrolled").text == "0 / 20"
    sessions = page.find_all("#programme-sessions li")
    assert len(sessions) >= 6  # Tuesdays and Thursdays of four weeks, less any holiday
    page.check()

    page.open(f"/staff/facilities/{rink.id}/programmes")
    row = page.find(f"#programme-{programme.id}").text
    assert "스케이트 초급 성인반" in row and "0 / 20" in row and "0명" in row
    page.check()
    page.open(f"/staff/facilities/{rink.id}/programme-report").check()
    page.open(f"/staff/facilities/programmes/{programme.id}")
    page.submit("#programme-sessions li a")
    assert page.find("#participants").text == "0명"
    page.check()
