import time

import pytest

from cryptocfd.core.clock import WALL, ManualClock, now_utc


def test_manual_clock_when_advanced_moves_wall_and_monotonic_together() -> None:
    clock = ManualClock(now_ms=1_000)
    clock.advance(1_500)
    assert (clock.now_ms(), clock.monotonic_ns()) == (2_500, 1_500_000_000)
    assert now_utc(clock).timestamp() == 2.5


def test_manual_clock_when_told_to_go_back_refuses() -> None:
    with pytest.raises(ValueError, match="backwards"):
        ManualClock().advance(-1)


def test_wall_clock_reads_the_machines_time() -> None:
    before = time.time_ns() // 1_000_000
    assert before <= WALL.now_ms() <= time.time_ns() // 1_000_000
    assert WALL.monotonic_ns() <= time.monotonic_ns()
