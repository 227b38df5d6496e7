"""SQLite writers queue on a lock file (core.writer_queue), whatever database the suite uses:
these tests build their own SQLite engines in a temporary directory."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from core.db import configure_sqlite, intent
from core.writer_queue import CHECKPOINT_EVERY, WriterLock


@pytest.fixture
def sqlite_engine(tmp_path):
    with intent(writes=True):  # as in a POST request, a job or the CLI
        engine = create_engine(f"sqlite:///{tmp_path / 'queue.db'}")
        configure_sqlite(engine, busy_timeout_ms=5000)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
            connection.execute(text("INSERT INTO counter VALUES (1, 0)"))
        yield engine
        engine.dispose()


def _lock_path(engine) -> str:
    return f"{engine.url.database}-writers.lock"


def _free(path: str) -> bool:
    """Whether another holder could take the lock right now."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing the descriptor also lets go of a lock taken here
    return True


def test_a_write_transaction_holds_the_queue_until_it_commits(sqlite_engine):
    path = _lock_path(sqlite_engine)
    with sqlite_engine.begin() as connection:
        connection.execute(text("UPDATE counter SET n = n + 1"))
        assert not _free(path)
    assert _free(path)
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar() == 1


def test_a_rolled_back_write_transaction_lets_go_too(sqlite_engine):
    path = _lock_path(sqlite_engine)
    with sqlite_engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text("UPDATE counter SET n = 99"))
        assert not _free(path)
        transaction.rollback()
        assert _free(path)
        assert connection.execute(text("SELECT n FROM counter")).scalar() == 0


def test_reads_do_not_take_the_queue(sqlite_engine):
    with intent(writes=False), sqlite_engine.connect() as connection, connection.begin():
        assert connection.execute(text("SELECT n FROM counter")).scalar() == 0
        assert _free(_lock_path(sqlite_engine))


def test_waiting_gives_up_after_the_timeout(tmp_path):
    path = str(tmp_path / "db-writers.lock")
    holder, waiter = WriterLock(path), WriterLock(path)
    assert holder.acquire(1.0)
    assert not waiter.acquire(0.01)
    holder.release()
    assert waiter.acquire(0.01)
    waiter.close()
    holder.close()


def _child_tries(lock: WriterLock, answer) -> None:
    answer.put(lock.acquire(0.05))


def test_a_forked_child_does_not_share_its_parents_lock(tmp_path):
    # After fork() the child holds the parent's open file; locking that would "succeed" while
    # the parent is still writing. The child must open its own file and wait its turn.
    lock = WriterLock(str(tmp_path / "db-writers.lock"))
    assert lock.acquire(1.0)
    context = multiprocessing.get_context("fork")
    answer = context.Queue()
    child = context.Process(target=_child_tries, args=(lock, answer))
    child.start()
    child.join(10)
    assert answer.get(timeout=5) is False
    assert lock.held  # the child's exit did not unlock the parent
    assert not _free(lock.path)
    lock.close()
    assert _free(lock.path)


def _add_one_many_times(url: str, times: int, errors) -> None:
    engine = create_engine(url)
    configure_sqlite(engine, busy_timeout_ms=10000)
    try:
        for _ in range(times):
            with engine.begin() as connection:
                n = connection.execute(text("SELECT n FROM counter WHERE id = 1")).scalar()
                connection.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})
    except Exception as error:  # reported to the parent, which fails the test
        errors.put(repr(error))
    finally:
        engine.dispose()


def test_writers_in_several_processes_take_turns_and_lose_nothing(sqlite_engine):
    # Read-then-write in each transaction: without one writer at a time, increments are lost
    # or a transaction fails on the lock upgrade.
    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    url = str(sqlite_engine.url)
    sqlite_engine.dispose()
    workers = [
        context.Process(target=_add_one_many_times, args=(url, 60, errors)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert errors.empty(), errors.get()
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar() == 240


def test_threads_waiting_in_one_process_spend_no_cpu(tmp_path):
    # The SIP2 server's connection threads: polling the file every half millisecond, twenty
    # waiting threads cost about a quarter of a core and kept taking the GIL from the writer.
    path = str(tmp_path / "db-writers.lock")
    holder = WriterLock(path)
    assert holder.acquire(1.0)
    turns, inside, overlaps = [], [], []

    def wait_and_write():
        lock = WriterLock(path)
        if lock.acquire(10.0):
            overlaps.append(len(inside))
            inside.append(1)
            time.sleep(0.001)
            inside.pop()
            turns.append(1)
            lock.release()
        lock.close()

    threads = [threading.Thread(target=wait_and_write) for _ in range(20)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    cpu_before = time.process_time()
    time.sleep(0.5)
    waiting_cpu = time.process_time() - cpu_before
    assert _free(path) is False  # the holder still has it; nobody got in meanwhile
    assert turns == []
    holder.release()
    for thread in threads:
        thread.join(10)
    holder.close()
    assert len(turns) == 20 and overlaps == [0] * 20  # each in turn, one at a time
    assert waiting_cpu < 0.02, f"{waiting_cpu:.3f} s of CPU spent waiting"


def test_a_thread_that_gives_up_leaves_the_queue_to_the_next(tmp_path):
    path = str(tmp_path / "db-writers.lock")
    holder, impatient, patient = WriterLock(path), WriterLock(path), WriterLock(path)
    assert holder.acquire(1.0)
    results = {}

    def try_for(name, lock, seconds):
        results[name] = lock.acquire(seconds)

    first = threading.Thread(target=try_for, args=("impatient", impatient, 0.05))
    first.start()
    first.join(5)
    second = threading.Thread(target=try_for, args=("patient", patient, 5.0))
    second.start()
    holder.release()
    second.join(10)
    assert results == {"impatient": False, "patient": True}
    assert not _free(path)
    patient.close()
    assert _free(path)
    impatient.close()
    holder.close()


def _add_one_in_threads(url: str, threads: int, times: int) -> list[str]:
    engine = create_engine(url)
    configure_sqlite(engine, busy_timeout_ms=10000)
    errors = []

    def add():
        try:
            with intent(writes=True):
                for _ in range(times):
                    with engine.begin() as connection:
                        n = connection.execute(text("SELECT n FROM counter WHERE id = 1")).scalar()
                        connection.execute(
                            text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1}
                        )
        except Exception as error:
            errors.append(repr(error))

    workers = [threading.Thread(target=add) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    engine.dispose()
    return errors


def test_writers_in_threads_of_one_process_take_turns_and_lose_nothing(sqlite_engine):
    url = str(sqlite_engine.url)
    assert _add_one_in_threads(url, 8, 30) == []
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar() == 240


def test_checkpoints_run_after_the_queue_is_let_go(sqlite_engine):
    """SQLite's own checkpoint would run inside a COMMIT, with the queue still held."""
    path = _lock_path(sqlite_engine)
    checkpoints = []
    with sqlite_engine.connect() as connection:
        raw = connection.connection.dbapi_connection

        def trace(statement):
            if "wal_checkpoint" in statement:
                checkpoints.append((statement, _free(path)))

        raw.set_trace_callback(trace)
        for _ in range(CHECKPOINT_EVERY * 2):
            with connection.begin():
                connection.execute(text("UPDATE counter SET n = n + 1"))
        raw.set_trace_callback(None)
        with connection.begin():
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    assert checkpoints == [("PRAGMA wal_checkpoint(PASSIVE)", True)] * 2
