"""Current time, injectable: services take ``now`` as an argument, and the HTTP layer asks the
app's clock, which tests replace with a frozen one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    def __init__(self, at: datetime):
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at = self.at + timedelta(**delta)
        return self.at


def now() -> datetime:
    """The app's current time: its clock is the system's, or a frozen one in tests."""
    return current_app.extensions["clock"].now()
