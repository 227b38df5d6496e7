"""The least a booking endpoint can do on PostgreSQL, to measure the app's booking path against.

A WSGI app with no framework: ``POST /api/bookings`` reads the bearer token and the JSON body,
takes the places with one conditional UPDATE of the slot's counter (``booked + n <= capacity``,
so it can never overbook), inserts the booking and commits: 201, or 409 when the UPDATE matched
no row. No idempotency, rules, audit, notifications or schema; residents' tokens and which
slots are exclusive are read once at start-up and kept in memory, so no lookup is made per
request. ``bench/booking_rush.py`` serves it with the same gunicorn settings as the app
(``--preload``, the same workers, this project's ``gunicorn.conf.py``).

    BARE_DATABASE_URL=postgresql://... gunicorn --preload bench.apps.bare_booking:app
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from datetime import UTC, datetime

import psycopg
from psycopg.types.json import Json

DATABASE_URL = os.environ["BARE_DATABASE_URL"]

TAKE_PLACES = (
    "UPDATE facilities_slot SET booked = booked + %(units)s"
    " WHERE id = %(slot_id)s AND booked + %(units)s <= capacity"
    " RETURNING facility_id, starts_at, ends_at, local_date"
)
INSERT_BOOKING = (
    "INSERT INTO facilities_booking (slot_id, user_id, facility_id, starts_at, ends_at,"
    " local_date, is_exclusive, party, party_size, units, status, price, price_lines, is_offer,"
    " created_at, created_by_id) VALUES (%(slot_id)s, %(user_id)s, %(facility_id)s,"
    " %(starts_at)s, %(ends_at)s, %(local_date)s, %(exclusive)s, %(party)s, %(size)s,"
    " %(units)s, 'held', 0, '[]', false, %(now)s, %(user_id)s) RETURNING id"
)


def _load() -> tuple[dict[str, int], set[int]]:
    """Every token's user, and the exclusive slots (a curling sheet's): read once, in the
    master before it forks, on a connection closed before the workers open their own."""
    with psycopg.connect(DATABASE_URL) as connection:
        users = dict(connection.execute("SELECT token_hash, user_id FROM core_api_token"))
        exclusive = {
            slot_id
            for (slot_id,) in connection.execute(
                "SELECT s.id FROM facilities_slot s"
                " JOIN facilities_resource r ON r.id = s.resource_id WHERE r.kind = 'sheet'"
            )
        }
    return users, exclusive


USERS, EXCLUSIVE = _load()
_connection: psycopg.Connection | None = None
# Shared by the forked workers, as bench/apps/counted_wsgi.py counts the app's.
COUNTERS = {name: multiprocessing.Value("q", 0) for name in ("statements", "begins", "pings")}


def _add(name: str, n: int = 1) -> None:
    counter = COUNTERS[name]
    with counter.get_lock():
        counter.value += n


def _database() -> psycopg.Connection:
    global _connection
    if _connection is None or _connection.closed:  # one per worker, opened after the fork
        _connection = psycopg.connect(DATABASE_URL)
    return _connection


def _answer(start_response, status: str, body: dict) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


def book(environ) -> tuple[str, dict]:
    token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")[2]
    user_id = USERS.get(hashlib.sha256(token.encode()).hexdigest())
    if user_id is None:
        return "401 Unauthorized", {"code": "unauthorized"}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    request = json.loads(environ["wsgi.input"].read(length))
    slot_id, party = request["slot_id"], request["party"]
    size = sum(party.values())
    exclusive = slot_id in EXCLUSIVE
    units = 1 if exclusive else size
    connection = _database()
    try:
        slot = connection.execute(TAKE_PLACES, {"units": units, "slot_id": slot_id}).fetchone()
        _add("begins")
        _add("statements")
        if slot is None:
            connection.rollback()
            return "409 Conflict", {"code": "slot_full"}
        facility_id, starts_at, ends_at, local_date = slot
        (booking_id,) = connection.execute(
            INSERT_BOOKING,
            {
                "slot_id": slot_id,
                "user_id": user_id,
                "facility_id": facility_id,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "local_date": local_date,
                "exclusive": exclusive,
                "party": Json(party),
                "size": size,
                "units": units,
                "now": datetime.now(UTC),
            },
        ).fetchone()
        _add("statements")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return "201 Created", {"id": booking_id, "slot_id": slot_id, "status": "held"}


def app(environ, start_response):
    path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
    if path == "/api/health":
        return _answer(start_response, "200 OK", {"status": "ok"})
    if path == "/bench/counts":
        if method == "POST":
            for counter in COUNTERS.values():
                with counter.get_lock():
                    counter.value = 0
        return _answer(start_response, "200 OK", {k: c.value for k, c in COUNTERS.items()})
    if path == "/api/bookings" and method == "POST":
        return _answer(start_response, *book(environ))
    return _answer(start_response, "404 Not Found", {"code": "not_found"})
