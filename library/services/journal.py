"""The kiosk transaction journal: one row per (kiosk, transaction_id) holding the first answer.

A retry finds the row and gets the same answer; two identical retries racing collide on the
unique key, and the loser answers with the winner's row. Effects run in a savepoint, so a
refused transaction leaves only its journal row (and, for a wrong PIN, the failure count).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import idempotency
from core.errors import Conflict, DomainError, RuleViolation, error_body
from core.extensions import db
from library.models import Conflict as ConflictItem
from library.models import Kiosk, KioskTransaction
from library.settings import LibrarySettings

SECRET_FIELDS = ("pin",)


def fingerprint(kind: str, request: dict) -> str:
    public = {k: v for k, v in request.items() if k not in SECRET_FIELDS}
    return idempotency.fingerprint([kind, public])


def find(kiosk_id: int, transaction_id: str) -> KioskTransaction | None:
    return db.session.scalar(
        select(KioskTransaction)
        .filter_by(kiosk_id=kiosk_id, transaction_id=transaction_id)
        .execution_options(populate_existing=True)
    )


def conflict_id_for(entry: KioskTransaction) -> int | None:
    """The librarians' conflict a journaled transaction went to, if it went to one."""
    return db.session.scalar(select(ConflictItem.id).filter_by(journal_id=entry.id).limit(1))


def answer(entry: KioskTransaction, kind: str, request: dict) -> tuple[dict, int]:
    if entry.fingerprint != fingerprint(kind, request) or entry.response is None:
        raise Conflict(
            "This transaction_id was already used for a different request",
            errors={"transaction_id": ["Already used for another request."]},
            code="transaction_id_reused",
        )
    return entry.response, entry.status_code


def check_occurred_at(occurred_at: datetime, now: datetime, settings: LibrarySettings) -> None:
    if occurred_at > now + timedelta(seconds=settings.max_clock_skew_seconds):
        raise RuleViolation(
            "occurred_at is in the future; check the kiosk clock",
            errors={"occurred_at": ["In the future."]},
            code="clock_skew",
        )


def claim(
    kiosk: Kiosk,
    kind: str,
    transaction_id: str,
    occurred_at: datetime,
    request: dict,
    *,
    now: datetime,
    replayed: bool = False,
) -> KioskTransaction | None:
    """Insert the journal row first (in a savepoint); None if another request already has it.

    On PostgreSQL a concurrent insert of the same key waits here until the other transaction
    ends, then fails: the caller answers with the stored row.
    """
    public = {k: v for k, v in request.items() if k not in SECRET_FIELDS}
    entry = KioskTransaction(
        kiosk_id=kiosk.id,
        transaction_id=transaction_id,
        kind=kind,
        occurred_at=occurred_at,
        received_at=now,
        replayed=replayed,
        fingerprint=fingerprint(kind, request),
        request=json.loads(json.dumps(public, default=str)),
    )
    try:
        with db.session.begin_nested():
            db.session.add(entry)
            db.session.flush()
    except IntegrityError:
        return None
    return entry


def execute(
    entry: KioskTransaction,
    action: Callable[[], tuple[dict, int]],
    *,
    before: Callable[[], None] | None = None,
) -> tuple[dict, int, DomainError | None]:
    """Run ``before`` (whose writes stay even when it refuses, e.g. a wrong PIN counted), then
    ``action`` in a savepoint; store the answer, success or refusal, in the journal row."""
    refusal = None
    try:
        if before is not None:
            before()
        with db.session.begin_nested():
            body, status = action()
    except DomainError as error:
        refusal = error
        body = error_body(error.status, error.code, error.message, error.errors, **error.details)
        status = error.status
    entry.response, entry.status_code = body, status
    db.session.flush()
    return body, status, refusal


def record_conflict(
    kiosk: Kiosk, entry: KioskTransaction, error: DomainError, *, now: datetime
) -> ConflictItem:
    item = ConflictItem(
        kind="replay",
        kiosk_id=kiosk.id,
        journal_id=entry.id,
        reason=error.code,
        message=error.message,
        details={"transaction": entry.request, "kind": entry.kind, "error": entry.response},
        occurred_at=entry.occurred_at,
        created_at=now,
    )
    db.session.add(item)
    db.session.flush()
    return item


def record_refusal(
    kiosk: Kiosk, kind: str, request: dict, error: DomainError, *, now: datetime
) -> ConflictItem:
    """A replayed transaction refused before it could be journaled (e.g. a reused id)."""
    body = error_body(error.status, error.code, error.message, error.errors, **error.details)
    item = ConflictItem(
        kind="replay",
        kiosk_id=kiosk.id,
        reason=error.code,
        message=error.message,
        details={"transaction": request, "kind": kind, "error": body},
        occurred_at=datetime.fromisoformat(request["occurred_at"]),
        created_at=now,
    )
    db.session.add(item)
    db.session.flush()
    return item
