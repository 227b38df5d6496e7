"""The facility managers' pages of the staff console over HTTP: sessions with occupancy, a
session's bookings with check-in by code, slot templates, closures previewed before they are
made (the same numbers the closure then has) and lifted, gates with their key shown once, the
occupancy report as an SVG chart with its table and as CSV for Excel; every action audited as
the API's; residents and other staff get the 403 page."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from core.extensions import db
from facilities.models import Booking, Closure, Gate, Slot, SlotTemplate
from facilities.services import checkin, enrolments
from tests.fixtures.facilities import book, create_programme, create_slot, kst, now
from tests.fixtures.pages import audited, field_error, log_in, signed_in, text
from tests.fixtures.users import create_user

SECRET = "test-checkin-secret"


def confirmed(manager, slot, party=None):
    """A booking paid at the counter: confirmed at once, as the manager's API makes it."""
    return book(manager, slot, party or {"adult": 2}, for_user=create_user(), confirm=True)


def secret(app) -> str:
    from core.settings import settings_of  # the app's settings, read as the pages read them
    from facilities.settings import FacilitySettings

    return settings_of(FacilitySettings).checkin_secret


@pytest.fixture
def facility_id(dummy_rink):
    return dummy_rink.facility_id


def pages_of(facility_id: int, slot_id: int) -> list[str]:
    return [
        "/staff/facilities/",
        f"/staff/facilities/{facility_id}/sessions",
        f"/staff/facilities/sessions/{slot_id}",
        f"/staff/facilities/{facility_id}/templates",
        f"/staff/facilities/{facility_id}/closures",
        f"/staff/facilities/{facility_id}/gates",
        f"/staff/facilities/{facility_id}/report?from=2026-03-01&to=2026-03-10",
    ]


@pytest.mark.parametrize("role", ["resident", "librarian", "archivist"])
def test_residents_and_other_staff_get_the_403_page(client, rink_slot, role):
    user = create_user((role,))
    log_in(client, user.email)
    for path in pages_of(rink_slot.facility_id, rink_slot.id):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "권한이 없습니다" in text(answer)


def test_their_actions_are_refused_too(client, rink_slot, manager):
    booking = confirmed(manager, rink_slot)
    librarian = create_user(("librarian",))
    token = signed_in(client, librarian)
    fid = rink_slot.facility_id
    for path, data in (
        (f"/staff/facilities/sessions/{rink_slot.id}/check-in", {"code": "x"}),
        (
            f"/staff/facilities/{fid}/closures",
            {"starts_at": "2026-03-10T00:00", "ends_at": "2026-03-11T00:00", "reason": "고장"},
        ),
        (f"/staff/facilities/{fid}/gates", {"name": "정문"}),
    ):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "confirmed"
    assert db.session.scalars(select(Closure)).all() == []
    assert db.session.scalars(select(Gate)).all() == []


def test_managers_and_admins_open_every_page(client, rink_slot, manager, admin):
    for person in (manager, admin):
        client = client.application.test_client()
        signed_in(client, person)
        for path in pages_of(rink_slot.facility_id, rink_slot.id):
            assert client.get(path).status_code == 200, path
    assert "시설 운영" in text(client.get("/staff/"))


# --- sessions and check-in ----------------------------------------------------------------


def test_the_day_and_week_show_each_sessions_occupancy(client, manager, dummy_rink, facility_id):
    evening = create_slot(dummy_rink, kst("2026-03-10", "18:00"), capacity=10)
    create_slot(dummy_rink, kst("2026-03-12", "18:00"), capacity=10)
    confirmed(manager, evening, {"adult": 3})
    confirmed(manager, evening, {"adult": 1})
    signed_in(client, manager)
    day = text(client.get(f"/staff/facilities/{facility_id}/sessions?date=2026-03-10"))
    row = re.search(rf'<tr id="slot-{evening.id}">(.*?)</tr>', day, re.S)[1]
    assert "4 / 10" in row and "40.0%" in row
    assert "이용률 40.0% (4 / 10)" in day
    week = text(client.get(f"/staff/facilities/{facility_id}/sessions?date=2026-03-09&view=week"))
    assert "3월 10일 (화)" in week and "3월 12일 (목)" in week and week.count('id="slot-') == 2
    refused = client.get(f"/staff/facilities/{facility_id}/sessions?date=nope")
    assert refused.status_code == 422
    assert field_error(refused, "date") == "올바른 날짜를 입력해 주세요."


def test_a_session_lists_its_bookings_and_checks_in_a_typed_code(
    client, app, clock, manager, rink_slot
):
    first = confirmed(manager, rink_slot, {"adult": 2, "child": 1})
    second = confirmed(manager, rink_slot)
    clock.at = kst("2026-03-10", "17:50")
    token = signed_in(client, manager)
    page = text(client.get(f"/staff/facilities/sessions/{rink_slot.id}"))
    assert page.index(f'id="booking-{first.id}"') < page.index(f'id="booking-{second.id}"')
    assert "성인 2명, 어린이 1명" in page and "예약 확정" in page

    code = checkin.code_for(first, secret(app))  # what the resident's QR code holds
    answer = client.post(
        f"/staff/facilities/sessions/{rink_slot.id}/check-in",
        data={"csrf_token": token, "code": code},
    )
    assert answer.status_code == 303
    shown = text(client.get(answer.headers["Location"]))
    assert f"입장 확인: 예약 {first.id}번" in shown
    assert re.search(rf'id="booking-{first.id}".*?입장 완료', shown, re.S)
    db.session.expire_all()
    assert db.session.get(Booking, first.id).status == "checked_in"
    (entry,) = audited("booking.check_in")
    assert entry.actor_id == manager.id and entry.target_id == str(first.id)

    again = client.post(
        f"/staff/facilities/sessions/{rink_slot.id}/check-in",
        data={"csrf_token": token, "code": code},
    )
    assert again.status_code == 422
    assert field_error(again, "code") == "이미 입장 확인된 예약입니다."


def test_check_in_refusals_are_shown_next_to_the_code(client, app, clock, manager, rink_slot):
    booking = confirmed(manager, rink_slot)
    token = signed_in(client, manager)
    url = f"/staff/facilities/sessions/{rink_slot.id}/check-in"
    empty = client.post(url, data={"csrf_token": token, "code": " "})
    assert empty.status_code == 422 and field_error(empty, "code") == "꼭 입력해 주세요."
    forged = client.post(url, data={"csrf_token": token, "code": "eyJiIjoxfQ.forged"})
    assert field_error(forged, "code") == "올바른 입장 코드가 아닙니다."
    early = client.post(
        url, data={"csrf_token": token, "code": checkin.code_for(booking, secret(app))}
    )
    assert early.status_code == 422
    assert field_error(early, "code").startswith("입장 확인은 시작 30분 전부터")
    assert audited("booking.check_in") == []


def test_no_shows_are_marked_on_the_session(client, clock, manager, rink_slot):
    booking = confirmed(manager, rink_slot)
    clock.at = kst("2026-03-10", "18:30")
    checkin.mark_no_shows(clock.at)
    db.session.commit()
    signed_in(client, manager)
    page = text(client.get(f"/staff/facilities/sessions/{rink_slot.id}"))
    assert re.search(rf'id="booking-{booking.id}".*?미입장', page, re.S)
    day = text(client.get(f"/staff/facilities/{rink_slot.facility_id}/sessions?date=2026-03-10"))
    assert "미입장 2" in day


# --- slot templates -----------------------------------------------------------------------


def test_a_template_is_made_from_the_form_and_slots_generated(client, manager, dummy_rink):
    token = signed_in(client, manager)
    fid = dummy_rink.facility_id
    url = f"/staff/facilities/{fid}/templates"
    answer = client.post(
        url,
        data={
            "csrf_token": token,
            "resource_id": dummy_rink.id,
            "name": "평일 저녁",
            "weekdays": ["0", "2"],
            "start_times": ["18:00", "20:00", "", ""],
            "duration_minutes": "90",
            "buffer_after_minutes": "15",
            "base_price": "5000",
        },
    )
    assert answer.status_code == 303
    assert "회차 틀 「평일 저녁」을 만들었습니다" in text(client.get(url))
    template = db.session.scalars(select(SlotTemplate)).one()
    assert (template.weekdays, template.start_times) == ([0, 2], ["18:00", "20:00"])
    assert len(audited("slot_template.create")) == 1

    made = client.post(
        f"/staff/facilities/{fid}/generate-slots", data={"csrf_token": token, "days": "7"}
    )
    assert made.status_code == 303
    db.session.expire_all()
    created = db.session.scalars(select(Slot).filter_by(template_id=template.id)).all()
    assert len(created) == 4  # Wed 4th and Mon 9th, two sessions each
    assert f"회차 {len(created)}개를 만들었습니다" in text(client.get(made.headers["Location"]))

    off = client.post(
        f"/staff/facilities/templates/{template.id}/active",
        data={"csrf_token": token, "active": "false"},
    )
    assert off.status_code == 303
    db.session.expire_all()
    assert db.session.get(SlotTemplate, template.id).active is False


def test_template_mistakes_are_shown_next_to_their_fields(client, manager, dummy_rink):
    token = signed_in(client, manager)
    answer = client.post(
        f"/staff/facilities/{dummy_rink.facility_id}/templates",
        data={
            "csrf_token": token,
            "resource_id": dummy_rink.id,
            "name": "겹치는 회차",
            "start_times": ["25:00"],
            "duration_minutes": "5",
            "base_price": "5000",
        },
    )
    assert answer.status_code == 422
    assert field_error(answer, "weekdays") == "꼭 입력해 주세요."
    assert field_error(answer, "start_times").startswith("시:분(24시간) 형식으로")
    assert field_error(answer, "duration_minutes") == "15에서 1440 사이여야 합니다."
    assert 'value="겹치는 회차"' in text(answer)  # what was typed stays
    overlapping = client.post(
        f"/staff/facilities/{dummy_rink.facility_id}/templates",
        data={
            "csrf_token": token,
            "resource_id": dummy_rink.id,
            "name": "겹치는 회차",
            "weekdays": "1",
            "start_times": ["18:00", "18:30"],
            "duration_minutes": "60",
            "base_price": "5000",
        },
    )
    assert overlapping.status_code == 422
    assert "회차 시간이 겹칩니다" in text(overlapping)
    assert db.session.scalars(select(SlotTemplate)).all() == []


# --- closures -----------------------------------------------------------------------------


@pytest.fixture
def evening_with_bookings(manager, dummy_rink):
    """Tuesday 10 March 18:00: two paid bookings (5,000원 a person) and one held."""
    slot = create_slot(dummy_rink, kst("2026-03-10", "18:00"))
    confirmed(manager, slot, {"adult": 2})
    confirmed(manager, slot, {"adult": 1})
    book(create_user(), slot, {"adult": 1})  # held, unpaid
    create_slot(dummy_rink, kst("2026-03-11", "18:00"))
    return slot


CLOSURE = {"starts_at": "2026-03-10T17:00", "ends_at": "2026-03-10T23:00", "reason": "제빙기 고장"}


def test_a_closure_is_previewed_then_made_with_the_same_numbers(
    client, manager, evening_with_bookings
):
    fid = evening_with_bookings.facility_id
    token = signed_in(client, manager)
    preview = client.post(
        f"/staff/facilities/{fid}/closures/preview", data={"csrf_token": token, **CLOSURE}
    )
    assert preview.status_code == 200
    shown = text(preview)
    assert re.search(r'id="preview-slots">1개<', shown)
    assert re.search(r'id="preview-bookings">3건 \(4명\)<', shown)
    assert re.search(r'id="preview-refund">15,000원<', shown)
    # Nothing happened yet; the confirming form carries what was typed.
    assert db.session.scalars(select(Closure)).all() == []
    assert 'name="starts_at" value="2026-03-10T17:00"' in shown

    made = client.post(f"/staff/facilities/{fid}/closures", data={"csrf_token": token, **CLOSURE})
    assert made.status_code == 303
    page = text(client.get(made.headers["Location"]))
    closure = db.session.scalars(select(Closure)).one()
    assert (closure.slots_closed, closure.bookings_cancelled) == (1, 3)
    assert re.search(r'id="closure-refund">15,000원<', page)
    assert page.count('id="cancelled-') == 3 and "취소됨" in page
    bookings = db.session.scalars(select(Booking).order_by(Booking.id)).all()
    assert [b.status for b in bookings] == ["cancelled"] * 3
    assert [b.refund_amount for b in bookings] == [10000, 5000, 0]
    (entry,) = audited("closure.create")
    assert entry.actor_id == manager.id and entry.after["refund_total"] == 15000


def test_a_closure_preview_shows_the_lessons_it_cancels_and_their_refunds(
    client, manager, dummy_rink
):
    programme = create_programme(manager, dummy_rink, capacity=3)
    for i in range(2):
        application = enrolments.apply(
            create_user(), programme.id, now=now(), category="adult", birth_year=1990
        )
        enrolments.confirm_payment(
            application.id, now(), actor="payments", payment_reference=f"s{i}"
        )
    db.session.commit()
    token = signed_in(client, manager)
    week = {"starts_at": "2026-04-06T00:00", "ends_at": "2026-04-10T00:00", "reason": "제빙기 고장"}
    fid = dummy_rink.facility_id
    preview = client.post(
        f"/staff/facilities/{fid}/closures/preview", data={"csrf_token": token, **week}
    )
    assert preview.status_code == 200
    shown = text(preview)
    each = 120000 * 2 // 9
    assert re.search(r'id="preview-lessons">2회 \(수강생 2명\)<', shown)
    assert re.search(rf'id="preview-lesson-refund">{2 * each:,}원<', shown)
    assert "스케이트 초급 성인반" in shown and "4월 7일 (화) 19:00" in shown
    made = client.post(f"/staff/facilities/{fid}/closures", data={"csrf_token": token, **week})
    assert made.status_code == 303
    (entry,) = audited("closure.create")
    assert entry.after["programme_refund_total"] == 2 * each


def test_a_closure_form_with_mistakes_keeps_what_was_typed(client, manager, dummy_rink):
    token = signed_in(client, manager)
    fid = dummy_rink.facility_id
    answer = client.post(
        f"/staff/facilities/{fid}/closures/preview",
        data={
            "csrf_token": token,
            "starts_at": "2026-03-10T18:00",
            "ends_at": "2026-03-10T17:00",
            "reason": "정비",
        },
    )
    assert answer.status_code == 422
    assert field_error(answer, "ends_at") == "시작보다 뒤여야 합니다."
    assert 'value="2026-03-10T18:00"' in text(answer) and 'value="정비"' in text(answer)
    blank = client.post(
        f"/staff/facilities/{fid}/closures/preview",
        data={"csrf_token": token, **CLOSURE, "reason": " "},
    )
    assert blank.status_code == 422 and field_error(blank, "reason") == "꼭 입력해 주세요."
    other = client.post(
        f"/staff/facilities/{fid}/closures/preview",
        data={"csrf_token": token, **CLOSURE, "resource_id": "999999"},
    )
    assert other.status_code == 422
    assert field_error(other, "resource_id") == "찾는 내용이 없습니다."


def test_a_closure_is_lifted_once(client, manager, evening_with_bookings):
    fid = evening_with_bookings.facility_id
    token = signed_in(client, manager)
    client.post(f"/staff/facilities/{fid}/closures", data={"csrf_token": token, **CLOSURE})
    closure = db.session.scalars(select(Closure)).one()
    lifted = client.post(
        f"/staff/facilities/closures/{closure.id}/lift", data={"csrf_token": token}
    )
    assert lifted.status_code == 303
    assert "회차 1개가 다시 열렸습니다" in text(client.get(lifted.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(Slot, evening_with_bookings.id).status == "open"
    assert len(audited("closure.lift")) == 1
    again = client.post(f"/staff/facilities/closures/{closure.id}/lift", data={"csrf_token": token})
    assert "이미 해제된 휴장입니다" in text(client.get(again.headers["Location"]))
    assert len(audited("closure.lift")) == 1


# --- gates --------------------------------------------------------------------------------


def test_a_gates_key_is_shown_once_and_works_until_revoked(client, app, clock, manager, rink_slot):
    clock.at = kst("2026-03-10", "17:50")  # the session's check-in is open
    booking = confirmed(manager, rink_slot)
    fid = rink_slot.facility_id
    token = signed_in(client, manager)
    answer = client.post(
        f"/staff/facilities/{fid}/gates", data={"csrf_token": token, "name": "정문"}
    )
    assert answer.status_code == 201
    key = re.search(r'<code class="key">([^<]+)</code>', text(answer))[1]
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert key not in text(client.get(f"/staff/facilities/{fid}/gates"))
    assert len(audited("gate.create")) == 1

    code = checkin.code_for(booking, secret(app))
    used = client.post(
        "/api/check-ins", json={"code": code}, headers={"Authorization": f"Gate {key}"}
    )
    assert used.status_code == 200 and used.json["status"] == "checked_in"

    gate = db.session.scalars(select(Gate)).one()
    revoked = client.post(f"/staff/facilities/gates/{gate.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert "키를 사용 중지했습니다" in text(client.get(revoked.headers["Location"]))
    refused = client.post(
        "/api/check-ins", json={"code": code}, headers={"Authorization": f"Gate {key}"}
    )
    assert refused.status_code == 401
    assert len(audited("gate.revoke")) == 1

    nameless = client.post(f"/staff/facilities/{fid}/gates", data={"csrf_token": token, "name": ""})
    assert nameless.status_code == 422 and field_error(nameless, "name") == "꼭 입력해 주세요."


# --- the occupancy report -----------------------------------------------------------------


@pytest.fixture
def booked_days(manager, dummy_rink):
    morning = create_slot(dummy_rink, kst("2026-03-10", "10:00"), capacity=10)
    create_slot(dummy_rink, kst("2026-03-11", "18:00"), capacity=10)
    confirmed(manager, morning, {"adult": 3})
    return dummy_rink


def test_the_report_is_an_accessible_svg_chart_with_its_table(client, manager, booked_days):
    signed_in(client, manager)
    fid = booked_days.facility_id
    first = client.get(f"/staff/facilities/{fid}/report")
    assert first.status_code == 302 and "from=2026-02-24&to=2026-03-02" in first.headers["Location"]
    page = text(client.get(f"/staff/facilities/{fid}/report?from=2026-03-10&to=2026-03-11"))
    svg = re.search(r"<svg[^>]*>.*?</svg>", page, re.S)[0]
    assert 'role="img"' in svg and 'aria-labelledby="chart-title chart-desc"' in svg
    assert '<title id="chart-title">' in svg and "3/10 30.0%, 3/11 0.0%" in svg
    assert svg.count('class="bar"') == 2
    table = re.search(r'<table id="report-table">.*?</table>', page, re.S)[0]
    assert "3월 10일 (화)" in table and "30.0%" in table

    wrong = client.get(f"/staff/facilities/{fid}/report?from=2026-03-11&to=2026-03-10")
    assert wrong.status_code == 422 and field_error(wrong, "to") == "시작일보다 뒤여야 합니다."
    too_long = client.get(f"/staff/facilities/{fid}/report?from=2026-01-01&to=2026-03-10")
    assert field_error(too_long, "to") == "한 번에 31일까지 볼 수 있습니다."


def test_the_csv_starts_with_a_bom_for_excel(client, manager, booked_days):
    signed_in(client, manager)
    fid = booked_days.facility_id
    answer = client.get(f"/staff/facilities/{fid}/report.csv?from=2026-03-10&to=2026-03-11")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    raw = answer.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(r["date"], r["resource"], r["booked"]) for r in rows] == [
        ("2026-03-10", "메인 링크", "3"),
        ("2026-03-11", "메인 링크", "0"),
    ]
