"""The kiosk device API: keys, heartbeats and faults, login with PIN, checkout, return,
retries, inventory."""

import uuid

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import AuditLog
from library.models import Conflict, Copy, KioskTransaction, Loan, Patron
from library.services import kiosks
from tests.fixtures.library import (
    PIN,
    checkout_body,
    create_copy,
    create_kiosk,
    create_patron,
    create_title,
    tx,
)


def open_loans(copy_id=None):
    stmt = select(func.count()).select_from(Loan).where(Loan.returned_at.is_(None))
    if copy_id is not None:
        stmt = stmt.where(Loan.copy_id == copy_id)
    return db.session.scalar(stmt)


@pytest.mark.parametrize(
    "header",
    [None, "Kiosk ", "Kiosk wrong-key", "Bearer something"],
)
def test_kiosk_endpoints_need_a_valid_key(client, dummy_kiosk, header):
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/kiosk/heartbeat", json={"faults": []}, headers=headers)
    assert response.status_code == 401
    assert response.json["code"] in {"kiosk_key_required", "invalid_kiosk_key"}


def test_revoked_key_stops_working(client, dummy_kiosk, clock):
    assert client.get("/api/kiosk/inventory", headers=dummy_kiosk.headers).status_code == 200
    kiosks.revoke_key("test", dummy_kiosk.kiosk, now=clock.now())
    db.session.commit()
    response = client.get("/api/kiosk/inventory", headers=dummy_kiosk.headers)
    assert response.status_code == 401
    assert response.json["code"] == "invalid_kiosk_key"


def test_user_token_is_not_a_kiosk_key(client, resident, dummy_kiosk):
    from tests.fixtures.users import auth_headers

    response = client.get("/api/kiosk/inventory", headers=auth_headers(resident))
    assert response.status_code == 401


def test_heartbeat_fault_disables_function_until_cleared(
    client, dummy_kiosk, dummy_copy, dummy_patron, clock
):
    response = client.post(
        "/api/kiosk/heartbeat", json={"faults": ["return_slot_jammed"]}, headers=dummy_kiosk.headers
    )
    assert response.status_code == 200
    assert response.json["state"] == "fault"
    assert response.json["functions"] == {"checkout": True, "return": False, "pickup": True}

    out = client.post(
        "/api/kiosk/checkouts",
        json=checkout_body(dummy_patron, dummy_copy),
        headers=dummy_kiosk.headers,
    )
    assert out.status_code == 201
    back = client.post(
        "/api/kiosk/returns", json=tx(barcode=dummy_copy.barcode), headers=dummy_kiosk.headers
    )
    assert back.status_code == 409
    assert back.json["code"] == "function_unavailable"
    assert back.json["function"] == "return"

    cleared = client.post("/api/kiosk/heartbeat", json={"faults": []}, headers=dummy_kiosk.headers)
    assert cleared.json["state"] == "online"
    back = client.post(
        "/api/kiosk/returns", json=tx(barcode=dummy_copy.barcode), headers=dummy_kiosk.headers
    )
    assert back.status_code == 200


def test_rfid_fault_disables_checkout(client, dummy_kiosk, dummy_copy, dummy_patron):
    client.post(
        "/api/kiosk/heartbeat", json={"faults": ["rfid_reader_error"]}, headers=dummy_kiosk.headers
    )
    response = client.post(
        "/api/kiosk/checkouts",
        json=checkout_body(dummy_patron, dummy_copy),
        headers=dummy_kiosk.headers,
    )
    assert response.status_code == 409
    assert response.json["code"] == "function_unavailable"
    assert open_loans() == 0


def test_unknown_fault_code_is_refused_naming_the_field(client, dummy_kiosk):
    response = client.post(
        "/api/kiosk/heartbeat", json={"faults": ["on_fire"]}, headers=dummy_kiosk.headers
    )
    assert response.status_code == 422
    assert "faults" in response.json["errors"]


def test_kiosk_goes_offline_after_five_minutes_without_heartbeat(
    client, dummy_kiosk, librarian, clock
):
    from tests.fixtures.users import auth_headers

    headers = auth_headers(librarian)
    client.post("/api/kiosk/heartbeat", json={"faults": []}, headers=dummy_kiosk.headers)
    clock.advance(minutes=4, seconds=59)
    state = client.get(f"/api/library/kiosks/{dummy_kiosk.id}", headers=headers).json
    assert state["state"] == "online" and state["online"] is True
    clock.advance(seconds=2)
    state = client.get(f"/api/library/kiosks/{dummy_kiosk.id}", headers=headers).json
    assert state["state"] == "offline" and state["online"] is False


def test_verify_returns_patron_summary(client, dummy_kiosk, dummy_copy, dummy_patron):
    client.post(
        "/api/kiosk/checkouts",
        json=checkout_body(dummy_patron, dummy_copy),
        headers=dummy_kiosk.headers,
    )
    response = client.post(
        "/api/kiosk/patrons/verify",
        json={"card_number": dummy_patron.card_number, "pin": PIN},
        headers=dummy_kiosk.headers,
    )
    assert response.status_code == 200
    body = response.json
    assert body["patron"]["card_number"] == dummy_patron.card_number
    assert [loan["barcode"] for loan in body["loans"]] == [dummy_copy.barcode]
    assert body["loans_left"] == 4
    assert body["suspended_until"] is None
    assert body["holds_ready_here"] == []
    assert "pin" not in str(body).lower().replace("pickup", "")


def test_card_locks_after_five_wrong_pins(client, dummy_kiosk, dummy_patron, clock):
    wrong = {"card_number": dummy_patron.card_number, "pin": "0000"}
    for attempt in range(4):
        response = client.post("/api/kiosk/patrons/verify", json=wrong, headers=dummy_kiosk.headers)
        assert response.status_code == 401
        assert response.json["attempts_left"] == 4 - attempt
    fifth = client.post("/api/kiosk/patrons/verify", json=wrong, headers=dummy_kiosk.headers)
    assert fifth.status_code == 423
    assert fifth.json["code"] == "card_locked"
    right = {"card_number": dummy_patron.card_number, "pin": PIN}
    locked = client.post("/api/kiosk/patrons/verify", json=right, headers=dummy_kiosk.headers)
    assert locked.status_code == 423  # even the right PIN, while locked
    clock.advance(minutes=15, seconds=1)
    assert (
        client.post(
            "/api/kiosk/patrons/verify", json=right, headers=dummy_kiosk.headers
        ).status_code
        == 200
    )
    patron = db.session.get(Patron, dummy_patron.id)
    db.session.refresh(patron)
    assert patron.failed_pin_attempts == 0


def test_wrong_pin_at_checkout_counts_and_lends_nothing(
    client, dummy_kiosk, dummy_copy, dummy_patron
):
    response = client.post(
        "/api/kiosk/checkouts",
        json=checkout_body(dummy_patron, dummy_copy, pin="9999"),
        headers=dummy_kiosk.headers,
    )
    assert response.status_code == 401
    assert open_loans() == 0
    patron = db.session.get(Patron, dummy_patron.id)
    db.session.refresh(patron)
    assert patron.failed_pin_attempts == 1


def test_unknown_card_is_refused_like_a_wrong_pin(client, dummy_kiosk):
    response = client.post(
        "/api/kiosk/patrons/verify",
        json={"card_number": "NO-SUCH-CARD", "pin": "1234"},
        headers=dummy_kiosk.headers,
    )
    assert response.status_code == 401
    assert response.json["code"] == "invalid_card_or_pin"


def test_checkout_lends_for_fourteen_days_to_end_of_local_day(
    client, dummy_kiosk, dummy_copy, dummy_patron, clock
):
    response = client.post(
        "/api/kiosk/checkouts",
        json=checkout_body(dummy_patron, dummy_copy),
        headers=dummy_kiosk.headers,
    )
    assert response.status_code == 201
    body = response.json
    assert body["barcode"] == dummy_copy.barcode
    # Out 2026-03-02 10:00 KST: due 2026-03-16 23:59:59 KST.
    assert body["due_at"] == "2026-03-16T14:59:59+00:00"
    assert body["loans_left"] == 4
    copy = db.session.get(Copy, dummy_copy.id)
    db.session.refresh(copy)
    assert (copy.status, copy.kiosk_id, copy.slot) == ("on_loan", None, None)


def test_same_transaction_thrice_makes_one_loan(client, dummy_kiosk, dummy_copy, dummy_patron):
    body = checkout_body(dummy_patron, dummy_copy)
    answers = [
        client.post("/api/kiosk/checkouts", json=body, headers=dummy_kiosk.headers)
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert answers[0].json == answers[1].json == answers[2].json
    assert open_loans() == 1
    assert db.session.scalar(select(func.count()).select_from(KioskTransaction)) == 1


def test_retry_of_a_refusal_gets_the_same_refusal(client, dummy_kiosk, dummy_copy, clock):
    first, second = create_patron(), create_patron()
    client.post(
        "/api/kiosk/checkouts", json=checkout_body(first, dummy_copy), headers=dummy_kiosk.headers
    )
    body = checkout_body(second, dummy_copy)
    refused = client.post("/api/kiosk/checkouts", json=body, headers=dummy_kiosk.headers)
    assert refused.status_code == 409 and refused.json["code"] == "copy_on_loan"
    # The first borrower returns it; the retry still answers what happened the first time.
    client.post(
        "/api/kiosk/returns", json=tx(barcode=dummy_copy.barcode), headers=dummy_kiosk.headers
    )
    again = client.post("/api/kiosk/checkouts", json=body, headers=dummy_kiosk.headers)
    assert again.status_code == 409 and again.json == refused.json
    assert open_loans() == 0


def test_reused_transaction_id_with_other_content_is_refused(
    client, dummy_kiosk, dummy_title, dummy_patron
):
    one = create_copy(dummy_title, kiosk=dummy_kiosk)
    two = create_copy(dummy_title, kiosk=dummy_kiosk)
    body = checkout_body(dummy_patron, one)
    assert (
        client.post("/api/kiosk/checkouts", json=body, headers=dummy_kiosk.headers).status_code
        == 201
    )
    other = body | {"barcode": two.barcode}
    response = client.post("/api/kiosk/checkouts", json=other, headers=dummy_kiosk.headers)
    assert response.status_code == 409
    assert response.json["code"] == "transaction_id_reused"
    assert open_loans(two.id) == 0


def test_transaction_ids_are_per_kiosk(client, dummy_title, dummy_patron, clock):
    first, second = create_kiosk(), create_kiosk()
    a = create_copy(dummy_title, kiosk=first)
    b = create_copy(dummy_title, kiosk=second)
    txid = str(uuid.uuid4())
    for handle, copy in ((first, a), (second, b)):
        body = checkout_body(dummy_patron, copy) | {"transaction_id": txid}
        assert (
            client.post("/api/kiosk/checkouts", json=body, headers=handle.headers).status_code
            == 201
        )
    assert open_loans() == 2


@pytest.mark.parametrize(
    "field, value",
    [
        ("transaction_id", "not-a-uuid"),
        ("occurred_at", "2026-03-02T10:00:00"),  # no offset
        ("pin", "12"),
        ("card_number", ""),
        ("barcode", ""),
        ("surprise", 1),
    ],
)
def test_bad_checkout_input_names_the_field(
    client, dummy_kiosk, dummy_copy, dummy_patron, field, value
):
    body = checkout_body(dummy_patron, dummy_copy) | {field: value}
    response = client.post("/api/kiosk/checkouts", json=body, headers=dummy_kiosk.headers)
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert open_loans() == 0


def test_occurred_at_far_in_the_future_is_refused(
    client, dummy_kiosk, dummy_copy, dummy_patron, clock
):
    body = checkout_body(dummy_patron, dummy_copy)
    body["occurred_at"] = clock.now().replace(year=2027).isoformat()
    response = client.post("/api/kiosk/checkouts", json=body, headers=dummy_kiosk.headers)
    assert response.status_code == 422
    assert "occurred_at" in response.json["errors"]


def test_unknown_barcode(client, dummy_kiosk, dummy_patron):
    body = tx(card_number=dummy_patron.card_number, pin=PIN, barcode="NOPE")
    response = client.post("/api/kiosk/checkouts", json=body, headers=dummy_kiosk.headers)
    assert response.status_code == 404
    assert response.json["code"] == "unknown_barcode"


def test_return_puts_copy_in_lowest_free_slot_or_the_one_given(
    client, dummy_kiosk, dummy_title, dummy_patron
):
    copies = [create_copy(dummy_title, kiosk=dummy_kiosk) for _ in range(3)]
    for copy in copies:
        client.post(
            "/api/kiosk/checkouts",
            json=checkout_body(dummy_patron, copy),
            headers=dummy_kiosk.headers,
        )
    back = client.post(
        "/api/kiosk/returns", json=tx(barcode=copies[2].barcode), headers=dummy_kiosk.headers
    )
    assert back.status_code == 200
    assert back.json["slot"] == 1 and back.json["overdue_days"] == 0
    taken = client.post(
        "/api/kiosk/returns",
        json=tx(barcode=copies[0].barcode, slot=1),
        headers=dummy_kiosk.headers,
    )
    assert taken.status_code == 409 and taken.json["code"] == "slot_occupied"
    chosen = client.post(
        "/api/kiosk/returns",
        json=tx(barcode=copies[0].barcode, slot=7),
        headers=dummy_kiosk.headers,
    )
    assert chosen.status_code == 200 and chosen.json["slot"] == 7
    outside = client.post(
        "/api/kiosk/returns",
        json=tx(barcode=copies[1].barcode, slot=11),
        headers=dummy_kiosk.headers,
    )
    assert outside.status_code == 422 and "slot" in outside.json["errors"]


def test_full_kiosk_refuses_return_and_names_nearby_kiosk_with_room(client, clock, dummy_patron):
    small = create_kiosk("SMALL", slots=1, latitude=37.50, longitude=127.03)
    create_kiosk("NEAR", slots=5, latitude=37.51, longitude=127.03)
    create_kiosk("FAR", slots=5, latitude=35.10, longitude=129.04)
    full = create_kiosk("FULL", slots=1, latitude=37.50, longitude=127.031)
    title = create_title()
    lent = create_copy(title, kiosk=small)
    client.post(
        "/api/kiosk/checkouts", json=checkout_body(dummy_patron, lent), headers=small.headers
    )
    create_copy(title, kiosk=small)  # fills the only slot
    create_copy(title, kiosk=full)
    response = client.post(
        "/api/kiosk/returns", json=tx(barcode=lent.barcode), headers=small.headers
    )
    assert response.status_code == 409
    assert response.json["code"] == "kiosk_full"
    assert [k["code"] for k in response.json["nearby"]] == ["NEAR", "FAR"]
    assert response.json["nearby"][0]["free_slots"] == 5
    assert open_loans(lent.id) == 1


def test_return_of_copy_not_on_loan(client, dummy_kiosk, dummy_copy):
    response = client.post(
        "/api/kiosk/returns", json=tx(barcode=dummy_copy.barcode), headers=dummy_kiosk.headers
    )
    assert response.status_code == 409
    assert response.json["code"] == "not_on_loan"


def test_checkout_of_copy_recorded_elsewhere_lends_and_flags_inventory(
    client, dummy_title, dummy_patron, clock
):
    here, there = create_kiosk(), create_kiosk()
    copy = create_copy(dummy_title, kiosk=there)
    response = client.post(
        "/api/kiosk/checkouts", json=checkout_body(dummy_patron, copy), headers=here.headers
    )
    assert response.status_code == 201
    conflict = db.session.scalar(select(Conflict))
    assert conflict.kind == "inventory" and conflict.reason == "copy_not_in_kiosk"
    assert conflict.kiosk_id == here.id


def test_inventory_lists_slots(client, dummy_kiosk, dummy_copy):
    response = client.get("/api/kiosk/inventory", headers=dummy_kiosk.headers)
    assert response.status_code == 200
    slots = response.json["slots"]
    assert len(slots) == 10
    assert slots[0]["barcode"] == dummy_copy.barcode and slots[0]["status"] == "in_kiosk"
    assert all(s["barcode"] is None for s in slots[1:])
    assert response.json["fill_rate"] == 0.1


def test_inventory_report_queues_discrepancies(client, dummy_kiosk, dummy_title, clock):
    a = create_copy(dummy_title, kiosk=dummy_kiosk, slot=1)
    b = create_copy(dummy_title, kiosk=dummy_kiosk, slot=2)
    stray = create_copy(dummy_title)
    report = {
        "occurred_at": clock.now().isoformat(),
        "slots": [
            {"slot": 1, "barcode": a.barcode},
            {"slot": 2, "barcode": None},
            {"slot": 3, "barcode": stray.barcode},
            {"slot": 4, "barcode": "ALIEN-1"},
        ],
    }
    response = client.post("/api/kiosk/inventory-report", json=report, headers=dummy_kiosk.headers)
    assert response.status_code == 200
    problems = {d["slot"]: d["problem"] for d in response.json["discrepancies"]}
    assert problems == {2: "missing", 3: "unexpected", 4: "unknown_barcode"}
    conflict = db.session.get(Conflict, response.json["conflict_id"])
    assert conflict.kind == "inventory" and len(conflict.details["discrepancies"]) == 3
    # The records are not changed by a machine's reading.
    assert db.session.get(Copy, b.id).slot == 2


def test_clean_inventory_report_queues_nothing(client, dummy_kiosk, dummy_copy, clock):
    report = {
        "occurred_at": clock.now().isoformat(),
        "slots": [{"slot": 1, "barcode": dummy_copy.barcode}],
    }
    response = client.post("/api/kiosk/inventory-report", json=report, headers=dummy_kiosk.headers)
    assert response.json == {"slots_checked": 1, "discrepancies": [], "conflict_id": None}


def test_inventory_report_with_bad_slot_names_field(client, dummy_kiosk, clock):
    report = {"occurred_at": clock.now().isoformat(), "slots": [{"slot": 99, "barcode": None}]}
    response = client.post("/api/kiosk/inventory-report", json=report, headers=dummy_kiosk.headers)
    assert response.status_code == 422
    assert "slots" in response.json["errors"]


def test_kiosk_actions_by_librarians_are_audited(client, dummy_kiosk):
    actions = set(db.session.scalars(select(AuditLog.action)))
    assert "library.kiosk.create" in actions
