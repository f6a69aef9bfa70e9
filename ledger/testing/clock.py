"""A clock that tests move by hand (R16 makes the ledger's clock injectable)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["START", "ManualClock"]

#: Where every `ManualClock` starts unless told otherwise: a Monday morning, UTC.
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class ManualClock:
    """Pass to ``Ledger.open(clock=...)``; time moves only when the test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now = self.now + delta
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now
