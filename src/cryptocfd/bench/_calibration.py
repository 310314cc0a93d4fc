"""A fixed pure-Python workload, timed beside every bench's figures.

This machine's speed moves by a third within an hour (neighbours on the host, turbo, another
VM's load), and a figure alone cannot say whether the code or the machine changed. The same
loop of dict reads and writes, integer arithmetic and calls, timed in the bench's own process
when it reports, gives a yardstick: a rate divided by it, or a duration multiplied by it, is in
units of the loop and compares across days and hosts far better than the raw figure.
"""

from __future__ import annotations

import statistics
import time

LOOPS = 200_000  # one round: about 50 ms here, long enough to time, short enough to repeat
ROUNDS = 5
RATE_SUFFIX = "_per_s"
DURATION_SCALES = {"_s": 1.0, "_ms": 1e-3, "_us": 1e-6}


def _step(table: dict[int, int], i: int, acc: int) -> int:
    key = i & 1023
    value = table.get(key, 0) + (i * 7 ^ acc) % 1_000_003
    table[key] = value
    return (acc + value) & 0xFFFFFFFF


def _round() -> float:
    """Seconds one round of the loop takes."""
    table: dict[int, int] = {}
    acc = 0
    started = time.perf_counter()
    for i in range(LOOPS):
        acc = _step(table, i, acc)
    elapsed = time.perf_counter() - started
    assert acc >= 0  # keeps the result alive; the loop's work is what is timed
    return elapsed


def mloops_per_s(rounds: int = ROUNDS) -> float:
    """Millions of loops a second, the median of ``rounds`` rounds."""
    return LOOPS / statistics.median(_round() for _ in range(rounds)) / 1e6


def calibrated(name: str, value: float, mloops: float) -> float | None:
    """``value`` of figure ``name`` in the loop's units: a rate (``…_per_s``) per million
    loops, a duration (``…_s``, ``…_ms``, ``…_us``) in millions of loops' time; ``None`` for
    anything else (bytes, counts, ratios), which the machine's speed does not move."""
    if name.endswith(RATE_SUFFIX):
        return value / mloops
    for suffix, seconds in DURATION_SCALES.items():
        if name.endswith(suffix):
            return value * seconds * mloops
    return None
