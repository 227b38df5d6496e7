"""Database plumbing shared by every domain: UTC timestamps, SQLite tuning, write locking."""

from __future__ import annotations

import contextlib
import contextvars
import time
from datetime import UTC, datetime

from sqlalchemy import DateTime, Index, event, exc, text
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from core import writer_queue
from core.extensions import db

# SQLite takes its write lock lazily, so two transactions that both read and then write can
# deadlock on the upgrade (SQLITE_BUSY with no waiting). Transactions that may write therefore
# start with BEGIN IMMEDIATE and queue on the busy timeout instead. Safe requests (GET, HEAD)
# clear this flag so readers never wait for writers (WAL lets them read a snapshot).
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)


# Reads that need no common snapshot (see ``intent``); only ever False together with writes.
shared_snapshot: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "shared_snapshot", default=True
)


@contextlib.contextmanager
def intent(*, writes: bool, one_snapshot: bool = True):
    """Transactions begun inside may write (SQLite: BEGIN IMMEDIATE) or only read (a plain
    BEGIN on a snapshot), whatever the surrounding request or job said; restored after.

    ``one_snapshot=False`` (reads only): the reads need not see one snapshot together, each
    statement seeing what is committed when it starts, as PostgreSQL's READ COMMITTED gives a
    transaction's statements anyway. On PostgreSQL they then run outside a transaction
    (autocommit): no BEGIN and ROLLBACK round trips, which in a booking rush were a third of
    a refused request's. Nothing may be written inside: it would be committed at once. SQLite
    still reads one WAL snapshot."""
    if writes and not one_snapshot:
        raise ValueError("writes need a transaction")
    tokens = write_intent.set(writes), shared_snapshot.set(one_snapshot)
    try:
        yield
    finally:
        write_intent.reset(tokens[0])
        shared_snapshot.reset(tokens[1])


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


# A pooled PostgreSQL connection used less than this long ago is trusted without a ping.
PING_AFTER_IDLE_SECONDS = 2.0


def configure_postgresql(engine: Engine) -> None:
    """Pings only for idle connections, and reads without a transaction where asked.

    ``pool_pre_ping`` pinged every checkout: a BEGIN and a SELECT 1 before anything else, and
    a booking checks a connection out twice (its snapshot, then its write). A connection
    that served a request a moment ago is as alive as a ping would show; one idle for
    longer (a server restarted, a socket dropped meanwhile) is still pinged, outside any
    transaction, and replaced if the ping fails. A server that drops connections in use is
    seen by the statement that fails, and SQLAlchemy then empties the pool."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record):
        if record is not None:
            record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy):
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return  # just made, or just used
        try:
            dbapi_connection.autocommit = True  # a ping that leaves no transaction open
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.autocommit = False
        except Exception as error:  # the pool replaces the connection and tries again
            raise exc.DisconnectionError(str(error)) from error

    @event.listens_for(engine, "begin")
    def _autocommit_for_lone_reads(connection):
        if "isolation_level" in connection.get_execution_options():
            return  # chosen by the caller (AUTOCOMMIT for maintenance): left alone
        raw = connection.connection.dbapi_connection
        # Set on every begin, so a connection read without a transaction writes with one.
        raw.autocommit = not write_intent.get() and not shared_snapshot.get()


def partial_unique(name: str, *columns: str, where: str) -> Index:
    """A UNIQUE index over the rows matching ``where`` only (one active booking per person),
    the same on SQLite and PostgreSQL."""
    return Index(
        name, *columns, unique=True, sqlite_where=text(where), postgresql_where=text(where)
    )


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
