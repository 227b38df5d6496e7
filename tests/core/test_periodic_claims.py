"""Several job consumers on one Redis queue: each periodic run is enqueued by one of them."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import redis
from huey import crontab
from huey.storage import RedisStorage, SqliteStorage

from core import config as config_module
from core import jobs as core_jobs
from core.jobs import ClaimingHuey
from tests.fixtures.races import fire_together


@pytest.fixture
def queue_name():
    """A queue of this test's own on the test Redis database; its keys are removed after."""
    name = f"claims-{uuid.uuid4().hex[:12]}"
    yield name
    store = redis.Redis.from_url(str(config_module.env("TEST_REDIS_URL")))
    for key in store.scan_iter(f"*{name}*"):
        store.delete(key)


def _consumer(name: str, **storage) -> ClaimingHuey:
    queue = ClaimingHuey(name, utc=True, **storage)
    queue.periodic_task(crontab(minute="*"), name="sweep")(lambda: None)
    queue.periodic_task(crontab(hour="3", minute="10"), name="daily")(lambda: None)
    return queue


def _read_together(consumers, at: datetime) -> list[list[str]]:
    """Every consumer checks the schedule for ``at`` at the same instant, as consumers on
    several machines do at the top of a minute."""
    return fire_together(
        [
            lambda c=consumer: sorted(task.name for task in c.read_periodic(at))
            for consumer in consumers
        ],
        timeout=30,
    )


def test_each_due_run_is_enqueued_by_exactly_one_consumer_of_a_redis_queue(queue_name):
    url = str(config_module.env("TEST_REDIS_URL"))
    consumers = [_consumer(queue_name, storage_class=RedisStorage, url=url) for _ in range(6)]

    at_0310 = _read_together(consumers, datetime(2026, 3, 2, 3, 10, 0))
    assert sorted(name for names in at_0310 for name in names) == ["daily", "sweep"]
    # The next minute is a new run of the every-minute task, claimed once again.
    at_0311 = _read_together(consumers, datetime(2026, 3, 2, 3, 11, 0))
    assert [name for names in at_0311 for name in names] == ["sweep"]
    # A consumer whose check of 03:10 comes late finds both runs taken.
    assert consumers[0].read_periodic(datetime(2026, 3, 2, 3, 10, 30)) == []


def test_a_consumer_on_sqlite_enqueues_every_due_task(queue_name, tmp_path):
    consumer = _consumer(queue_name, storage_class=SqliteStorage, filename=str(tmp_path / "q"))
    for _ in range(2):
        due = consumer.read_periodic(datetime(2026, 3, 2, 3, 10, 0))
        assert sorted(task.name for task in due) == ["daily", "sweep"]


def test_the_queue_keeps_no_job_results():
    """Jobs' return values (a count of patrons barred) are read by no one: kept, one per job,
    they would pile up in the shared queue's memory."""
    from library import jobs as library_jobs  # the domain's jobs, as the consumer loads them

    before = core_jobs.huey.result_count()
    library_jobs.apply_missed_pickup_strikes([])  # returns how many patrons it barred: 0
    assert core_jobs.huey.result_count() == before == 0
