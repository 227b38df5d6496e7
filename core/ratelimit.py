"""Fixed-window rate limits: in the database on the embedded setup, in Redis when
``REDIS_URL`` is set. Either way every worker shares them and a restart keeps them."""

from __future__ import annotations

import math
from datetime import timedelta

import redis
from sqlalchemy import bindparam, case, delete, literal, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core import clock, jobs
from core.db import UTCDateTime
from core.extensions import db
from core.models import RateWindow


def parse_limit(spec: str) -> tuple[int, int]:
    count, seconds = spec.split("/")
    return int(count), int(seconds)


class DatabaseLimiter:
    """Windows kept in the database (``core_rate_window``), written in the caller's
    transaction: every worker and process of the embedded setup counts the same attempts, and
    a restart forgets none. A refusal that must count is raised ``keeping_changes()``."""

    def retry_after(self, key: str, limit: int, window: int) -> int:
        row = db.session.execute(_WINDOW, {"key": key}).first()
        if row is None or row.count < limit:
            return 0
        remaining = (row.started_at + timedelta(seconds=window) - clock.now()).total_seconds()
        return max(1, math.ceil(remaining)) if remaining > 0 else 0

    def hit(self, key: str, window: int) -> None:
        now = clock.now()
        started = literal(now, UTCDateTime())
        lapsed = RateWindow.started_at <= now - timedelta(seconds=window)
        dialect = db.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(RateWindow).values(key=key, started_at=started, count=1)
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=[RateWindow.key],
                set_={
                    "count": case((lapsed, 1), else_=RateWindow.count + 1),
                    "started_at": case((lapsed, started), else_=RateWindow.started_at),
                },
            )
        )

    def reset(self, key: str) -> None:
        db.session.execute(delete(RateWindow).where(RateWindow.key == key))

    def ping(self) -> bool:
        return True


_WINDOW = select(RateWindow.started_at, RateWindow.count).where(RateWindow.key == bindparam("key"))


@jobs.periodic(jobs.crontab(minute="17"))
def forget_old_windows() -> None:
    """Windows last a quarter of an hour or so; a day-old one counts nothing any more."""
    db.session.execute(
        delete(RateWindow).where(RateWindow.started_at < clock.now() - timedelta(days=1))
    )


class RedisLimiter:
    def __init__(self, url: str, prefix: str = "happyhub:rl:"):
        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix

    def retry_after(self, key: str, limit: int, window: int) -> int:
        pipe = self._redis.pipeline()
        pipe.get(self._prefix + key)
        pipe.ttl(self._prefix + key)
        count, ttl = pipe.execute()
        return max(1, int(ttl)) if count is not None and int(count) >= limit else 0

    def hit(self, key: str, window: int) -> None:
        pipe = self._redis.pipeline()
        pipe.incr(self._prefix + key)
        pipe.expire(self._prefix + key, window, nx=True)
        pipe.execute()

    def reset(self, key: str) -> None:
        self._redis.delete(self._prefix + key)

    def ping(self) -> bool:
        return bool(self._redis.ping())


def build_limiter(redis_url: str):
    return RedisLimiter(redis_url) if redis_url else DatabaseLimiter()
