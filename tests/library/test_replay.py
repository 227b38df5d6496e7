"""Offline replay: queued transactions applied as of when they happened; what cannot be
applied goes to the librarians' conflict queue, never dropped."""

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from core.extensions import db
from core.models import AuditLog
from library.models import Conflict, Loan, Patron
from tests.fixtures.library import checkout_body, create_copy, create_kiosk, create_patron
from tests.fixtures.users import auth_headers


def queued(kind, at, **fields):
    return {
        "transaction_id": str(uuid.uuid4()),
        "occurred_at": at.isoformat(),
        "type": kind,
    } | fields


def test_replay_applies_as_of_occurred_at(client, clock, dummy_kiosk, dummy_copy, dummy_patron):
    # Offline since 2026-02-10: lent on the 10th (due the 24th), returned 2026-02-27 (3 days late).
    lent_at = clock.now() - timedelta(days=20)
    back_at = clock.now() - timedelta(days=3)
    # Records: the copy was loaded into the kiosk before the outage.
    from library.models import Copy

    copy = db.session.get(Copy, dummy_copy.id)
    copy.changed_at = lent_at - timedelta(days=1)
    db.session.commit()
    batch = [
        queued(
            "checkout", lent_at, card_number=dummy_patron.card_number, barcode=dummy_copy.barcode
        ),
        queued("return", back_at, barcode=dummy_copy.barcode, slot=3),
    ]
    response = client.post(
        "/api/kiosk/replay", json={"transactions": batch}, headers=dummy_kiosk.headers
    )
    assert response.status_code == 200
    results = response.json["results"]
    assert [r["outcome"] for r in results] == ["applied", "applied"]
    assert results[0]["response"]["due_at"] == "2026-02-24T14:59:59+00:00"
    assert results[1]["response"]["overdue_days"] == 3
    assert results[1]["response"]["slot"] == 3
    loan = db.session.scalar(select(Loan))
    assert loan.out_at == lent_at and loan.returned_at == back_at and loan.overdue_days == 3
    # Suspended 3 days from the return day (27 Feb + 3 = 2 March, start of day in Seoul).
    patron = db.session.get(Patron, dummy_patron.id)
    assert patron.suspended_until.isoformat() == "2026-03-01T15:00:00+00:00"

    again = client.post(
        "/api/kiosk/replay", json={"transactions": batch}, headers=dummy_kiosk.headers
    )
    assert again.json["results"] == results  # the same answers; nothing applied twice
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 1


def test_replayed_checkout_of_copy_lent_elsewhere_goes_to_conflict_queue(
    client, clock, dummy_title, dummy_patron, librarian
):
    offline, online = create_kiosk("OFF-1"), create_kiosk("ON-1")
    copy = create_copy(dummy_title, kiosk=offline)
    earlier = clock.now()
    clock.advance(hours=1)
    # While OFF-1 was offline, the copy (misplaced) was lent at ON-1.
    other = create_patron()
    assert (
        client.post(
            "/api/kiosk/checkouts", json=checkout_body(other, copy), headers=online.headers
        ).status_code
        == 201
    )
    clock.advance(hours=1)
    batch = [
        queued(
            "checkout",
            earlier + timedelta(minutes=5),
            card_number=dummy_patron.card_number,
            barcode=copy.barcode,
        )
    ]
    response = client.post(
        "/api/kiosk/replay", json={"transactions": batch}, headers=offline.headers
    )
    result = response.json["results"][0]
    assert result["outcome"] == "conflict"
    assert result["response"]["code"] in {"copy_on_loan", "copy_changed_since"}
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 1

    headers = auth_headers(librarian)
    listed = client.get("/api/library/conflicts?kind=replay", headers=headers)
    assert listed.status_code == 200
    [item] = listed.json
    assert item["id"] == result["conflict_id"] and item["kiosk_id"] == offline.id
    assert item["details"]["transaction"]["barcode"] == copy.barcode
    assert "pin" not in item["details"]["transaction"]

    resolved = client.post(
        f"/api/library/conflicts/{item['id']}/resolve",
        json={"resolution": "책 실물 확인: ON-1 대출이 맞음"},
        headers=headers,
    )
    assert resolved.status_code == 200 and resolved.json["resolved_at"] is not None
    assert client.get("/api/library/conflicts?kind=replay", headers=headers).json == []
    assert (
        len(client.get("/api/library/conflicts?status=all&kind=replay", headers=headers).json) == 1
    )
    assert db.session.scalar(
        select(AuditLog).filter_by(action="library.conflict.resolve", target_id=str(item["id"]))
    )
    twice = client.post(
        f"/api/library/conflicts/{item['id']}/resolve",
        json={"resolution": "again"},
        headers=headers,
    )
    assert twice.status_code == 409


def test_replay_keeps_order_and_queues_every_failure(
    client, clock, dummy_kiosk, dummy_title, dummy_patron
):
    a = create_copy(dummy_title, kiosk=dummy_kiosk)
    clock.advance(minutes=10)
    at = clock.now() - timedelta(minutes=5)
    batch = [
        queued("checkout", at, card_number="NO-SUCH-CARD", barcode=a.barcode),
        queued("return", at + timedelta(seconds=30), barcode=a.barcode),  # never lent: conflict
        queued(
            "checkout",
            at + timedelta(minutes=1),
            card_number=dummy_patron.card_number,
            barcode=a.barcode,
        ),
    ]
    results = client.post(
        "/api/kiosk/replay", json={"transactions": batch}, headers=dummy_kiosk.headers
    ).json["results"]
    assert [(r["outcome"], r["response"].get("code")) for r in results] == [
        ("conflict", "unknown_card"),
        ("conflict", "not_on_loan"),
        ("applied", None),
    ]
    assert db.session.scalar(select(func.count()).select_from(Conflict)) == 2


def test_replay_of_transaction_already_sent_live_answers_as_before(
    client, clock, dummy_kiosk, dummy_copy, dummy_patron
):
    live = checkout_body(dummy_patron, dummy_copy)
    first = client.post("/api/kiosk/checkouts", json=live, headers=dummy_kiosk.headers).json
    batch = [{k: v for k, v in live.items() if k != "pin"} | {"type": "checkout"}]
    result = client.post(
        "/api/kiosk/replay", json={"transactions": batch}, headers=dummy_kiosk.headers
    ).json["results"][0]
    assert result["outcome"] == "applied" and result["response"] == first
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 1


def test_replay_with_future_time_is_queued_not_applied(
    client, clock, dummy_kiosk, dummy_copy, dummy_patron
):
    batch = [
        queued(
            "checkout",
            clock.now() + timedelta(days=1),
            card_number=dummy_patron.card_number,
            barcode=dummy_copy.barcode,
        )
    ]
    result = client.post(
        "/api/kiosk/replay", json={"transactions": batch}, headers=dummy_kiosk.headers
    ).json["results"][0]
    assert result["outcome"] == "conflict" and result["response"]["code"] == "clock_skew"
    assert db.session.get(Conflict, result["conflict_id"]).reason == "clock_skew"
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 0


def test_replay_ignores_kiosk_faults_of_today(client, clock, dummy_kiosk, dummy_copy, dummy_patron):
    client.post(
        "/api/kiosk/heartbeat", json={"faults": ["rfid_reader_error"]}, headers=dummy_kiosk.headers
    )
    batch = [
        queued(
            "checkout",
            clock.now() - timedelta(minutes=1),
            card_number=dummy_patron.card_number,
            barcode=dummy_copy.barcode,
        )
    ]
    dummy_copy.changed_at = clock.now() - timedelta(hours=1)
    db.session.commit()
    result = client.post(
        "/api/kiosk/replay", json={"transactions": batch}, headers=dummy_kiosk.headers
    ).json["results"][0]
    assert result["outcome"] == "applied"


def test_bad_replay_batch_is_refused_whole(client, clock, dummy_kiosk, dummy_copy):
    batch = [
        queued("checkout", clock.now(), barcode=dummy_copy.barcode),  # no card
    ]
    response = client.post(
        "/api/kiosk/replay", json={"transactions": batch}, headers=dummy_kiosk.headers
    )
    assert response.status_code == 422
    assert "transactions" in response.json["errors"]
    empty = client.post("/api/kiosk/replay", json={"transactions": []}, headers=dummy_kiosk.headers)
    assert empty.status_code == 422


def test_notifications_of_applied_items_survive_a_failing_item(
    client, clock, dummy_kiosk, dummy_copy, dummy_patron, resident, outbox, settings
):
    from library.services import holds, loans

    loans.checkout(
        dummy_kiosk.kiosk,
        dummy_patron,
        dummy_copy.barcode,
        at=clock.now(),
        now=clock.now(),
        settings=settings,
    )
    waiting = create_patron(user=resident)
    holds.place_hold(
        waiting, dummy_copy.title_ref, dummy_kiosk.id, now=clock.now(), settings=settings
    )
    db.session.commit()
    clock.advance(hours=2)
    batch = [
        queued("return", clock.now() - timedelta(hours=1), barcode=dummy_copy.barcode),
        queued("return", clock.now() - timedelta(minutes=30), barcode="NO-SUCH-COPY"),
    ]
    results = client.post(
        "/api/kiosk/replay", json={"transactions": batch}, headers=dummy_kiosk.headers
    ).json["results"]
    assert [r["outcome"] for r in results] == ["applied", "conflict"]
    assert results[0]["response"]["reserved_for_hold"] is True
    # The hold-ready notice of the first item is delivered once the batch commits.
    assert [n["kind"] for n in outbox] == ["library_hold_ready"]


def test_librarian_applies_a_queued_checkout_the_rules_refused(
    client, clock, dummy_kiosk, dummy_title, dummy_patron, librarian
):
    copy = create_copy(dummy_title, kiosk=dummy_kiosk)
    blocked = create_copy(dummy_title, kiosk=dummy_kiosk)
    patron = db.session.get(Patron, dummy_patron.id)
    patron.suspended_until = clock.now() + timedelta(days=3)
    db.session.commit()
    clock.advance(minutes=30)
    at = clock.now() - timedelta(minutes=10)
    batch = [
        queued("checkout", at, card_number=dummy_patron.card_number, barcode=copy.barcode),
        queued("checkout", at, card_number=dummy_patron.card_number, barcode=blocked.barcode),
    ]
    results = client.post(
        "/api/kiosk/replay", json={"transactions": batch}, headers=dummy_kiosk.headers
    ).json["results"]
    assert [r["response"]["code"] for r in results] == ["patron_suspended", "patron_suspended"]
    headers = auth_headers(librarian)
    resolved = client.post(
        f"/api/library/conflicts/{results[0]['conflict_id']}/resolve",
        json={"resolution": "책은 이용자에게 있음: 대출 기록", "apply": True},
        headers=headers,
    )
    assert resolved.status_code == 200
    loan = db.session.scalar(select(Loan).filter_by(copy_id=copy.id))
    assert loan.out_at == at and loan.returned_at is None
    audit = db.session.scalar(select(AuditLog).filter_by(action="library.conflict.resolve"))
    assert audit.after["applied"]["loan_id"] == loan.id

    # The second copy went to someone else meanwhile: applying it is refused, the item stays.
    other = create_patron()
    client.post(
        "/api/kiosk/checkouts", json=checkout_body(other, blocked), headers=dummy_kiosk.headers
    )
    refused = client.post(
        f"/api/library/conflicts/{results[1]['conflict_id']}/resolve",
        json={"resolution": "대출 기록", "apply": True},
        headers=auth_headers(librarian),
    )
    assert refused.status_code == 409 and refused.json["code"] == "copy_on_loan"
    db.session.rollback()
    assert db.session.get(Conflict, results[1]["conflict_id"]).resolved_at is None


def test_inventory_conflicts_cannot_be_applied(client, clock, dummy_kiosk, librarian):
    report = {"occurred_at": clock.now().isoformat(), "slots": [{"slot": 1, "barcode": "ALIEN"}]}
    conflict_id = client.post(
        "/api/kiosk/inventory-report", json=report, headers=dummy_kiosk.headers
    ).json["conflict_id"]
    response = client.post(
        f"/api/library/conflicts/{conflict_id}/resolve",
        json={"resolution": "확인함", "apply": True},
        headers=auth_headers(librarian),
    )
    assert response.status_code == 422 and "apply" in response.json["errors"]
