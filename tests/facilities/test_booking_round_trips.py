"""What a booking request asks of the database before it may write: two statements, the person's
token and one that reads the slot together with a retry's first answer; on PostgreSQL outside
any transaction (no BEGIN, no ROLLBACK), on SQLite on a snapshot (never the write lock)."""

import contextlib

from sqlalchemy import event, func, select

from core.extensions import db
from facilities.models import Booking
from tests.fixtures.facilities import create_slot, kst
from tests.fixtures.users import auth_headers


class Seen(list):
    """(verb, autocommit) pairs, with each statement's whole text in ``texts``."""

    def __init__(self):
        super().__init__()
        self.texts = []


@contextlib.contextmanager
def statements_sent():
    """Each statement sent on the app's engine: its first word (a BEGIN whole), and whether the
    driver was in autocommit (PostgreSQL; None on SQLite, whose BEGIN is a statement); and
    each COMMIT."""
    seen = Seen()

    def record(connection, _cursor, statement, _params, _context, _many):
        seen.texts.append(statement)
        raw = connection.connection.dbapi_connection
        autocommit = raw.autocommit if connection.dialect.name == "postgresql" else None
        verb = statement.split(None, 1)[0].upper()
        seen.append((statement.strip().upper() if verb == "BEGIN" else verb, autocommit))

    def committed(_connection):
        seen.append(("COMMIT", None))

    event.listen(db.engine, "before_cursor_execute", record)
    event.listen(db.engine, "commit", committed)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        event.remove(db.engine, "commit", committed)


def post_booking(client, headers, slot_id, **extra):
    return client.post(
        "/api/bookings",
        json={"slot_id": slot_id, "party": {"adult": 1}},
        headers={**headers, **extra},
    )


def assert_read_only_and_alone(seen):
    # A replay's unit of work ends with a commit: in autocommit psycopg sends nothing for it.
    seen = [entry for entry in seen if entry != ("COMMIT", None)]
    if db.engine.dialect.name == "postgresql":
        assert seen == [("SELECT", True), ("SELECT", True)]
    else:
        assert seen == [("BEGIN", None), ("SELECT", None), ("SELECT", None)]


def test_a_refused_booking_reads_twice_and_opens_no_write_transaction(client, resident, dummy_rink):
    full = create_slot(dummy_rink, kst("2026-03-10"), capacity=2, booked=2).id
    headers = auth_headers(resident)  # commits: the request begins with nothing open
    with statements_sent() as seen:
        response = post_booking(client, headers, full, **{"Idempotency-Key": "full-1"})
    assert response.status_code == 409 and response.json["code"] == "slot_full"
    assert_read_only_and_alone(seen)


def test_a_retry_is_replayed_from_the_statement_that_reads_the_slot(client, resident, dummy_rink):
    # The first request takes the last place: its retry still gets the first answer, never
    # "full", because the answer and the slot are read together.
    last_place = create_slot(dummy_rink, kst("2026-03-10"), capacity=1).id
    headers = auth_headers(resident)
    first = post_booking(client, headers, last_place, **{"Idempotency-Key": "last-1"})
    assert first.status_code == 201
    with statements_sent() as seen:
        again = post_booking(client, headers, last_place, **{"Idempotency-Key": "last-1"})
    assert again.status_code == 201 and again.json == first.json
    assert_read_only_and_alone(seen)
    assert db.session.scalar(select(func.count(Booking.id))) == 1


def test_a_winning_booking_writes_in_one_transaction(client, resident, rink_slot):
    slot = rink_slot.id
    headers = auth_headers(resident)
    with statements_sent() as seen:
        response = post_booking(client, headers, slot, **{"Idempotency-Key": "win-1"})
    assert response.status_code == 201
    booking = seen[: seen.index(("COMMIT", None))]  # then the notification is delivered
    writes = [(verb, autocommit) for verb, autocommit in booking if verb in ("INSERT", "UPDATE")]
    # The slot's places taken by the statement that locks its row (no SELECT ... FOR UPDATE
    # of the slot before), then the booking, the notification and the retry's record.
    assert [verb for verb, _ in writes] == ["UPDATE", "INSERT", "INSERT", "INSERT"]
    assert not [t for t in seen.texts if "FOR UPDATE" in t and "facilities_slot" in t]
    if db.engine.dialect.name == "postgresql":
        assert all(autocommit is False for _, autocommit in writes)
    else:
        assert ("BEGIN IMMEDIATE", None) in booking
