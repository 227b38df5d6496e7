"""Refusals that add fields to the one error shape (``{"code", "status", "message"}`` and, say,
``suspended_until``) document those fields on every operation that answers with them. The
document's error schemas allow no other properties, so an undocumented field makes the answer
break the document that clients are generated from and checked against.

Each case builds a real state that reaches one such refusal, makes the request through the
test client and validates the answer against what ``/api/openapi.json`` documents for that
operation and status. The last test walks the source for every refusal that adds fields and
asks for a case here that meets it, so a new one cannot go undocumented unnoticed."""

from __future__ import annotations

import ast
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis

from core.errors import DomainError
from core.extensions import db
from facilities.models import Suspension
from facilities.services import booking as bookings
from library.services import holds
from tests.fixtures.archive import create_record, image_bytes, upload, use_archive_settings
from tests.fixtures.facilities import (
    book,
    create_facility,
    create_resource,
    create_slot,
    kst,
    now,
)
from tests.fixtures.library import (
    PIN,
    checkout_body,
    create_copy,
    create_kiosk,
    create_patron,
    create_title,
    lib_settings,
    tx,
)
from tests.fixtures.users import auth_headers, create_user

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str  # as the document names it
    status: int
    code: str
    fields: tuple[str, ...]
    build: Callable  # (client, clock, monkeypatch) -> the refusal's response


CASES: list[Case] = []


def case(method, path, status, code, *fields):
    def register(build):
        CASES.append(Case(build.__name__, method, path, status, code, fields, build))
        return build

    return register


@pytest.fixture(scope="module")
def documented(app):
    """Checks an answer against its operation's documented answer for that status."""
    spec = app.test_client().get("/api/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(spec)

    def check(method: str, path: str, response) -> None:
        responses = spec["paths"][path][method.lower()]["responses"]
        assert str(response.status_code) in responses, (
            f"{method} {path} does not document {response.status_code}"
        )
        schema[path][method].validate_response(response)

    return check


@pytest.mark.parametrize("refusal", CASES, ids=lambda c: c.name)
def test_a_refusal_with_details_matches_its_documented_answer(
    client, clock, monkeypatch, documented, refusal
):
    response = refusal.build(client, clock, monkeypatch)
    body = response.get_json()
    assert response.status_code == refusal.status, body
    assert body["code"] == refusal.code, body
    assert set(refusal.fields) <= set(body), body
    documented(refusal.method, refusal.path, response)


# --- facilities --------------------------------------------------------------------------

SUSPENDED_FOR = timedelta(days=3)


def _rink_slot(day="2026-03-10", **fields):
    return create_slot(create_resource(create_facility()), kst(day, "18:00"), **fields)


def _suspended_resident():
    resident = create_user()
    db.session.add(
        Suspension(
            user_id=resident.id,
            starts_at=now(),
            ends_at=now() + SUSPENDED_FOR,
            reason="no-shows",
        )
    )
    db.session.commit()
    return resident


def _post_booking(client, user, slot):
    return client.post(
        "/api/bookings",
        json={"slot_id": slot.id, "party": {"adult": 1}},
        headers=auth_headers(user),
    )


@case("POST", "/api/bookings", 403, "booking_suspended", "suspended_until")
def booking_while_suspended(client, clock, monkeypatch):
    return _post_booking(client, _suspended_resident(), _rink_slot())


@case("POST", "/api/bookings", 409, "slot_full", "remaining")
def booking_a_full_session(client, clock, monkeypatch):
    return _post_booking(client, create_user(), _rink_slot(capacity=2, booked=2))


@case("POST", "/api/bookings", 422, "booking_not_open", "bookable_from")
def booking_before_it_opens(client, clock, monkeypatch):
    # The suite's clock opens booking for 2026-03-16; the 20th opens four days later.
    return _post_booking(client, create_user(), _rink_slot("2026-03-20"))


@case("POST", "/api/manager/bookings", 409, "slot_full", "remaining")
def booking_at_the_counter_a_full_session(client, clock, monkeypatch):
    slot = _rink_slot(capacity=2, booked=2)
    return client.post(
        "/api/manager/bookings",
        json={"slot_id": slot.id, "party": {"adult": 1}, "user_id": create_user().id},
        headers=auth_headers(create_user(("facility_manager",))),
    )


@case("POST", "/api/slots/{slot_id}/waitlist", 403, "booking_suspended", "suspended_until")
def waitlisting_while_suspended(client, clock, monkeypatch):
    slot = _rink_slot(capacity=2, booked=2)
    return client.post(
        f"/api/slots/{slot.id}/waitlist",
        json={"party": {"adult": 1}},
        headers=auth_headers(_suspended_resident()),
    )


@case("POST", "/api/slots/{slot_id}/waitlist", 422, "booking_not_open", "bookable_from")
def waitlisting_before_booking_opens(client, clock, monkeypatch):
    slot = _rink_slot("2026-03-20", capacity=2, booked=2)
    return client.post(
        f"/api/slots/{slot.id}/waitlist",
        json={"party": {"adult": 1}},
        headers=auth_headers(create_user()),
    )


@case("POST", "/api/check-ins", 422, "checkin_window", "checkin_opens", "checkin_closes")
def checking_in_days_early(client, clock, monkeypatch):
    resident = create_user()
    booking = book(resident, _rink_slot())
    bookings.confirm(booking, now(), actor="payments", payment_reference=f"pg-{booking.id}")
    db.session.commit()
    code = client.get(f"/api/bookings/{booking.id}", headers=auth_headers(resident)).get_json()[
        "check_in_code"
    ]
    return client.post(
        "/api/check-ins",
        json={"code": code},
        headers=auth_headers(create_user(("facility_manager",))),
    )


# --- library: residents and librarians ---------------------------------------------------


def _hold_request(client, user, title=None, kiosk=None):
    title = title or create_copy().title_ref
    kiosk = kiosk or create_kiosk()
    return client.post(
        "/api/library/holds",
        json={"title_id": title.id, "kiosk_id": kiosk.id},
        headers=auth_headers(user),
    )


def _patron_for_hold(**standing):
    resident = create_user()
    patron = create_patron(user=resident)
    for name, value in standing.items():
        setattr(patron, name, value)
    db.session.commit()
    return resident, patron


@case("POST", "/api/library/holds", 409, "hold_exists", "hold_id")
def holding_a_title_twice(client, clock, monkeypatch):
    resident, _ = _patron_for_hold()
    title, kiosk = create_copy().title_ref, create_kiosk()
    assert _hold_request(client, resident, title, kiosk).status_code == 201
    return _hold_request(client, resident, title, kiosk)


@case("POST", "/api/library/holds", 422, "patron_suspended", "suspended_until")
def holding_while_suspended(client, clock, monkeypatch):
    resident, _ = _patron_for_hold(suspended_until=now() + SUSPENDED_FOR)
    return _hold_request(client, resident)


@case("POST", "/api/library/holds", 422, "holds_barred", "holds_barred_until")
def holding_after_missed_pickups(client, clock, monkeypatch):
    resident, _ = _patron_for_hold(holds_barred_until=now() + timedelta(days=30))
    return _hold_request(client, resident)


@case("POST", "/api/library/holds", 422, "hold_limit_reached", "limit")
def holding_more_than_the_limit(client, clock, monkeypatch):
    resident, patron = _patron_for_hold()
    kiosk = create_kiosk()
    for _ in range(lib_settings().hold_limit):
        title = create_copy().title_ref
        holds.place_hold(patron, title, kiosk.id, now=now(), settings=lib_settings())
    db.session.commit()
    return _hold_request(client, resident, kiosk=kiosk)


@case("POST", "/api/library/titles", 409, "isbn_exists", "title_id")
def cataloguing_an_isbn_twice(client, clock, monkeypatch):
    title = create_title()
    return client.post(
        "/api/library/titles",
        json={"isbn": title.isbn, "title": "다른 책", "author": "누군가"},
        headers=auth_headers(create_user(("librarian",))),
    )


@case("POST", "/api/library/kiosks/{kiosk_id}/slots/{slot}/load", 409, "slot_occupied", "barcode")
def loading_an_occupied_slot(client, clock, monkeypatch):
    kiosk = create_kiosk()
    create_copy(kiosk=kiosk, slot=3)
    return client.post(
        f"/api/library/kiosks/{kiosk.id}/slots/3/load",
        json={"barcode": create_copy().barcode},
        headers=auth_headers(create_user(("librarian",))),
    )


# --- library: kiosks ---------------------------------------------------------------------


def _checkout(client, kiosk, body):
    return client.post("/api/kiosk/checkouts", json=body, headers=kiosk.headers)


def _return(client, kiosk, body):
    return client.post("/api/kiosk/returns", json=body, headers=kiosk.headers)


def _replay(client, kiosk, kind, at, **fields) -> dict:
    """One transaction the kiosk queued offline, sent now; its result."""
    item = {"transaction_id": str(uuid.uuid4()), "occurred_at": at.isoformat(), "type": kind}
    response = client.post(
        "/api/kiosk/replay", json={"transactions": [item | fields]}, headers=kiosk.headers
    )
    (result,) = response.get_json()["results"]
    return item | fields | {"result": result}


def _lent(client, kiosk, patron=None):
    """A copy lent at the kiosk a moment ago."""
    copy = create_copy(kiosk=kiosk)
    lent = _checkout(client, kiosk, checkout_body(patron or create_patron(), copy))
    assert lent.status_code == 201, lent.get_json()
    return copy


def _full_kiosk_with_room_nearby(client):
    """A one-slot kiosk, full, with a copy lent there; another kiosk nearby has room."""
    small = create_kiosk(slots=1, latitude=37.50, longitude=127.03)
    create_kiosk(slots=5, latitude=37.51, longitude=127.03)
    lent = _lent(client, small)
    create_copy(kiosk=small)
    return small, lent


def _verify(client, kiosk, patron, pin):
    return client.post(
        "/api/kiosk/patrons/verify",
        json={"card_number": patron.card_number, "pin": pin},
        headers=kiosk.headers,
    )


def _locked_patron():
    patron = create_patron()
    patron.pin_locked_until = now() + timedelta(minutes=15)
    db.session.commit()
    return patron


@case("POST", "/api/kiosk/patrons/verify", 401, "invalid_card_or_pin", "attempts_left")
def logging_in_with_a_wrong_pin(client, clock, monkeypatch):
    return _verify(client, create_kiosk(), create_patron(), "0000")


@case("POST", "/api/kiosk/patrons/verify", 423, "card_locked", "locked_until")
def logging_in_with_a_wrong_pin_once_too_often(client, clock, monkeypatch):
    kiosk, patron = create_kiosk(), create_patron()
    for _ in range(lib_settings().pin_max_failures - 1):
        assert _verify(client, kiosk, patron, "0000").status_code == 401
    return _verify(client, kiosk, patron, "0000")


@case("POST", "/api/kiosk/checkouts", 401, "invalid_card_or_pin", "attempts_left")
def borrowing_with_a_wrong_pin(client, clock, monkeypatch):
    kiosk = create_kiosk()
    copy = create_copy(kiosk=kiosk)
    return _checkout(client, kiosk, checkout_body(create_patron(), copy, pin="0000"))


@case("POST", "/api/kiosk/checkouts", 423, "card_locked", "locked_until")
def borrowing_with_a_locked_card(client, clock, monkeypatch):
    kiosk = create_kiosk()
    return _checkout(client, kiosk, checkout_body(_locked_patron(), create_copy(kiosk=kiosk)))


@case("POST", "/api/kiosk/checkouts", 409, "function_unavailable", "function", "faults")
def borrowing_at_a_kiosk_with_a_fault(client, clock, monkeypatch):
    kiosk = create_kiosk()
    copy = create_copy(kiosk=kiosk)
    client.post(
        "/api/kiosk/heartbeat", json={"faults": ["rfid_reader_error"]}, headers=kiosk.headers
    )
    return _checkout(client, kiosk, checkout_body(create_patron(), copy))


@case("POST", "/api/kiosk/checkouts", 409, "copy_changed_since", "changed_at")
def borrowing_live_what_a_stale_replay_was_refused(client, clock, monkeypatch):
    # The copy was loaded after the queued checkout happened: the replay is refused, and a
    # live send of the same transaction gets that first answer from the journal.
    kiosk, patron = create_kiosk(), create_patron()
    copy = create_copy(kiosk=kiosk)
    queued = _replay(
        client,
        kiosk,
        "checkout",
        now() - timedelta(minutes=5),
        card_number=patron.card_number,
        barcode=copy.barcode,
    )
    assert queued["result"]["status"] == 409
    body = {k: queued[k] for k in ("transaction_id", "occurred_at", "card_number", "barcode")}
    return _checkout(client, kiosk, body | {"pin": PIN})


@case("POST", "/api/kiosk/checkouts", 422, "patron_suspended", "suspended_until")
def borrowing_while_suspended(client, clock, monkeypatch):
    kiosk, patron = create_kiosk(), create_patron()
    patron.suspended_until = now() + SUSPENDED_FOR
    db.session.commit()
    return _checkout(client, kiosk, checkout_body(patron, create_copy(kiosk=kiosk)))


@case("POST", "/api/kiosk/checkouts", 422, "overdue_loans", "overdue_loan_ids")
def borrowing_with_a_book_overdue(client, clock, monkeypatch):
    kiosk, patron = create_kiosk(), create_patron()
    _lent(client, kiosk, patron)
    clock.advance(days=30)
    return _checkout(client, kiosk, checkout_body(patron, create_copy(kiosk=kiosk)))


@case("POST", "/api/kiosk/checkouts", 422, "loan_limit_reached", "limit")
def borrowing_over_the_loan_limit(client, clock, monkeypatch):
    kiosk, patron = create_kiosk(), create_patron(loan_limit=1)
    _lent(client, kiosk, patron)
    return _checkout(client, kiosk, checkout_body(patron, create_copy(kiosk=kiosk)))


@case("POST", "/api/kiosk/returns", 409, "function_unavailable", "function", "faults")
def returning_at_a_kiosk_with_a_jammed_slot(client, clock, monkeypatch):
    kiosk = create_kiosk()
    copy = _lent(client, kiosk)
    client.post(
        "/api/kiosk/heartbeat", json={"faults": ["return_slot_jammed"]}, headers=kiosk.headers
    )
    return _return(client, kiosk, tx(barcode=copy.barcode))


@case("POST", "/api/kiosk/returns", 409, "kiosk_full", "nearby")
def returning_at_a_full_kiosk(client, clock, monkeypatch):
    small, lent = _full_kiosk_with_room_nearby(client)
    return _return(client, small, tx(barcode=lent.barcode))


def _return_queued_before_the_loan(client, clock):
    kiosk = create_kiosk()
    copy = _lent(client, kiosk)
    queued = _replay(
        client, kiosk, "return", now() - timedelta(minutes=10), barcode=copy.barcode, slot=None
    )
    assert queued["result"]["status"] == 409
    return kiosk, queued


@case("POST", "/api/kiosk/returns", 409, "copy_changed_since", "changed_at")
def returning_live_what_a_stale_replay_was_refused(client, clock, monkeypatch):
    kiosk, queued = _return_queued_before_the_loan(client, clock)
    body = {k: queued[k] for k in ("transaction_id", "occurred_at", "barcode", "slot")}
    return _return(client, kiosk, body)


def _resolve(client, conflict_id):
    return client.post(
        f"/api/library/conflicts/{conflict_id}/resolve",
        json={"resolution": "기록대로 처리", "apply": True},
        headers=auth_headers(create_user(("librarian",))),
    )


@case(
    "POST",
    "/api/library/conflicts/{conflict_id}/resolve",
    409,
    "copy_changed_since",
    "changed_at",
)
def applying_a_return_queued_before_its_loan(client, clock, monkeypatch):
    _, queued = _return_queued_before_the_loan(client, clock)
    return _resolve(client, queued["result"]["conflict_id"])


@case("POST", "/api/library/conflicts/{conflict_id}/resolve", 409, "kiosk_full", "nearby")
def applying_a_return_queued_at_a_full_kiosk(client, clock, monkeypatch):
    small, lent = _full_kiosk_with_room_nearby(client)
    queued = _replay(client, small, "return", now(), barcode=lent.barcode, slot=None)
    assert queued["result"]["response"]["code"] == "kiosk_full"
    return _resolve(client, queued["result"]["conflict_id"])


# --- archive -----------------------------------------------------------------------------


def _archivist_headers():
    return auth_headers(create_user(("archivist",)))


@case("PATCH", "/api/archive/records/{record_id}", 409, "conflict", "current_version", "changes")
def changing_a_record_someone_changed(client, clock, monkeypatch):
    headers = _archivist_headers()
    url = f"/api/archive/records/{create_record().id}"
    assert client.patch(url, json={"title": "A", "version": 1}, headers=headers).status_code == 200
    return client.patch(url, json={"title": "B", "version": 1}, headers=headers)


@case("POST", "/api/archive/records/{record_id}/media", 413, "payload_too_large", "limit")
def uploading_a_file_over_the_limit(client, clock, monkeypatch):
    use_archive_settings(monkeypatch, max_upload_bytes=10_000)
    data = image_bytes("PNG", size=(400, 400)) + b"\0" * 20_000
    return upload(client, create_record().id, data, _archivist_headers())


@case("POST", "/api/archive/records/{record_id}/media", 415, "unsupported_media_type", "reason")
def uploading_something_not_an_image(client, clock, monkeypatch):
    return upload(client, create_record().id, b"%PDF-1.4 not an image", _archivist_headers())


# --- every refusal that adds fields has a case ---------------------------------------------

# Keywords of a DomainError that do not become fields of the body.
NOT_FIELDS = {"errors", "code", "headers", "retry_after"}


def _domain_errors() -> dict[str, type[DomainError]]:
    found, todo = {}, [DomainError]
    while todo:
        cls = todo.pop()
        found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


def _codes(node: ast.expr | None, default: str) -> list[str] | None:
    if node is None:
        return [default]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        first, second = _codes(node.body, default), _codes(node.orelse, default)
        return None if first is None or second is None else first + second
    return None


def _refusals_with_fields():
    """(where, code, fields) of every DomainError raised in the source with fields added."""
    classes = _domain_errors()
    for package in ("core", "facilities", "library", "archive"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name not in classes:
                    continue
                keywords = {k.arg: k.value for k in node.keywords}
                fields = frozenset(k for k in keywords if k not in NOT_FIELDS)
                if fields:
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    yield where, _codes(keywords.get("code"), classes[name].code), fields


def test_every_refusal_that_adds_fields_has_a_case_here():
    covered = {(c.code, frozenset(c.fields)) for c in CASES}
    refusals = list(_refusals_with_fields())
    assert len(refusals) >= 20  # the walk finds the refusals (it found 25 when written)
    missing = []
    for where, codes, fields in refusals:
        if None in fields:
            missing.append(f"{where}: fields passed as **mapping; name them")
        elif codes is None:
            missing.append(f"{where}: a code this test cannot read; use a literal")
        else:
            missing += [
                f"{where}: {code} with {sorted(fields)}"
                for code in codes
                if (code, fields) not in covered
            ]
    assert not missing, "refusals with fields no case here reaches:\n" + "\n".join(missing)
