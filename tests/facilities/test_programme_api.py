"""The programme and lottery doors: JSON API (residents, machines, managers), the signed
payment callback, the lottery-verify command, and applications racing over real HTTP."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select, text

from core.extensions import db
from core.security import hmac_sha256
from facilities import jobs
from facilities.models import Application, Lottery
from tests.fixtures.facilities import (
    create_facility,
    create_programme,
    create_resource,
    kst,
)
from tests.fixtures.pages import log_in
from tests.fixtures.users import auth_headers, create_user

BODY = {
    "title": "스케이트 초급 성인반",
    "level": "beginner",
    "min_age": 19,
    "max_age": 99,
    "term_start": "2026-04-01",
    "term_end": "2026-04-30",
    "weekdays": [1, 3],
    "start_time": "19:00",
    "duration_minutes": 50,
    "capacity": 20,
    "prices": {"adult": 120000},
    "enrolment": "lottery",
    "window_opens_at": "2026-03-03T10:00:00+09:00",
    "window_closes_at": "2026-03-10T18:00:00+09:00",
    "rink_places": 30,
}


def _body(resource, **changes):
    return {**BODY, "facility_id": resource.facility_id, "resource_id": resource.id, **changes}


def test_managers_create_programmes_and_residents_cannot(client, manager, resident, dummy_rink):
    refused = client.post("/api/programmes", json=_body(dummy_rink), headers=auth_headers(resident))
    assert refused.status_code == 403
    created = client.post("/api/programmes", json=_body(dummy_rink), headers=auth_headers(manager))
    assert created.status_code == 201, created.json
    body = created.json
    assert body["sessions"] == 9 and body["remaining"] == 20 and body["lottery_id"]
    assert body["window"]["state"] == "not_open"
    assert body["first_session"].startswith("2026-04-02T19:00:00+09:00")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"term_end": "2026-03-01"}, "term_end"),
        ({"prices": {"martian": 1}}, "prices"),
        ({"prices": {}}, "prices"),
        ({"min_age": 50, "max_age": 10}, "min_age"),
        ({"min_enrolment": 30}, "min_enrolment"),
        ({"window_closes_at": "2026-03-01T10:00:00+09:00"}, "window_closes_at"),
        ({"weekdays": [7]}, "weekdays"),
        ({"enrolment": "bribe"}, "enrolment"),
        ({"start_time": "25:00"}, "start_time"),
        ({"priority_groups": ["everyone", "resident"]}, "priority_groups"),
        ({"resource_id": 999999}, "resource_id"),
    ],
)
def test_bad_programmes_are_refused_naming_the_field(client, manager, dummy_rink, changes, field):
    answer = client.post(
        "/api/programmes", json=_body(dummy_rink, **changes), headers=auth_headers(manager)
    )
    assert answer.status_code in (404, 422), answer.json
    assert field in json.dumps(answer.json.get("errors", {})), answer.json
    assert db.session.scalar(text("SELECT count(*) FROM facilities_programme")) == 0


def test_listing_and_one_programme_are_public(client, manager, dummy_rink):
    programme = create_programme(manager, dummy_rink)
    listed = client.get("/api/programmes?age=30&open=true")
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json] == [programme.id]
    assert client.get("/api/programmes?age=5").json == []
    one = client.get(f"/api/programmes/{programme.id}")
    assert one.json["prices"] == {"adult": 120000, "child": 80000}
    assert client.get("/api/programmes/999999").status_code == 404


def test_managers_edit_under_the_same_path(client, manager, resident, dummy_rink):
    programme = create_programme(manager, dummy_rink)
    path = f"/api/programmes/{programme.id}"
    assert (
        client.patch(path, json={"title": "x"}, headers=auth_headers(resident)).status_code == 403
    )
    edited = client.patch(
        path, json={"instructor": "박코치", "capacity": 5}, headers=auth_headers(manager)
    )
    assert edited.status_code == 200 and edited.json["capacity"] == 5
    frozen = client.patch(path, json={"prices": {"adult": 1}}, headers=auth_headers(manager))
    assert frozen.status_code == 422 and frozen.json["code"] == "window_opened"


def test_apply_list_and_withdraw(client, manager, resident, dummy_rink):
    programme = create_programme(manager, dummy_rink)
    headers = auth_headers(resident)
    path = f"/api/programmes/{programme.id}/applications"
    missing = client.post(path, json={"category": "adult"}, headers=headers)
    assert missing.status_code == 422 and "birth_year" in missing.json["errors"]
    created = client.post(path, json={"category": "adult", "birth_year": 1990}, headers=headers)
    assert created.status_code == 201
    number = created.json["number"]
    assert created.json["status"] == "held" and created.json["price"] == 120000
    again = client.post(path, json={"category": "adult", "birth_year": 1990}, headers=headers)
    assert again.status_code == 409 and again.json["code"] == "already_applied"
    mine = client.get("/api/me/applications", headers=headers).json
    assert [a["number"] for a in mine] == [number]
    other = auth_headers(create_user())
    assert client.delete(f"/api/me/applications/{number}", headers=other).status_code == 404
    gone = client.delete(f"/api/me/applications/{number}", headers=headers)
    assert gone.status_code == 200 and gone.json["status"] == "withdrawn"


def test_a_retried_application_gets_its_first_answer(client, manager, resident, dummy_rink):
    """A phone that lost the answer sends again with the same Idempotency-Key: the same 201,
    the same number, one application; the key reused for another application is refused."""
    programme = create_programme(manager, dummy_rink)
    path = f"/api/programmes/{programme.id}/applications"
    headers = {**auth_headers(resident), "Idempotency-Key": "apply-1"}
    body = {"category": "adult", "birth_year": 1990}
    first = client.post(path, json=body, headers=headers)
    assert first.status_code == 201
    again = client.post(path, json=body, headers=headers)
    assert again.status_code == 201 and again.json == first.json
    other = client.post(path, json={**body, "birth_year": 1991}, headers=headers)
    assert other.status_code == 409 and other.json["code"] == "idempotency_key_reused"
    fresh_key = {**headers, "Idempotency-Key": "apply-2"}
    refused = client.post(path, json=body, headers=fresh_key)
    assert refused.status_code == 409 and refused.json["code"] == "already_applied"
    assert len(client.get("/api/me/applications", headers=headers).json) == 1
    too_long = client.post(path, json=body, headers={**headers, "Idempotency-Key": "k" * 201})
    assert too_long.status_code == 422 and "Idempotency-Key" in too_long.json["errors"]


def test_a_guardian_applies_for_a_dependent(client, manager, resident, dummy_rink):
    programme = create_programme(manager, dummy_rink, min_age=7, max_age=12)
    headers = auth_headers(resident)
    child = client.post(
        "/api/me/dependents", json={"name": "김하늘", "birth_year": 2018}, headers=headers
    )
    assert child.status_code == 201
    assert client.get("/api/me/dependents", headers=headers).json == [child.json]
    applied = client.post(
        f"/api/programmes/{programme.id}/applications",
        json={"category": "child", "dependent_id": child.json["id"]},
        headers=headers,
    )
    assert applied.status_code == 201 and applied.json["participant_name"] == "김하늘"


def test_the_lottery_page_publishes_the_commitment_then_the_draw(
    client, app, manager, dummy_rink, clock
):
    programme = create_programme(
        manager,
        dummy_rink,
        enrolment="lottery",
        capacity=2,
        window_opens_at=kst("2026-03-03", "10:00"),
        window_closes_at=kst("2026-03-05", "18:00"),
    )
    lottery_id = client.get(f"/api/programmes/{programme.id}").json["lottery_id"]
    before = client.get(f"/api/lotteries/{lottery_id}").json
    assert before["state"] == "scheduled" and before["seed"] is None
    assert client.get(f"/api/lotteries/{lottery_id}/verification").status_code == 409
    clock.at = kst("2026-03-04", "10:00")
    numbers = []
    for _ in range(5):
        answer = client.post(
            f"/api/programmes/{programme.id}/applications",
            json={"category": "adult", "birth_year": 1980},
            headers=auth_headers(create_user()),
        )
        assert answer.status_code == 201 and answer.json["status"] == "applied"
        numbers.append(answer.json["number"])
    clock.at = kst("2026-03-05", "18:00")
    jobs.draw_lotteries_now()
    db.session.commit()
    after = client.get(f"/api/lotteries/{lottery_id}").json
    assert after["state"] == "drawn" and after["commitment"] == before["commitment"]
    assert sorted(after["order"]) == numbers
    assert {a["number"] for a in after["published_applications"]} == set(numbers)
    verified = client.get(f"/api/lotteries/{lottery_id}/verification").json
    assert verified["ok"] is True

    runner = app.test_cli_runner()
    matches = runner.invoke(args=["facilities", "lottery-verify", str(lottery_id)])
    assert matches.exit_code == 0, matches.output
    assert "matches" in matches.output and json.loads(matches.output.splitlines()[0])["ok"]
    # Someone moves an application to another group behind the service's back.
    db.session.execute(
        text("UPDATE facilities_application SET tickets = 2 WHERE id = :id"), {"id": numbers[0]}
    )
    db.session.commit()
    tampered = runner.invoke(args=["facilities", "lottery-verify", str(lottery_id)])
    assert tampered.exit_code == 1 and "DOES NOT match" in tampered.output


def _signed(client, payload, secret="test-payment-secret"):
    raw = json.dumps(payload).encode()
    return client.post(
        "/api/payments/programme-callback",
        data=raw,
        headers={"Content-Type": "application/json", "X-Signature": hmac_sha256(secret, raw)},
    )


def test_the_signed_payment_callback_enrols(client, manager, resident, dummy_rink):
    programme = create_programme(manager, dummy_rink)
    applied = client.post(
        f"/api/programmes/{programme.id}/applications",
        json={"category": "adult", "birth_year": 1990},
        headers=auth_headers(resident),
    ).json
    payment = {
        "application_id": applied["number"],
        "payment_id": "pg-1",
        "amount": 120000,
        "status": "paid",
    }
    assert _signed(client, payment, secret="wrong").status_code == 401
    assert _signed(client, {**payment, "amount": 1}).status_code == 422
    paid = _signed(client, payment)
    assert paid.status_code == 200 and paid.json["status"] == "enrolled"
    assert _signed(client, payment).json["status"] == "enrolled"  # a replay answers the same


def test_the_report_is_for_managers(client, manager, resident, dummy_rink):
    create_programme(manager, dummy_rink)
    assert (
        client.get("/api/manager/programme-report", headers=auth_headers(resident)).status_code
        == 403
    )
    assert client.get("/api/manager/programme-report", headers=auth_headers(manager)).json == []


def test_racing_applications_over_http_are_all_kept_once(live_server, manager):
    """24 people apply at once through 4 gunicorn workers, each sending their application
    twice in parallel: every person has exactly one application, none is lost; with an
    Idempotency-Key both sends get the same 201. (On the real clock, the server's, which the
    tokens must agree with.)"""
    rink = create_resource(create_facility("ice_rink"), capacity=150)
    # A window open on the real clock, whatever the day the suite runs.
    opens = datetime.now(UTC) - timedelta(days=1)
    closes = opens + timedelta(days=30)
    term_start = (closes + timedelta(days=7)).date()
    term_end = term_start + timedelta(days=27)

    def lottery_programme():
        return create_programme(
            manager,
            rink,
            enrolment="lottery",
            capacity=5,
            window_opens_at=opens,
            window_closes_at=closes,
            term_start=term_start,
            term_end=term_end,
        )

    programme = lottery_programme()
    people = [create_user() for _ in range(24)]
    tokens = [auth_headers(person) for person in people]
    url = live_server(f"/api/programmes/{programme.id}/applications")
    db.session.commit()  # reading programme.id began a (write) transaction: end it

    def send(headers):
        response = requests.post(
            url, json={"category": "adult", "birth_year": 1990}, headers=headers, timeout=30
        )
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(send, tokens + tokens))
    assert sorted(status for status, _ in answers) == [201] * 24 + [409] * 24
    # The same again, each person's two sends now a retry with one Idempotency-Key: both
    # answered 201 with the same number, and still one application each.
    programme_two = lottery_programme()
    url = live_server(f"/api/programmes/{programme_two.id}/applications")
    db.session.commit()
    keyed = [{**headers, "Idempotency-Key": f"apply-{n}"} for n, headers in enumerate(tokens)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        retried = list(pool.map(send, keyed + keyed))
    assert [status for status, _ in retried] == [201] * 48
    assert retried[:24] == retried[24:]
    db.session.rollback()
    for each in (programme.id, programme_two.id):
        owners = db.session.scalars(
            select(Application.user_id).where(Application.programme_id == each)
        ).all()
        assert sorted(owners) == sorted(p.id for p in people)
    assert set(db.session.scalars(select(Lottery.status))) == {"open"}


def test_the_lottery_page_checks_the_draw(client, manager, dummy_rink, clock):
    programme = create_programme(
        manager,
        dummy_rink,
        enrolment="lottery",
        capacity=1,
        window_opens_at=kst("2026-03-03", "10:00"),
        window_closes_at=kst("2026-03-05", "18:00"),
    )
    lottery_id = db.session.scalar(select(Lottery.id))
    commitment = db.session.scalar(select(Lottery.commitment))
    before = client.get(f"/lotteries/{lottery_id}")
    assert before.status_code == 200
    page = before.get_data(as_text=True)
    assert commitment in page and "추첨 순서" not in page
    clock.at = kst("2026-03-04", "10:00")
    for _ in range(3):
        client.post(
            f"/api/programmes/{programme.id}/applications",
            json={"category": "adult", "birth_year": 1980},
            headers=auth_headers(create_user()),
        )
    clock.at = kst("2026-03-05", "18:00")
    jobs.draw_lotteries_now()
    db.session.commit()
    lottery = db.session.get(Lottery, lottery_id)
    page = client.get(f"/lotteries/{lottery_id}").get_data(as_text=True)
    assert lottery.seed in page and "일치합니다" in page
    for position, number in enumerate(lottery.published_order, start=1):
        assert f"<tr><td>{position}</td><td>{number}</td>" in page
    db.session.execute(
        text("UPDATE facilities_application SET priority_group = 'resident' WHERE id = :id"),
        {"id": lottery.published_order[0]},
    )
    db.session.commit()
    page = client.get(f"/lotteries/{lottery_id}").get_data(as_text=True)
    assert "일치하지 않습니다" in page and "저장된 신청과 다릅니다" in page
    assert client.get("/lotteries/999999").status_code == 404


def test_attendance_is_taken_at_check_in(client, manager, resident, dummy_rink, clock):
    programme = create_programme(manager, dummy_rink)
    headers = auth_headers(resident)
    applied = client.post(
        f"/api/programmes/{programme.id}/applications",
        json={"category": "adult", "birth_year": 1990},
        headers=headers,
    ).json
    assert applied["check_in_code"] is None  # not before it is paid
    _signed(
        client,
        {
            "application_id": applied["number"],
            "payment_id": "pg-a",
            "amount": 120000,
            "status": "paid",
        },
    )
    code = client.get("/api/me/applications", headers=headers).json[0]["check_in_code"]
    staff = auth_headers(manager)
    early = client.post("/api/programme-check-ins", json={"code": code}, headers=staff)
    assert early.status_code == 422 and early.json["code"] == "checkin_window"
    clock.at = kst("2026-04-02", "18:45")  # 15 minutes before the first lesson
    staff, headers = auth_headers(manager), auth_headers(resident)  # a month later
    present = client.post("/api/programme-check-ins", json={"code": code}, headers=staff)
    assert present.status_code == 201, present.json
    again = client.post("/api/programme-check-ins", json={"code": code}, headers=staff)
    assert again.status_code == 409 and again.json["code"] == "already_checked_in"
    forged = client.post("/api/programme-check-ins", json={"code": code + "x"}, headers=staff)
    assert forged.status_code == 422
    # A booking's check-in door does not take a programme's code.
    assert client.post("/api/check-ins", json={"code": code}, headers=staff).status_code == 422
    assert (
        client.post("/api/programme-check-ins", json={"code": code}, headers=headers).status_code
        == 403
    )
    session_id = present.json["session_id"]
    taken = db.session.scalar(
        text("SELECT count(*) FROM facilities_attendance WHERE session_id = :s"), {"s": session_id}
    )
    assert taken == 1


def test_my_bookings_page_shows_my_programmes(client, manager, resident, dummy_rink):
    programme = create_programme(manager, dummy_rink, enrolment="lottery")
    held = create_programme(manager, dummy_rink, title="피겨 중급", start_time="17:00")
    enrolments_apply = [
        client.post(
            f"/api/programmes/{p.id}/applications",
            json={"category": "adult", "birth_year": 1990},
            headers=auth_headers(resident),
        ).json
        for p in (programme, held)
    ]
    assert [a["status"] for a in enrolments_apply] == ["applied", "held"]
    assert log_in(client, resident.email).status_code == 302
    page = client.get("/bookings").get_data(as_text=True)
    section = page.split('id="programmes"')[1].split('id="calendar"')[0]
    assert "스케이트 초급 성인반" in section and "추첨 대기" in section
    assert "피겨 중급" in section and "결제 대기" in section and "120,000원" in section
    assert f"/lotteries/{enrolments_apply[0]['lottery_id']}" in section
