"""Database plumbing shared by every domain: UTC timestamps, SQLite tuning, write locking."""

from __future__ import annotations

import contextlib
import contextvars
from datetime import UTC, datetime

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from core import writer_queue
from core.extensions import db

# SQLite takes its write lock lazily, so two transactions that both read and then write can
# deadlock on the upgrade (SQLITE_BUSY with no waiting). Transactions that may write therefore
# start with BEGIN IMMEDIATE and queue on the busy timeout instead. Safe requests (GET, HEAD)
# clear this flag so readers never wait for writers (WAL lets them read a snapshot).
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)


@contextlib.contextmanager
def intent(*, writes: bool):
    """Transactions begun inside may write (SQLite: BEGIN IMMEDIATE) or only read (a plain
    BEGIN on a snapshot), whatever the surrounding request or job said; restored after."""
    token = write_intent.set(writes)
    try:
        yield
    finally:
        write_intent.reset(token)


# Identifiers are INTEGER columns. PostgreSQL refuses a bigger number in a query with an error
# rather than finding no row, so ids from clients are checked against this before they get there.
MAX_INTEGER_ID = 2**31 - 1


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC timestamp is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, a busy timeout, foreign keys, explicit BEGIN (IMMEDIATE when writing), and writers
    queued on a lock file beside a database file (see core.writer_queue)."""
    database = engine.url.database or ""
    queued = database not in ("", ":memory:") and not database.startswith("file:")
    if queued:
        connection_class = writer_queue.connection_class(
            f"{database}-writers.lock", busy_timeout_ms / 1000
        )

        @event.listens_for(engine, "do_connect")
        def _use_writer_queue(_dialect, _record, _cargs, cparams):
            cparams["factory"] = connection_class

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if queued:  # checkpoints run after the writer queue is let go (core.writer_queue)
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if not write_intent.get():
            connection.exec_driver_sql("BEGIN")
            return
        raw = connection.connection.dbapi_connection
        # If the queue is not had within the timeout, BEGIN IMMEDIATE still waits on SQLite's
        # busy timeout and fails the usual way.
        if queued:
            raw.begin_write()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if queued:
                raw.end_write()
            raise


def render_migration_type(type_, obj, autogen_context):
    """Alembic autogenerate: write UTCDateTime as the plain type it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def execute_plain(statement, params: dict | None = None):
    """Run a statement that loads no ORM objects on the session's connection, past the ORM.

    On hot paths (a booking rush) the ORM's handling of such a statement cost about as much
    as running it. Unlike ``session.execute``, pending ORM changes are not flushed first."""
    return db.session.connection().execute(statement, params or {})
