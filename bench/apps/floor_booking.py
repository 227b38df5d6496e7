"""The least an authenticated booking endpoint on this project's stack can do: its floor.

``bench/apps/bare_booking.py`` books with psycopg and no framework, trusting the tokens it read
at start-up. This app does the same work per request (one conditional UPDATE of the slot's
counter, the INSERT, commit; 409 when the UPDATE matched no row) as a Flask view on a
Flask-SQLAlchemy session, the way the app runs its statements (Core statements on the
session's connection, ``core.db.execute_plain``), and adds the one thing no real endpoint can
skip: the caller's token is looked up in the database on every request (a token revoked a
moment ago no longer books). No idempotency, rules, schema, audit or notification: so the
app's booking throughput can be read against both the bare endpoint and the fastest any
Flask and SQLAlchemy endpoint with the same guarantees could be on the same machine.

    BARE_DATABASE_URL=postgresql://... gunicorn --preload bench.apps.floor_booking:app
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from flask import Flask, Response, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, bindparam, event, text

from bench.apps.bare_booking import (
    COUNTERS,
    DATABASE_URL,
    EXCLUSIVE,
    INSERT_BOOKING,
    TAKE_PLACES,
    _add,
)


def _named(statement: str) -> str:
    """psycopg's ``%(name)s`` placeholders as SQLAlchemy's ``:name``."""
    return statement.replace("%(", ":").replace(")s", "")


_CALLER = text(
    "SELECT user_id FROM core_api_token WHERE token_hash = :token_hash"
    " AND revoked_at IS NULL AND expires_at > now()"
)
_TAKE_PLACES = text(_named(TAKE_PLACES))
_INSERT_BOOKING = text(_named(INSERT_BOOKING)).bindparams(bindparam("party", type_=JSON))

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = DATABASE_URL.replace(
    "postgresql://", "postgresql+psycopg://", 1
)
db = SQLAlchemy(app)

with app.app_context():

    @event.listens_for(db.engine, "before_cursor_execute")
    def _statement(*_args):
        _add("statements")

    @event.listens_for(db.engine, "begin")
    def _begin(_connection):
        _add("begins")


@app.get("/bench/counts")
def counts():
    return jsonify({name: counter.value for name, counter in COUNTERS.items()})


@app.post("/bench/counts")
def reset_counts():
    for counter in COUNTERS.values():
        with counter.get_lock():
            counter.value = 0
    return counts()


@app.get("/api/health")
def health():
    return jsonify(status="ok")


@app.post("/api/bookings")
def book() -> tuple[Response, int]:
    token = request.headers.get("Authorization", "").partition(" ")[2]
    connection = db.session.connection()
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    user_id = connection.execute(_CALLER, {"token_hash": token_hash}).scalar()
    if user_id is None:
        db.session.rollback()
        return jsonify(code="unauthorized"), 401
    body = json.loads(request.get_data())
    slot_id, party = body["slot_id"], body["party"]
    size = sum(party.values())
    exclusive = slot_id in EXCLUSIVE
    units = 1 if exclusive else size
    slot = connection.execute(_TAKE_PLACES, {"units": units, "slot_id": slot_id}).first()
    if slot is None:
        db.session.rollback()
        return jsonify(code="slot_full"), 409
    booking_id = connection.execute(
        _INSERT_BOOKING,
        {
            "slot_id": slot_id,
            "user_id": user_id,
            "facility_id": slot.facility_id,
            "starts_at": slot.starts_at,
            "ends_at": slot.ends_at,
            "local_date": slot.local_date,
            "exclusive": exclusive,
            "party": party,
            "size": size,
            "units": units,
            "now": datetime.now(UTC),
        },
    ).scalar_one()
    db.session.commit()
    return jsonify(id=booking_id, slot_id=slot_id, status="held"), 201
