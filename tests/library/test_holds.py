"""Holds for pickup: placing, loading, notification, pickup at the kiosk, expiry, strikes."""

from datetime import timedelta

import pytest

from core.errors import Conflict, RuleViolation
from core.extensions import db
from library import jobs as library_jobs
from library.models import Copy, Hold, Patron
from library.services import holds, kiosks, restock
from tests.fixtures.library import (
    PIN,
    checkout_body,
    create_copy,
    create_kiosk,
    create_patron,
    create_title,
)
from tests.fixtures.users import auth_headers


def run_job(job):
    """Run a periodic job as the consumer would: its own app context, session and commit."""
    db.session.commit()  # end the test's transaction: SQLite allows one writer
    result = job.call_local()
    db.session.expire_all()
    return result


def fresh(model, ident):
    row = db.session.get(model, ident)
    db.session.refresh(row)
    return row


def test_hold_placed_waits_then_becomes_ready_when_loaded(
    client, clock, dummy_kiosk, dummy_title, linked_patron, resident, librarian, outbox
):
    shelf_copy = create_copy(dummy_title)  # on the library shelf
    response = client.post(
        "/api/library/holds",
        json={"title_id": dummy_title.id, "kiosk_id": dummy_kiosk.id},
        headers=auth_headers(resident),
    )
    assert response.status_code == 201
    assert response.json["status"] == "waiting"
    hold_id = response.json["id"]

    plan = client.get(
        f"/api/library/restock-plan?kiosk_id={dummy_kiosk.id}", headers=auth_headers(librarian)
    ).json
    assert plan["holds_awaiting_delivery"][0]["hold_id"] == hold_id
    assert plan["holds_awaiting_delivery"][0]["copies"][0]["barcode"] == shelf_copy.barcode

    loaded = client.post(
        f"/api/library/kiosks/{dummy_kiosk.id}/slots/4/load",
        json={"barcode": shelf_copy.barcode},
        headers=auth_headers(librarian),
    )
    assert loaded.status_code == 200
    assert loaded.json["status"] == "reserved_for_pickup" and loaded.json["slot"] == 4
    hold = fresh(Hold, hold_id)
    assert hold.status == "ready"
    # Ready on Monday 2 March: collect by Thursday 5 March, end of day in Seoul.
    assert hold.pickup_deadline.isoformat() == "2026-03-05T14:59:59+00:00"
    assert [n["kind"] for n in outbox] == ["library_hold_ready"]
    assert dummy_kiosk.kiosk.name in outbox[0]["body"] and "2026-03-05 23:59" in outbox[0]["body"]

    summary = client.post(
        "/api/kiosk/patrons/verify",
        json={"card_number": linked_patron.card_number, "pin": PIN},
        headers=dummy_kiosk.headers,
    ).json
    assert [(h["id"], h["slot"]) for h in summary["holds_ready_here"]] == [(hold_id, 4)]

    picked = client.post(
        "/api/kiosk/checkouts",
        json=checkout_body(linked_patron, shelf_copy),
        headers=dummy_kiosk.headers,
    )
    assert picked.status_code == 201 and picked.json["hold_collected"] is True
    assert fresh(Hold, hold_id).status == "collected"


def test_hold_at_kiosk_that_has_a_copy_is_ready_at_once(
    clock, dummy_kiosk, dummy_copy, dummy_patron, settings
):
    hold = holds.place_hold(
        dummy_patron, dummy_copy.title_ref, dummy_kiosk.id, now=clock.now(), settings=settings
    )
    db.session.commit()
    assert hold.status == "ready" and hold.copy_id == dummy_copy.id
    assert fresh(Copy, dummy_copy.id).status == "reserved_for_pickup"


def test_reserved_copy_is_not_lent_to_someone_else(
    client, clock, dummy_kiosk, dummy_copy, dummy_patron, settings
):
    holds.place_hold(
        dummy_patron, dummy_copy.title_ref, dummy_kiosk.id, now=clock.now(), settings=settings
    )
    db.session.commit()
    other = create_patron()
    response = client.post(
        "/api/kiosk/checkouts", json=checkout_body(other, dummy_copy), headers=dummy_kiosk.headers
    )
    assert response.status_code == 409 and response.json["code"] == "copy_reserved"


def test_pickup_needs_the_pickup_function(
    client, clock, dummy_kiosk, dummy_copy, dummy_patron, settings
):
    holds.place_hold(
        dummy_patron, dummy_copy.title_ref, dummy_kiosk.id, now=clock.now(), settings=settings
    )
    db.session.commit()
    client.post(
        "/api/kiosk/heartbeat", json={"faults": ["dispenser_jammed"]}, headers=dummy_kiosk.headers
    )
    response = client.post(
        "/api/kiosk/checkouts",
        json=checkout_body(dummy_patron, dummy_copy),
        headers=dummy_kiosk.headers,
    )
    assert response.status_code == 409 and response.json["function"] == "pickup"


def test_returned_copy_goes_to_waiting_hold_at_that_kiosk(
    client, clock, dummy_kiosk, dummy_copy, outbox, resident, settings
):
    borrower = create_patron()
    client.post(
        "/api/kiosk/checkouts",
        json=checkout_body(borrower, dummy_copy),
        headers=dummy_kiosk.headers,
    )
    waiting = create_patron(user=resident)
    hold = holds.place_hold(
        waiting, dummy_copy.title_ref, dummy_kiosk.id, now=clock.now(), settings=settings
    )
    db.session.commit()
    assert hold.status == "waiting"
    response = client.post(
        "/api/kiosk/returns",
        json={
            "transaction_id": "6b1f1d5e-1111-4c52-9f1e-2a6d8e4b7c90",
            "occurred_at": clock.now().isoformat(),
            "barcode": dummy_copy.barcode,
        },
        headers=dummy_kiosk.headers,
    )
    assert response.json["reserved_for_hold"] is True
    assert fresh(Hold, hold.id).status == "ready"
    assert [n["kind"] for n in outbox] == ["library_hold_ready"]


def test_returned_copy_for_hold_elsewhere_goes_in_transit_then_ready_when_loaded(
    clock, dummy_title, dummy_patron, settings
):
    here, there = create_kiosk(), create_kiosk()
    copy = create_copy(dummy_title, kiosk=here)
    from library.services import loans

    loans.checkout(
        here.kiosk,
        create_patron(),
        copy.barcode,
        at=clock.now(),
        now=clock.now(),
        settings=settings,
    )
    hold = holds.place_hold(dummy_patron, dummy_title, there.id, now=clock.now(), settings=settings)
    loans.return_copy(
        here.kiosk, copy.barcode, None, at=clock.now(), now=clock.now(), settings=settings
    )
    db.session.commit()
    assert (hold.status, copy.status, copy.kiosk_id) == ("in_transit", "in_transit", here.id)
    plan = restock.restock_plan(there.kiosk, now=clock.now())
    assert plan["holds_awaiting_delivery"][0]["copies"][0]["barcode"] == copy.barcode
    with pytest.raises(Conflict):  # must come out of the first kiosk before going in another
        kiosks.load("test", there.kiosk, 1, copy.barcode, now=clock.now(), settings=settings)
    kiosks.unload("test", here.kiosk, copy.slot, now=clock.now(), settings=settings)
    assert copy.status == "in_transit"
    kiosks.load("test", there.kiosk, 2, copy.barcode, now=clock.now(), settings=settings)
    db.session.commit()
    assert (hold.status, copy.status, copy.slot) == ("ready", "reserved_for_pickup", 2)


def test_hold_expires_after_three_days_and_copy_serves_next_hold(
    clock, dummy_kiosk, dummy_copy, settings, outbox, resident
):
    first = create_patron(user=resident)
    second = create_patron()
    h1 = holds.place_hold(
        first, dummy_copy.title_ref, dummy_kiosk.id, now=clock.now(), settings=settings
    )
    h2 = holds.place_hold(
        second, dummy_copy.title_ref, dummy_kiosk.id, now=clock.now(), settings=settings
    )
    db.session.commit()
    assert (h1.status, h2.status) == ("ready", "waiting")

    clock.advance(days=3)  # Thursday 10:00: still within the deadline
    assert run_job(library_jobs.expire_holds) == 0
    clock.advance(days=1)
    assert run_job(library_jobs.expire_holds) == 1
    assert fresh(Hold, h1.id).status == "expired"
    h2 = fresh(Hold, h2.id)
    assert h2.status == "ready" and h2.copy_id == dummy_copy.id
    assert "library_hold_expired" in [n["kind"] for n in outbox]


def test_expired_hold_without_next_hold_returns_copy_to_stock(
    clock, dummy_kiosk, dummy_copy, dummy_patron, settings
):
    holds.place_hold(
        dummy_patron, dummy_copy.title_ref, dummy_kiosk.id, now=clock.now(), settings=settings
    )
    db.session.commit()
    holds.expire_holds(now=clock.advance(days=5), settings=settings)
    db.session.commit()
    assert fresh(Copy, dummy_copy.id).status == "in_kiosk"


def test_three_missed_pickups_in_ninety_days_bar_holds_for_thirty_days(
    clock, dummy_kiosk, dummy_copy, resident, settings, outbox
):
    patron = create_patron(user=resident)
    for _ in range(3):
        holds.place_hold(
            patron, dummy_copy.title_ref, dummy_kiosk.id, now=clock.now(), settings=settings
        )
        db.session.commit()
        assert run_job(library_jobs.expire_holds) == 0
        clock.advance(days=5)
        assert run_job(library_jobs.expire_holds) == 1  # then the strikes job, after commit
    patron = fresh(Patron, patron.id)
    assert patron.holds_barred_until == clock.now() + timedelta(days=30)
    assert "library_holds_barred" in [n["kind"] for n in outbox]
    with pytest.raises(RuleViolation) as refused:
        holds.place_hold(
            patron, dummy_copy.title_ref, dummy_kiosk.id, now=clock.now(), settings=settings
        )
    assert refused.value.code == "holds_barred"
    clock.advance(days=30, seconds=1)
    holds.place_hold(
        patron, dummy_copy.title_ref, dummy_kiosk.id, now=clock.now(), settings=settings
    )


def test_misses_spread_over_more_than_ninety_days_do_not_bar(
    clock, dummy_kiosk, dummy_copy, dummy_patron, settings
):
    for _ in range(3):
        holds.place_hold(
            dummy_patron, dummy_copy.title_ref, dummy_kiosk.id, now=clock.now(), settings=settings
        )
        expired = holds.expire_holds(now=clock.advance(days=5), settings=settings)
        holds.apply_missed_pickup_strikes(
            [h.patron_id for h in expired], now=clock.now(), settings=settings
        )
        db.session.commit()
        clock.advance(days=45)
    assert fresh(Patron, dummy_patron.id).holds_barred_until is None


def test_cancel_frees_the_reserved_copy(
    client, clock, dummy_kiosk, dummy_copy, linked_patron, resident
):
    headers = auth_headers(resident)
    hold = client.post(
        "/api/library/holds",
        json={"title_id": dummy_copy.title_id, "kiosk_id": dummy_kiosk.id},
        headers=headers,
    ).json
    assert hold["status"] == "ready"
    response = client.delete(f"/api/library/holds/{hold['id']}", headers=headers)
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    assert fresh(Copy, dummy_copy.id).status == "in_kiosk"
    again = client.delete(f"/api/library/holds/{hold['id']}", headers=headers)
    assert again.status_code == 409


def test_cannot_cancel_someone_elses_hold(
    client, clock, dummy_kiosk, dummy_copy, settings, linked_patron, resident
):
    other = create_patron()
    hold = holds.place_hold(
        other, dummy_copy.title_ref, dummy_kiosk.id, now=clock.now(), settings=settings
    )
    db.session.commit()
    response = client.delete(f"/api/library/holds/{hold.id}", headers=auth_headers(resident))
    assert response.status_code == 403
    assert fresh(Hold, hold.id).status == "ready"


def test_duplicate_hold_and_hold_limit(clock, dummy_kiosk, dummy_patron, settings):
    titles = [create_title() for _ in range(6)]
    for title in titles:
        create_copy(title)
    holds.place_hold(dummy_patron, titles[0], dummy_kiosk.id, now=clock.now(), settings=settings)
    with pytest.raises(Conflict) as duplicate:
        holds.place_hold(
            dummy_patron, titles[0], dummy_kiosk.id, now=clock.now(), settings=settings
        )
    assert duplicate.value.code == "hold_exists"
    for title in titles[1:5]:
        holds.place_hold(dummy_patron, title, dummy_kiosk.id, now=clock.now(), settings=settings)
    with pytest.raises(RuleViolation) as limit:
        holds.place_hold(
            dummy_patron, titles[5], dummy_kiosk.id, now=clock.now(), settings=settings
        )
    assert limit.value.code == "hold_limit_reached"


def test_hold_needs_a_lendable_copy_and_a_pickup_kiosk(
    client, clock, dummy_kiosk, linked_patron, resident, settings
):
    title = create_title()
    headers = auth_headers(resident)
    none = client.post(
        "/api/library/holds",
        json={"title_id": title.id, "kiosk_id": dummy_kiosk.id},
        headers=headers,
    )
    assert none.status_code == 422 and "title_id" in none.json["errors"]
    create_copy(title)
    kiosks.update_kiosk(
        "test", dummy_kiosk.kiosk, {"functions": {"pickup": False}}, now=clock.now()
    )
    db.session.commit()
    off = client.post(
        "/api/library/holds",
        json={"title_id": title.id, "kiosk_id": dummy_kiosk.id},
        headers=headers,
    )
    assert off.status_code == 422 and "kiosk_id" in off.json["errors"]
    missing = client.post(
        "/api/library/holds", json={"title_id": title.id, "kiosk_id": 999}, headers=headers
    )
    assert missing.status_code == 404


def test_resident_without_card_gets_clear_404(client, clock, resident):
    response = client.get("/api/library/me", headers=auth_headers(resident))
    assert response.status_code == 404 and response.json["code"] == "no_library_card"


def test_me_shows_loans_holds_and_suspension(
    client, clock, dummy_kiosk, dummy_copy, linked_patron, resident
):
    client.post(
        "/api/kiosk/checkouts",
        json=checkout_body(linked_patron, dummy_copy),
        headers=dummy_kiosk.headers,
    )
    other_title = create_title("아몬드", "손원평")
    create_copy(other_title)
    headers = auth_headers(resident)
    client.post(
        "/api/library/holds",
        json={"title_id": other_title.id, "kiosk_id": dummy_kiosk.id},
        headers=headers,
    )
    body = client.get("/api/library/me", headers=headers).json
    assert [loan["barcode"] for loan in body["loans"]] == [dummy_copy.barcode]
    assert [(h["title"], h["status"]) for h in body["holds"]] == [("아몬드", "waiting")]
    assert body["suspended"] is False and body["loans_left"] == 4


def test_renew_over_http(client, clock, dummy_kiosk, dummy_copy, linked_patron, resident):
    loan = client.post(
        "/api/kiosk/checkouts",
        json=checkout_body(linked_patron, dummy_copy),
        headers=dummy_kiosk.headers,
    ).json
    headers = auth_headers(resident)
    response = client.post(f"/api/library/loans/{loan['loan_id']}/renew", headers=headers)
    assert response.status_code == 200
    assert response.json["due_at"] == "2026-03-23T14:59:59+00:00" and response.json["renewals"] == 1
    again = client.post(f"/api/library/loans/{loan['loan_id']}/renew", headers=headers)
    assert again.status_code == 422 and again.json["code"] == "renewal_limit"


def test_checkout_of_a_title_one_waits_for_collects_the_hold(
    clock, dummy_kiosk, dummy_title, dummy_patron, settings
):
    from library.services import loans

    copy = create_copy(dummy_title, kiosk=create_kiosk())  # in a different kiosk
    hold = holds.place_hold(
        dummy_patron, dummy_title, dummy_kiosk.id, now=clock.now(), settings=settings
    )
    assert hold.status == "waiting"  # nothing in the pickup kiosk yet
    db.session.commit()
    loans.checkout(
        dummy_kiosk.kiosk,
        dummy_patron,
        copy.barcode,
        at=clock.now(),
        now=clock.now(),
        settings=settings,
    )
    db.session.commit()
    assert fresh(Hold, hold.id).status == "collected"
