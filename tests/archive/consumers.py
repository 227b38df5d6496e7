"""Helpers for tests that kill a real job consumer mid-work (``live_server_with_queue``) and
watch the database while it, and the consumer after it, work."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from core.transactions import snapshot

T = TypeVar("T")


def observe(read: Callable[[], T]) -> T:
    """``read()`` on a snapshot: the test never holds SQLite's write lock against the
    consumer it watches."""
    with snapshot():
        return read()


def wait_until(read: Callable[[], T], done: Callable[[T], bool], seconds: float) -> T:
    """Observe ``read()`` every 50 ms until ``done`` says yes; fails with the last state seen
    when ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        state = observe(read)
        if done(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"still {state} after {seconds} s")
        time.sleep(0.05)


def kill_consumer(queue) -> float:
    """SIGKILL the running consumer (no cleanup of any kind); returns when it died
    (``time.monotonic()``)."""
    queue.consumer.kill()
    queue.consumer.wait(timeout=30)
    return time.monotonic()
