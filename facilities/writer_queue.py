"""On SQLite, booking requests queue for the database's single writer lock in the kernel.

SQLite lets one transaction write at a time. Waiters poll for the lock with growing sleeps (up
to 100 ms each), so under a booking rush the lock often sits free while every waiter sleeps,
and the unlucky ones wait far longer than the queue in front of them. Taking an exclusive
``flock`` on a file next to the database *before* the transaction starts turns that into a
real queue: the kernel wakes the next request the moment the previous one finishes. PostgreSQL
needs none of this (its row locks already queue), so there it is a no-op.
"""

from __future__ import annotations

import fcntl
import functools
import os

from flask import current_app

from core.extensions import db


def _lock_path() -> str | None:
    engine = db.engine
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    if engine.url.database == ":memory:":
        return None
    return engine.url.database + ".writers.lock"


def queued_writer(view):
    """Run the view holding the SQLite writers' queue (outermost: before authentication)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        path = _lock_path() if current_app.config["FACILITIES_SQLITE_WRITER_QUEUE"] else None
        if path is None:
            return view(*args, **kwargs)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                return view(*args, **kwargs)
            finally:
                # The request's transaction is over by now (committed or failed); end any
                # read the response may have started before letting the next writer in.
                db.session.rollback()
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    return wrapper
