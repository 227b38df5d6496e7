"""A resident applies for a children's lesson programme in a real browser: adds a child on
the dependents page, finds the programme, applies for the child, sees the result and the
application on the my-bookings page, and withdraws it after confirming. Every page passes
axe-core.

The live server keeps the real time, so the window is open now and the term is next month."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core.extensions import db
from facilities.models import Application, Dependent
from tests.fixtures.facilities import SEOUL, create_facility, create_programme, create_resource
from tests.fixtures.users import create_user

pytestmark = pytest.mark.slow


def test_a_resident_adds_a_child_applies_sees_it_and_withdraws(page):
    rink = create_facility("ice_rink", name="해피시티 아이스링크")
    main_rink = create_resource(rink, name="메인 링크", capacity=150)
    manager = create_user(("facility_manager",), name="최관리")
    today = datetime.now(SEOUL)
    term_start = (today.date().replace(day=1) + timedelta(days=32)).replace(day=1)
    programme = create_programme(
        manager,
        main_rink,
        title="어린이 스케이트 초급반",
        min_age=6,
        max_age=12,
        term_start=term_start,
        term_end=term_start + timedelta(days=27),
        window_opens_at=today - timedelta(hours=1),
        window_closes_at=today + timedelta(days=3),
    )
    db.session.commit()

    page.open("/register").check()
    page.fill(name="김시민", email="simin@example.kr", password="푸른 하늘 은하수 하얀 쪽배")
    page.submit()
    assert page.path == "/"

    page.submit("nav a[href='/programmes']")
    assert page.find("h1").text == "강습"
    assert "어린이 스케이트 초급반" in page.text and "선착순" in page.text
    page.check()

    page.submit("main a[href='/profile/dependents']")
    assert page.find("h1").text == "가족 관리"
    page.check()
    page.fill(name="김하늘", birth_year=term_start.year - 8).submit()
    assert page.path == "/profile/dependents"
    assert f"김하늘 ({term_start.year - 8}년생)" in page.text
    page.check()
    child = db.session.scalars(select(Dependent)).one()

    page.open("/programmes?age=8&open=true")
    assert "강습 1개" in page.text
    page.check()
    page.submit(f"main a[href='/programmes/{programme.id}']")
    assert page.find("h1").text == "어린이 스케이트 초급반"
    page.check()
    page.fill(dependent_id=child.id, category="child").submit()
    application = db.session.scalars(select(Application)).one()
    assert page.path == f"/programmes/applications/{application.id}"
    assert page.find("#application-number").text == str(application.id)
    assert application.status == "held" and application.dependent_id == child.id
    assert "결제 대기" in page.text and "80,000원" in page.text
    page.check()

    page.submit("main a[href='/bookings#programmes']")
    assert "어린이 스케이트 초급반" in page.text and f"신청 번호 {application.id}" in page.text
    page.check()
    page.submit(f"main a[href='/programmes/applications/{application.id}/withdraw']")
    assert page.find("h1").text == "신청 취소"
    page.check()
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == "held"
    page.submit("main form button.danger")
    assert page.path == "/bookings#programmes"
    assert "신청한 강습이 없습니다" in page.text
    page.check()
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == "withdrawn"
