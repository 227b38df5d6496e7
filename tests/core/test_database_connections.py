"""Pooled connections: pinged only after idling, reads alone outside a transaction, writes always
inside one."""

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.exc import OperationalError

from core import db as core_db
from core.db import intent
from core.extensions import db
from core.models import User
from tests.fixtures.users import create_user


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _backend() -> int | str:
    """The server process of the session's connection (PostgreSQL), or the SQLite
    connection's identity: tells a reused connection from a new one."""
    if _postgres():
        return db.session.scalar(text("SELECT pg_backend_pid()"))
    return id(db.session.connection().connection.dbapi_connection)


def _drop_on_the_server(pid: int) -> None:
    """What a server restart or a dropped socket does to a pooled connection."""
    other = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    with other.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()


def test_reads_alone_leave_the_next_write_in_a_transaction(app):
    user = create_user(name="처음 이름")
    with intent(writes=False, one_snapshot=False):
        assert db.session.scalar(select(User.name).where(User.id == user.id)) == "처음 이름"
        if _postgres():  # no BEGIN was sent for that read
            assert db.session.connection().connection.dbapi_connection.autocommit is True
    db.session.rollback()
    with intent(writes=True):
        db.session.execute(update(User).where(User.id == user.id).values(name="바뀐 이름"))
        db.session.rollback()
    assert db.session.scalar(select(User.name).where(User.id == user.id)) == "처음 이름"


def test_writes_cannot_be_asked_for_without_a_transaction():
    with pytest.raises(ValueError), intent(writes=True, one_snapshot=False):
        pass


def test_an_idle_connection_the_server_dropped_is_replaced(monkeypatch):
    db.engine.dispose()  # one pooled connection: the one this test drops
    first = _backend()
    db.session.rollback()  # back to the pool
    if _postgres():
        _drop_on_the_server(first)
    # Every connection counts as idle: it is pinged when checked out again.
    monkeypatch.setattr(core_db, "PING_AFTER_IDLE_SECONDS", 0)
    second = _backend()
    assert db.session.scalar(select(User.id).limit(1)) is None
    if _postgres():
        assert second != first
    else:  # a SQLite file's connection is used again as it is
        assert second == first


def test_a_connection_used_a_moment_ago_is_trusted_without_a_ping():
    db.engine.dispose()
    first = _backend()
    db.session.rollback()
    if not _postgres():
        assert _backend() == first
        return
    _drop_on_the_server(first)
    # Not pinged (it was used just now): the statement itself finds the connection gone, and
    # the pool is emptied so the next request gets a new one.
    with pytest.raises(OperationalError):
        _backend()
    db.session.rollback()
    assert _backend() != first
