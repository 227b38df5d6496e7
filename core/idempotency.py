"""Replay the first answer to a retried request (``Idempotency-Key`` header).

The record is written in the same transaction as the action's effects: if two retries race,
the unique constraint lets one commit and the other roll back everything it did, then answer
with the winner's stored response.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Row, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from core.db import execute_plain, intent
from core.errors import Conflict, DomainError, RuleViolation
from core.extensions import db
from core.models import IdempotencyRecord

MAX_KEY_LENGTH = 200
HEADER = "Idempotency-Key"
# The header as an OpenAPI parameter, for every operation that takes it.
HEADER_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
    "description": "A retry with the same key returns the first answer",
}


def fingerprint(payload: object) -> str:
    """A stable hash of a JSON-like request, to tell a true retry from a reused key."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


# Built once, and only the columns a replay needs: looked up on every keyed request.
_STORED = select(
    IdempotencyRecord.fingerprint, IdempotencyRecord.status_code, IdempotencyRecord.response
).where(
    IdempotencyRecord.scope == bindparam("scope"),
    IdempotencyRecord.owner == bindparam("owner"),
    IdempotencyRecord.key == bindparam("key"),
)


_RECORD = insert(IdempotencyRecord.__table__)


def _stored_column(column, label: str):
    return (
        select(column)
        .where(
            IdempotencyRecord.scope == bindparam("idempotency_scope"),
            IdempotencyRecord.owner == bindparam("idempotency_owner"),
            IdempotencyRecord.key == bindparam("idempotency_key"),
        )
        .scalar_subquery()
        .label(label)
    )


# The first answer's columns as scalar subqueries, for a use case that reads them in the same
# statement as what it checks next: one round trip, and one snapshot on every database (two
# statements on PostgreSQL see two). Parameters: ``lookup_parameters(...)``; read the row
# with ``replay_from``. Each is a probe of the record's unique index.
STORED_COLUMNS = (
    _stored_column(IdempotencyRecord.fingerprint, "stored_fingerprint"),
    _stored_column(IdempotencyRecord.status_code, "stored_status_code"),
    _stored_column(IdempotencyRecord.response, "stored_response"),
)


def lookup_parameters(*, scope: str, owner: str, key: str | None) -> dict:
    """The parameters of ``STORED_COLUMNS``, after the key's own check (a 422 if too long)."""
    if key:
        _check_key(key)
    return {"idempotency_scope": scope, "idempotency_owner": owner, "idempotency_key": key}


def replay_from(row: Row, payload: object) -> tuple[dict, int] | None:
    """The first answer to replay, from a row read with ``STORED_COLUMNS``, or None."""
    if row.stored_fingerprint is None:
        return None
    return _replay(
        row.stored_fingerprint, row.stored_status_code, row.stored_response, fingerprint(payload)
    )


def stored(scope: str, owner: str, key: str) -> Row | None:
    """The first answer recorded for this key: ``fingerprint``, ``status_code``, ``response``."""
    return execute_plain(_STORED, {"scope": scope, "owner": owner, "key": key}).first()


def _replay(
    stored_fingerprint: str, status_code: int, response: dict, request_hash: str
) -> tuple[dict, int]:
    if stored_fingerprint != request_hash:
        raise Conflict(
            "This Idempotency-Key was already used for a different request",
            code="idempotency_key_reused",
        )
    return response, status_code


def _replay_record(record: Row, request_hash: str) -> tuple[dict, int]:
    return _replay(record.fingerprint, record.status_code, record.response, request_hash)


def _check_key(key: str) -> None:
    if len(key) > MAX_KEY_LENGTH:
        raise RuleViolation("Idempotency-Key is too long", errors={"Idempotency-Key": ["max 200"]})


def answered(
    *, scope: str, owner: str, key: str | None, payload: object
) -> tuple[dict, int] | None:
    """The first answer to replay for this key, or None: a check a request can make early (in
    a read-only snapshot) before it decides to act, then telling ``run_once`` it has looked."""
    if not key:
        return None
    _check_key(key)
    existing = stored(scope, owner, key)
    return _replay_record(existing, fingerprint(payload)) if existing is not None else None


def run_once(
    *,
    scope: str,
    owner: str,
    key: str | None,
    payload: object,
    now: datetime,
    action: Callable[[], tuple[dict, int]],
    looked_up: bool = False,
) -> tuple[dict, int]:
    """Run ``action`` (which flushes, never commits) at most once per key, and commit.

    ``looked_up``: the caller has just asked ``answered()`` in this request, so the lookup is
    not repeated here (on SQLite it would run while holding the write lock). A retry that
    commits in between is still replayed: the action's effects break a rule or a unique key
    (a second booking of one slot by one person), or the record's own key does, and then the
    first answer is looked up again."""
    if not key:
        result = action()
        db.session.commit()
        return result
    _check_key(key)
    request_hash = fingerprint(payload)
    if not looked_up:
        existing = stored(scope, owner, key)
        if existing is not None:
            return _replay_record(existing, request_hash)
    try:
        body, status = action()
        # A plain INSERT rather than a unit-of-work flush: this runs inside the action's
        # write transaction, which on SQLite holds the database's single write lock.
        db.session.execute(
            _RECORD,
            {
                "scope": scope,
                "owner": owner,
                "key": key,
                "fingerprint": request_hash,
                "status_code": status,
                "response": body,
                "created_at": now,
            },
        )
        db.session.commit()
    except (IntegrityError, DomainError):
        db.session.rollback()
        with intent(writes=False):  # only a read: no second wait for SQLite's write lock
            existing = stored(scope, owner, key)
        if existing is None:
            raise
        return _replay_record(existing, request_hash)
    return body, status
