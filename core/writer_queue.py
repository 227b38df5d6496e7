"""A queue for SQLite's single writer that wakes the next writer as soon as the lock is free.

SQLite answers a busy database with its busy handler, which sleeps between retries for 1, 2,
5, 10, 15, 20, 25, 25, 25, 50, 50 and then 100 ms. Under a booking rush several workers wait
for the write lock at once and sleep through the moments it is free: transactions that hold
the lock for about 8 ms waited up to 836 ms, and whole workers sat idle while the lock was
free. Writers therefore first take an exclusive ``flock`` on a file beside the database,
checked every fraction of a millisecond, and only then run ``BEGIN IMMEDIATE``, which then
finds the database free. The lock is let go right after the transaction's COMMIT or ROLLBACK
(and if a process dies, the kernel lets it go).

Every process of the service (web workers, job consumer, CLI) uses it through
``core.db.configure_sqlite``. A program that ignores it (the ``sqlite3`` shell) is still
handled by SQLite's busy timeout, as before.

Threads of one process (the SIP2 server's connections) first queue on a lock of their own
process, and only the one at its head tries the file: fifty threads polling the file every
half millisecond cost about a sixth of the SIP2 server's CPU, and each poll took the GIL from
the thread that held the write lock, stretching every write transaction.

Checkpoints (copying the write-ahead log back into the database file, with an fsync) run
after the lock is let go. SQLite's automatic checkpoint runs inside the COMMIT that crosses
1000 log pages, while this process still held the queue: every other writer waited through
the copying and the fsync (several ms in a booking rush, far more on a busy disk).
``core.db`` turns it off on these connections, and each connection checkpoints (PASSIVE: it
never waits for readers or writers) after every ``CHECKPOINT_EVERY`` of its write commits.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time

# Sleeps between tries: short, so a freed lock is taken again within half a millisecond (a
# try is one system call; three waiting workers cost about 1% of a core).
FIRST_PAUSE_S = 0.0001
LONGEST_PAUSE_S = 0.0005
# About SQLite's own 1000 log pages: a booking writes a dozen or so.
CHECKPOINT_EVERY = 64


_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _process_lock(path: str) -> threading.Lock:
    """The lock the threads of this process queue on before trying the file at ``path``."""
    with _process_locks_guard:
        return _process_locks.setdefault(path, threading.Lock())


def _forget_process_locks() -> None:
    # A forked child starts with no threads but its parent's locks, perhaps held: fresh ones.
    global _process_locks, _process_locks_guard
    _process_locks, _process_locks_guard = {}, threading.Lock()


os.register_at_fork(after_in_child=_forget_process_locks)


class WriterLock:
    """An exclusive lock on ``path`` for one connection, usable from one process at a time.
    Threads of the process wait their turn on ``_process_lock(path)`` (blocked, with no CPU
    spent) and only then try the file, which other processes hold."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None
        self.pid = 0
        self.held = False
        self.in_process: threading.Lock | None = None

    def _descriptor(self) -> int:
        # A child after fork() shares the parent's open file, and with it the parent's lock:
        # it opens its own, and closes (never unlocks) the inherited one.
        if self.fd is not None and self.pid != os.getpid():
            os.close(self.fd)
            self.fd, self.held = None, False
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self.pid = os.getpid()
            self.in_process = _process_lock(self.path)
        return self.fd

    def acquire(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the lock; False if it could not be had in time."""
        fd = self._descriptor()
        if self.held:
            return True
        deadline = time.monotonic() + timeout_s
        if not self.in_process.acquire(timeout=max(0.0, timeout_s)):
            return False
        try:
            self.held = self._wait_for_file(fd, deadline)
        finally:
            if not self.held:
                self.in_process.release()
        return self.held

    @staticmethod
    def _wait_for_file(fd: int, deadline: float) -> bool:
        pause = FIRST_PAUSE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE_S)
            else:
                return True

    def release(self) -> bool:
        """Let go; True if this process held the lock."""
        was_held = self.held and self.pid == os.getpid()
        self.held = False
        if was_held:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                self.in_process.release()
        return was_held

    def close(self) -> None:
        self.release()
        if self.fd is not None and self.pid == os.getpid():
            os.close(self.fd)
        self.fd = None


def connection_class(lock_path: str, timeout_s: float) -> type[sqlite3.Connection]:
    """A sqlite3 connection class whose ``begin_write`` queues on ``lock_path``.

    The lock is released by ``commit``, ``rollback`` and ``close`` after SQLite has finished,
    so the next writer never finds the transaction still open."""

    class WriterQueueConnection(sqlite3.Connection):
        def begin_write(self) -> bool:
            lock = self.__dict__.get("writer_lock")
            if lock is None:
                lock = self.__dict__["writer_lock"] = WriterLock(lock_path)
            return lock.acquire(timeout_s)

        def end_write(self) -> bool:
            lock = self.__dict__.get("writer_lock")
            return lock is not None and lock.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                wrote = self.end_write()
            if wrote:
                self.__dict__["writes"] = writes = self.__dict__.get("writes", 0) + 1
                if writes % CHECKPOINT_EVERY == 0:
                    self.checkpoint()

        def checkpoint(self) -> None:
            # Outside any transaction and the queue. A checkpoint that cannot run now (another
            # is running) is simply left to the next one: the commit has succeeded.
            with contextlib.suppress(sqlite3.Error):
                self.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.end_write()

        def close(self) -> None:
            try:
                super().close()
            finally:
                lock = self.__dict__.pop("writer_lock", None)
                if lock is not None:
                    lock.close()

    return WriterQueueConnection
