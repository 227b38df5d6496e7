"""The notification outbox: sent once after commit, never under a write lock, in leased batches."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from core.db import write_intent
from core.extensions import db
from core.models import Notification, User
from core.notifications import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    SEND_MARGIN,
    claim,
    deliver_fresh_notifications,
    notify,
    record,
    retry_pending_notifications,
    send,
)
from tests.fixtures.users import create_user


class Recorder:
    """A sender that notes the id of every item it is asked to send, then runs ``then``."""

    def __init__(self, then=None):
        self.ids: list[int] = []
        self.then = then

    def send(self, item):
        self.ids.append(item.id)
        if self.then is not None:
            self.then(item)


@pytest.fixture
def recorder(app):
    sender = Recorder()
    app.extensions["notification_sender"] = sender
    return sender


def waiting(count: int, now) -> list[int]:
    """Committed pending rows whose delivery job was never queued."""
    rows = [
        Notification(
            kind="test", subject=f"제목 {n}", body="본문", recipient="a@example.kr", created_at=now
        )
        for n in range(count)
    ]
    db.session.add_all(rows)
    db.session.flush()
    ids = [row.id for row in rows]  # read before the commit expires them
    db.session.commit()
    return ids


def states() -> dict[int, tuple]:
    """Each row's (status, attempts, last_error, claim_token), read in a fresh transaction
    that is ended again, so delivery can run its own transactions next."""
    db.session.rollback()
    rows = db.session.execute(
        select(
            Notification.id,
            Notification.status,
            Notification.attempts,
            Notification.last_error,
            Notification.claim_token,
        )
    ).all()
    db.session.rollback()
    return {row.id: tuple(row[1:]) for row in rows}


def test_committed_notification_is_sent_once_and_rolled_back_one_never(recorder, clock):
    user = create_user()
    notify(user, "test", "취소될 알림", "본문", now=clock.now())
    db.session.rollback()
    assert recorder.ids == [] and states() == {}

    user = db.session.get(User, user.id)
    kept = notify(user, "test", "예약 확정", "예약이 확정되었습니다.", now=clock.now())
    db.session.commit()
    assert recorder.ids == [kept]
    # Further runs find nothing left to send.
    deliver_fresh_notifications.call_local()
    retry_pending_notifications.call_local()
    assert recorder.ids == [kept]
    assert states() == {kept: ("sent", 1, None, None)}


def test_notify_returns_the_id_of_the_row_it_inserted(recorder, clock):
    user = create_user()
    new_id = notify(user, "test", "제목", "본문", now=clock.now(), recipient="x@example.kr")
    stored = db.session.get(Notification, new_id)
    assert (stored.user_id, stored.recipient, stored.status) == (user.id, "x@example.kr", "pending")
    db.session.rollback()


def write_elsewhere(user_id: int) -> None:
    """A booking-like write on a connection of its own that waits at most 200 ms for a lock."""
    with db.engine.connect() as connection:
        try:
            if connection.dialect.name == "sqlite":
                connection.connection.dbapi_connection.execute("PRAGMA busy_timeout=200")
            else:
                connection.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
            connection.execute(update(User).where(User.id == user_id).values(name="바뀐 이름"))
            connection.commit()
        finally:
            connection.invalidate()  # the shortened timeout must not go back to the pool


def test_no_write_lock_is_held_while_the_sender_sends(app, clock):
    # When delivery ran inside its job's write transaction, SQLite's BEGIN IMMEDIATE held the
    # database's write lock during send(): this write would fail with "database is locked".
    user = create_user()
    user_id, errors = user.id, []

    def write_during_send(item):
        try:
            write_elsewhere(user_id)
        except Exception as error:
            errors.append(error)

    sender = Recorder(then=write_during_send)
    app.extensions["notification_sender"] = sender
    notify(user, "test", "제목", "본문", now=clock.now())
    db.session.commit()
    assert sender.ids and errors == []
    assert db.session.get(User, user_id).name == "바뀐 이름"


def test_a_second_claim_gets_nothing_while_the_first_is_leased(recorder, clock):
    ids = waiting(3, clock.now())
    first = claim(clock.now(), fresh=True)
    assert [item.id for item in first.items] == ids
    assert claim(clock.now(), fresh=True) is None
    assert claim(clock.now(), fresh=False) is None
    record(first, send(first), clock.now())
    retry_pending_notifications.call_local()
    assert recorder.ids == ids
    assert {state[0] for state in states().values()} == {"sent"}


def test_racing_deliveries_never_send_a_notification_twice(app, recorder, clock):
    ids = waiting(4, clock.now())
    sending, other_run_done = threading.Event(), threading.Event()
    failures = []

    def hold_first_send(item):
        if not sending.is_set():
            sending.set()
            # The other runs must not have to wait for this one (as for a write lock).
            if not other_run_done.wait(timeout=10):
                failures.append("the other runs waited for the sending one")

    recorder.then = hold_first_send

    def first_run():
        try:
            with app.app_context():
                deliver_fresh_notifications.call_local()
        except Exception as error:
            failures.append(error)

    thread = threading.Thread(target=first_run)
    thread.start()
    try:
        assert sending.wait(timeout=30)
        # The first run is in the middle of sending: the others find every row leased.
        deliver_fresh_notifications.call_local()
        retry_pending_notifications.call_local()
    finally:
        other_run_done.set()
        thread.join(timeout=30)
    assert failures == []
    assert sorted(recorder.ids) == ids
    assert {state[0] for state in states().values()} == {"sent"}


class FlakySender(Recorder):
    """Fails the first ``failures`` sends."""

    def __init__(self, failures: int):
        super().__init__()
        self.failures = failures

    def send(self, item):
        super().send(item)
        if len(self.ids) <= self.failures:
            raise ConnectionError("SMTP server unreachable")


def test_a_failed_delivery_stays_pending_and_the_sweep_retries_it(app, clock):
    app.extensions["notification_sender"] = FlakySender(failures=1)
    user = create_user()
    first = notify(user, "test", "제목", "본문", now=clock.now())
    db.session.commit()
    assert states()[first] == ("pending", 1, "SMTP server unreachable", None)

    # The next commit's job sends only never-tried rows; retries are the sweep's.
    second = notify(user, "test", "다음 알림", "본문", now=clock.now())
    db.session.commit()
    assert states()[first][:2] == ("pending", 1)
    assert states()[second] == ("sent", 1, None, None)

    retry_pending_notifications.call_local()
    assert states()[first] == ("sent", 2, None, None)


def test_delivery_gives_up_after_max_attempts(app, clock):
    sender = FlakySender(failures=10 * MAX_ATTEMPTS)
    app.extensions["notification_sender"] = sender
    notify(create_user(), "test", "제목", "본문", now=clock.now())
    db.session.commit()
    for sweep in range(1, MAX_ATTEMPTS + 2):
        retry_pending_notifications.call_local()
        # One try per sweep, and none once it has given up.
        assert len(sender.ids) == min(1 + sweep, MAX_ATTEMPTS)
    [(status, attempts, last_error, _)] = states().values()
    assert (status, attempts) == ("failed", MAX_ATTEMPTS)
    assert "unreachable" in last_error


def test_an_abandoned_claim_is_delivered_once_its_lease_ends(recorder, clock):
    [row] = waiting(1, clock.now())
    crashed = claim(clock.now(), fresh=True)  # a run that died before recording

    clock.advance(seconds=(CLAIM_LEASE - timedelta(seconds=1)).total_seconds())
    retry_pending_notifications.call_local()
    deliver_fresh_notifications.call_local()
    assert recorder.ids == []

    clock.advance(seconds=1)
    deliver_fresh_notifications.call_local()  # tried once already: the sweep's to retry
    assert recorder.ids == []
    retry_pending_notifications.call_local()
    assert recorder.ids == [row]
    assert states()[row] == ("sent", 2, None, None)  # the abandoned claim was an attempt

    # The dead run's late record no longer owns the row and changes nothing.
    record(crashed, {row: "timed out"}, clock.now())
    assert states()[row] == ("sent", 2, None, None)


def test_a_row_whose_delivery_never_finishes_is_given_up_after_max_attempts(recorder, clock):
    """A sender that kills its process every time: each claim ends unrecorded."""
    [row] = waiting(1, clock.now())
    claim(clock.now(), fresh=True)
    for _ in range(MAX_ATTEMPTS - 1):
        clock.advance(seconds=CLAIM_LEASE.total_seconds())
        assert claim(clock.now(), fresh=False) is not None  # claimed again, died again
    assert states()[row][:2] == ("pending", MAX_ATTEMPTS)

    clock.advance(seconds=CLAIM_LEASE.total_seconds())
    retry_pending_notifications.call_local()
    status, attempts, last_error, token = states()[row]
    assert (status, attempts, token) == ("failed", MAX_ATTEMPTS, None)
    assert "never finished" in last_error
    assert recorder.ids == []


def test_a_run_whose_lease_runs_low_leaves_the_rest_to_the_next(recorder, clock):
    ids = waiting(3, clock.now())
    # The first send is slow: afterwards less than SEND_MARGIN of the lease is left.
    slow = (CLAIM_LEASE - SEND_MARGIN).total_seconds()
    recorder.then = lambda item: clock.advance(seconds=slow) if item.id == ids[0] else None
    deliver_fresh_notifications.call_local()
    assert recorder.ids == ids[:1]
    assert [states()[i] for i in ids[1:]] == [("pending", 0, None, None)] * 2

    deliver_fresh_notifications.call_local()
    assert recorder.ids == ids


@pytest.fixture
def transactions():
    """What each transaction begun on the engine meant to do: True for a write (on SQLite,
    BEGIN IMMEDIATE, which waits for the write lock), and the statements that wrote."""
    seen = {"writes": [], "statements": []}

    def on_begin(connection):
        seen["writes"].append(write_intent.get())

    def on_execute(connection, cursor, statement, *args):
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            seen["statements"].append(statement)

    event.listen(db.engine, "begin", on_begin)
    event.listen(db.engine, "before_cursor_execute", on_execute)
    yield seen
    event.remove(db.engine, "begin", on_begin)
    event.remove(db.engine, "before_cursor_execute", on_execute)


def test_a_delivery_with_nothing_to_send_only_reads(recorder, clock, transactions):
    [row] = waiting(1, clock.now())
    deliver_fresh_notifications.call_local()
    assert recorder.ids == [row]
    assert True in transactions["writes"] and transactions["statements"]

    transactions["writes"].clear()
    transactions["statements"].clear()
    deliver_fresh_notifications.call_local()
    retry_pending_notifications.call_local()
    assert transactions["writes"] and True not in transactions["writes"]
    assert transactions["statements"] == []
    assert recorder.ids == [row]
