"""Fixed-window rate limits: in memory on one machine, in Redis when ``REDIS_URL`` is set."""

from __future__ import annotations

import threading
import time

import redis


def parse_limit(spec: str) -> tuple[int, int]:
    count, seconds = spec.split("/")
    return int(count), int(seconds)


class MemoryLimiter:
    def __init__(self):
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def retry_after(self, key: str, limit: int, window: int) -> int:
        """Seconds to wait if ``key`` is over its limit, else 0 (does not count a hit)."""
        with self._lock:
            started, count = self._windows.get(key, (0.0, 0))
            remaining = started + window - time.monotonic()
            return max(1, int(remaining + 0.999)) if remaining > 0 and count >= limit else 0

    def hit(self, key: str, window: int) -> None:
        with self._lock:
            now = time.monotonic()
            started, count = self._windows.get(key, (now, 0))
            if now >= started + window:
                started, count = now, 0
            self._windows[key] = (started, count + 1)

    def reset(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)

    def ping(self) -> bool:
        return True


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
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()
