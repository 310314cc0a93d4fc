"""``cryptocfd backfill --days N``: synthetic candle history from the seeded simulated market.

Every default asset gets ``days`` of one-minute candles ending at the last whole minute before
now. Each minute is made of 4 to 20 simulated quotes at random instants inside it, folded into
candles by the same aggregator the live feed uses, so tick volume varies and no minute is empty.
A day of all assets is written per COPY batch with the rollups deferred; the rollups are brought
current once at the end. The same seed and end give the same history; running it again over
stored minutes replaces them rather than doubling them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

import asyncpg

from cryptocfd.market.candles import MINUTE_MS, Candle, CandleAggregator
from cryptocfd.market.simulated import SimulatedFeed
from cryptocfd.store.candles import refresh_aggregates, write_candles
from cryptocfd.trading.assets import DEFAULT_ASSETS, AssetSpec

DAY_MINUTES = 1_440
MIN_TICKS, MAX_TICKS = 4, 20


def synthetic_day(
    feed: SimulatedFeed,
    aggregator: CandleAggregator,
    assets: Sequence[AssetSpec],
    rng: random.Random,
    day_start_ms: int,
) -> list[Candle]:
    """One day of every asset's one-minute candles, from ``day_start_ms``."""
    candles: list[Candle] = []
    for spec in assets:
        last_ms = day_start_ms
        for minute in range(DAY_MINUTES):
            start = day_start_ms + minute * MINUTE_MS
            offsets = sorted(rng.sample(range(MINUTE_MS), rng.randint(MIN_TICKS, MAX_TICKS)))
            for offset in offsets:
                ts = start + offset
                candles.extend(aggregator.add(feed.tick(spec, ts, max(1, ts - last_ms))))
                last_ms = ts
    candles.extend(aggregator.flush(day_start_ms + DAY_MINUTES * MINUTE_MS))
    return candles


async def backfill(
    pool: asyncpg.Pool,
    days: int,
    *,
    end_s: int | None = None,
    seed: int = 7,
    assets: Sequence[AssetSpec] = DEFAULT_ASSETS,
    on_day: Callable[[int], None] | None = None,
) -> int:
    """Write ``days`` of history ending at ``end_s`` (default: this minute); return rows written.

    ``on_day`` is called with the rows of each day as it is stored (a progress bar's hook).
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    end = (int(time.time()) if end_s is None else end_s) // 60 * 60
    rng = random.Random(seed)  # noqa: S311 - synthetic prices, not secrets
    feed = SimulatedFeed(tuple(assets), rng)
    aggregator = CandleAggregator()
    written = 0
    for day in range(days):
        day_start_ms = (end - (days - day) * DAY_MINUTES * 60) * 1000
        candles = synthetic_day(feed, aggregator, assets, rng, day_start_ms)
        written += await write_candles(pool, candles, rollups=False)
        if on_day is not None:
            on_day(len(candles))
    await refresh_aggregates(pool)
    return written
