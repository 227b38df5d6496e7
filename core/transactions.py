"""One commit per request, CLI command or job: the unit of work.

Every door runs its call into the domain inside ``unit_of_work()``: the Blueprint wraps every
view (``core.http``), ``core.cli.commit_or_fail`` every command, ``core.jobs`` every job. Services
flush and never commit, so a use case called from any door is committed once, by that door,
when it succeeds, and rolled back whole when it raises. Units nest: only the outermost commits.

A use case that needs another shape (the booking: a snapshot read, then a short write
transaction with its idempotency record) commits inside through ``core.idempotency.run_once``;
the door's unit then finds nothing left to commit.
"""

from __future__ import annotations

import contextlib
import functools

from core.db import intent
from core.errors import DomainError
from core.extensions import db

_DEPTH = "unit_of_work_depth"


@contextlib.contextmanager
def unit_of_work():
    """Commit when the outermost unit ends; roll back when it raises, except for a refusal
    whose changes must stand (``DomainError.keeping_changes()``: a wrong PIN is counted)."""
    info = db.session.info
    depth = info.get(_DEPTH, 0)
    info[_DEPTH] = depth + 1
    try:
        yield
    except DomainError as refusal:
        if depth == 0:
            settle_refusal(refusal)
        raise
    except BaseException:
        if depth == 0:
            db.session.rollback()
        raise
    else:
        if depth == 0:
            _end(commit=True)
    finally:
        info[_DEPTH] = depth


def _end(*, commit: bool) -> None:
    if not db.session().in_transaction():  # nothing begun, or the use case committed itself
        return
    if commit:
        db.session.commit()
    else:
        db.session.rollback()


def settle_refusal(refusal: DomainError) -> None:
    """End the transaction of a refused use case as a refused request's is: rolled back, or
    committed when the refusal keeps its changes. For a door that shows the refusal itself (a
    page renders the form again) instead of letting it end the unit."""
    _end(commit=refusal.keeps_changes)


def in_unit_of_work(fn):
    """Decorator form of ``unit_of_work()``."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with unit_of_work():
            return fn(*args, **kwargs)

    return run


@contextlib.contextmanager
def snapshot():
    """Read without taking the write lock (SQLite takes it at BEGIN IMMEDIATE), and end the
    read after. For the part of a use case that only looks (a device's key, a password's
    hash, whether a slot is visibly full) before slow work or before deciding to write: a
    refusal then never queues for the single writer, and slow work (Argon2) holds no lock."""
    with intent(writes=False):
        try:
            yield
        finally:
            db.session.rollback()
