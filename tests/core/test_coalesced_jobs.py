"""jobs.Coalesced: many commits ask for one sweeping job; each process queues it at most twice
per window, and every commit still has a run that starts after it."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from huey import Huey
from huey.storage import SqliteStorage

from core.jobs import Coalesced


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def queue(tmp_path):
    """A real Huey queue on SQLite, not in immediate mode, with one no-argument task."""
    huey = Huey("coalesce-test", storage_class=SqliteStorage, filename=str(tmp_path / "q.db"))
    runs = []

    @huey.task()
    def sweep():
        runs.append("ran")

    return huey, sweep, runs


def queued(huey) -> list[datetime | None]:
    """When each queued run is due (None: at once). A task with an ``eta`` sits in the queue
    like any other until the consumer reads it and keeps it back until it is due."""
    return [task.eta and task.eta.replace(tzinfo=UTC) for task in huey.pending()]


def test_the_first_commit_of_a_window_queues_at_once_and_the_rest_share_one_trailing_run(queue):
    huey, sweep, runs = queue
    ticks = Ticks()
    coalesced = Coalesced(sweep, window=1.0, monotonic=ticks)

    coalesced()
    assert queued(huey) == [None]

    asked_at = datetime.now(UTC)
    for _ in range(50):  # a rush inside the same second
        ticks.now += 0.01
        coalesced()
    [first, trailing] = queued(huey)
    # Due at the window's end, 0.99 s after the second commit: after every commit of the window.
    assert first is None
    assert (
        asked_at + timedelta(seconds=0.98) <= trailing <= datetime.now(UTC) + timedelta(seconds=1)
    )

    ticks.now += 1.0  # a new window: queued at once again
    coalesced()
    assert queued(huey) == [None, trailing, None]
    assert runs == []  # nothing ran in this process: the consumer runs them


def test_a_quiet_service_queues_one_run_per_commit(queue):
    huey, sweep, _ = queue
    ticks = Ticks()
    coalesced = Coalesced(sweep, window=1.0, monotonic=ticks)
    for _ in range(3):
        coalesced()
        ticks.now += 5
    assert queued(huey) == [None, None, None]


def test_in_immediate_mode_every_call_runs_the_job(queue):
    huey, sweep, runs = queue
    huey.immediate = True
    coalesced = Coalesced(sweep, window=1.0, monotonic=Ticks())
    coalesced()
    coalesced()
    assert runs == ["ran", "ran"]


def test_threads_asking_at_once_queue_one_run_and_one_trailing_run(queue):
    """A consumer with several worker threads may notify from each at the same moment."""
    huey, sweep, _ = queue
    coalesced = Coalesced(sweep, window=1.0, monotonic=Ticks())  # the clock stands still
    start = threading.Barrier(16)

    def ask():
        start.wait()
        coalesced()

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    runs = queued(huey)
    assert len(runs) == 2 and runs.count(None) == 1
