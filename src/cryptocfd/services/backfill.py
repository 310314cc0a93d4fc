"""``cryptocfd backfill --days N``: synthetic candle history from the seeded simulated market.

Every default asset gets ``days`` of one-minute candles of the house bid (the feed's bid less
the markup, as ``trading/ticks.house_quote`` takes it, so the history is the chart traders are
shown) ending at the last whole minute before now. The walk runs backwards in time from the
simulated feed's starting quote: the newest minute closes at exactly the bid the house quotes
for the feed's start price, and the live feed, which starts from that same price, continues it
without a jump. (A geometric random walk with symmetric steps looks the same read either way.)

Each minute is made of 4 to 20 simulated quotes at random instants inside it, folded into
candles by the same aggregator the live feed uses, so tick volume varies and no minute is empty.
A day of all assets is written per COPY batch, newest day first, with the rollups deferred; the
rollups are brought current once at the end. The same seed and end give the same history;
running it again over stored minutes replaces them rather than doubling them.

``seed_when_empty`` is the same backfill, run by ``cryptocfd up`` in ``dev`` when the candle
store holds nothing yet, so a first start charts every interval at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TextIO

import asyncpg
from rich.console import Console
from rich.progress import Progress

from cryptocfd.core.assets import DEFAULT_ASSETS, AssetSpec
from cryptocfd.core.clock import WALL
from cryptocfd.core.tick import Tick
from cryptocfd.market.candles import MINUTE_MS, Candle, CandleAggregator
from cryptocfd.market.simulated import SimulatedFeed
from cryptocfd.store.candles import has_candles, refresh_aggregates, write_candles
from cryptocfd.store.database import create_pool
from cryptocfd.trading.ticks import house_quote

DAY_MINUTES = 1_440
MIN_TICKS, MAX_TICKS = 4, 20


class BackwardWalk:
    """The simulated market walked back in time from its start, one asset-day at a time."""

    def __init__(self, assets: Sequence[AssetSpec], rng: random.Random) -> None:
        self._feed = SimulatedFeed(tuple(assets), rng)
        self._rng = rng
        # Per asset, the time of the oldest quote made so far: the next one steps back from it.
        self._later_ms: dict[str, int] = {}

    def day(self, spec: AssetSpec, day_start_ms: int) -> list[Tick]:
        """``spec``'s house quotes over the day from ``day_start_ms``, oldest first.

        Call it for each day before the last one asked: the first call's newest quote is the
        feed's start, unmoved.
        """
        rng = self._rng
        ticks: list[Tick] = []
        for minute in reversed(range(DAY_MINUTES)):
            start = day_start_ms + minute * MINUTE_MS
            offsets = rng.sample(range(MINUTE_MS), rng.randint(MIN_TICKS, MAX_TICKS))
            for offset in sorted(offsets, reverse=True):
                ts = start + offset
                later = self._later_ms.get(spec.symbol)
                feed = (
                    self._feed.quote(spec, ts)
                    if later is None
                    else self._feed.tick(spec, ts, later - ts)
                )
                bid, ask = house_quote(spec, feed.bid, feed.ask)
                ticks.append(Tick(spec.symbol, bid, ask, ts))
                self._later_ms[spec.symbol] = ts
        ticks.reverse()
        return ticks


def synthetic_day(
    walk: BackwardWalk, assets: Sequence[AssetSpec], day_start_ms: int
) -> list[Candle]:
    """One day of every asset's one-minute candles, from ``day_start_ms``."""
    candles: list[Candle] = []
    for spec in assets:
        aggregator = CandleAggregator()
        candles.extend(aggregator.add_many(walk.day(spec, day_start_ms)))
        candles.extend(aggregator.flush())
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
    end = (WALL.now_ms() // 1000 if end_s is None else end_s) // 60 * 60
    walk = BackwardWalk(assets, random.Random(seed))  # noqa: S311 - synthetic prices, not secrets
    written = 0
    for day in range(days):
        day_start_ms = (end - (day + 1) * DAY_MINUTES * 60) * 1000
        candles = synthetic_day(walk, assets, day_start_ms)
        written += await write_candles(pool, candles, rollups=False)
        if on_day is not None:
            on_day(len(candles))
    await refresh_aggregates(pool)
    return written


async def backfill_with_progress(
    database_url: str,
    days: int,
    *,
    seed: int = 7,
    only_when_empty: bool = False,
    out: TextIO,
    title: str = "one-minute candles",
    announce: str | None = None,
) -> int | None:
    """Backfill with a progress bar on ``out``; return rows written.

    With ``only_when_empty``, write nothing (and return None) when any candle is stored already,
    only folding in the rollups a stopped run may have left deferred. ``announce`` is a line
    written before the bar (which a pipe sees only once it is done).
    """
    pool = await create_pool(database_url, min_size=1, max_size=2, command_timeout_s=None)
    try:
        if only_when_empty and await has_candles(pool):
            await refresh_aggregates(pool)
            return None
        if announce is not None:
            out.write(announce + "\n")
            out.flush()
        with Progress(console=Console(file=out)) as progress:
            task = progress.add_task(title, total=days)
            return await backfill(
                pool, days, seed=seed, on_day=lambda _rows: progress.advance(task)
            )
    finally:
        await pool.close()
