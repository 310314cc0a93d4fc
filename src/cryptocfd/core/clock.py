"""The one clock: every process reads time through a ``Clock``, so tests can drive it.

Pure code never reads a clock (commands and ticks carry their times); the processes around it
do, and they take a ``Clock`` instead of calling ``time`` themselves. ``WALL`` is the real one;
``ManualClock`` stands still until a test moves it. Both readings are integers (milliseconds of
wall time, nanoseconds of monotonic time): no float stands in the core, elapsed time included.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Wall time for timestamps, and a monotonic reading for measuring intervals."""

    def now_ms(self) -> int:
        """Unix time in milliseconds."""
        ...

    def monotonic_ns(self) -> int:
        """Nanoseconds from an arbitrary start that never go backwards (for intervals)."""
        ...


def now_utc(clock: Clock) -> datetime:
    """``clock``'s wall time as an aware UTC datetime (for PostgreSQL's timestamptz)."""
    return _EPOCH + timedelta(milliseconds=clock.now_ms())  # exact: no float on the way


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class WallClock:
    """The machine's clocks."""

    def now_ms(self) -> int:
        """Unix time in milliseconds."""
        return time.time_ns() // 1_000_000

    def monotonic_ns(self) -> int:
        """``time.monotonic_ns()``."""
        return time.monotonic_ns()


WALL: Clock = WallClock()


class ManualClock:
    """A clock that moves only when told: ``advance`` moves both readings together."""

    def __init__(self, now_ms: int = 1_767_225_600_000) -> None:  # 2026-01-01T00:00:00Z
        self._now_ms = now_ms
        self._monotonic_ns = 0

    def now_ms(self) -> int:
        """The time it was set to."""
        return self._now_ms

    def monotonic_ns(self) -> int:
        """Nanoseconds advanced since it was made."""
        return self._monotonic_ns

    def advance(self, ms: int) -> None:
        """Move time forward by ``ms`` milliseconds (never backwards)."""
        if ms < 0:
            raise ValueError("a clock does not go backwards")
        self._monotonic_ns += ms * 1_000_000
        self._now_ms += ms
