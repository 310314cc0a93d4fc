"""Candles in PostgreSQL: rollups equal ``date_bin`` over the one-minute rows, gaps stay gaps,
re-sent batches do not double, queries are validated, and backfill writes whole days.

Each test writes its own asset symbols, so tests sharing the run's database never see each
other's candles.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.core.money import PriceTicks
from cryptocfd.market.candles import INTERVALS, Candle, CandleQueryError, CandleRow
from cryptocfd.services.backfill import backfill
from cryptocfd.store.candles import query_candles, refresh_aggregates, write_candles
from cryptocfd.store.database import create_pool
from tests.integration.postgres import fresh_database

# Saturday 2026-10-31 22:00 UTC: the history below crosses a month, a day and a week boundary.
START_S = int(datetime(2026, 10, 31, 22, tzinfo=UTC).timestamp())
WIDTHS = {
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
    "1w": timedelta(weeks=1),
}

# The reference rollup: PostgreSQL's date_bin over the one-minute rows, from Monday 2000-01-03.
REFERENCE = """
    SELECT extract(epoch FROM b)::bigint AS time_s,
           (array_agg(open ORDER BY time_s))[1] AS open, max(high) AS high, min(low) AS low,
           (array_agg(close ORDER BY time_s DESC))[1] AS close,
           sum(volume)::bigint AS volume, sum(trades)::bigint AS trades
    FROM (SELECT *, date_bin($2::interval, to_timestamp(time_s), '2000-01-03 00:00:00+00') AS b
          FROM candles_1m WHERE asset = $1) AS minutes
    GROUP BY b ORDER BY b
"""


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


def new_asset() -> str:
    return "T" + uuid.uuid4().hex[:8].upper()


def random_history(asset: str, minutes: int, rng: random.Random) -> list[Candle]:
    """One-minute candles with a random walk and gaps: about one minute in five is missing."""
    candles, price = [], 10_000
    for minute in range(minutes):
        if rng.random() < 0.2:
            continue
        o = price
        c = max(1, o + rng.randint(-50, 50))
        h = max(o, c) + rng.randint(0, 20)
        lo = max(1, min(o, c) - rng.randint(0, 20))
        ticks = rng.randint(1, 30)
        candles.append(
            Candle(
                asset,
                START_S + minute * 60,
                PriceTicks(o),
                PriceTicks(h),
                PriceTicks(lo),
                PriceTicks(c),
                ticks,
                ticks,
            )
        )
        price = c
    return candles


async def rollup(pool: asyncpg.Pool, interval: str, asset: str) -> list[CandleRow]:
    rows = await pool.fetch(
        f"SELECT time_s, open, high, low, close, volume, trades FROM candles_{interval} "  # noqa: S608
        "WHERE asset = $1 ORDER BY time_s",
        asset,
    )
    return [CandleRow(*r) for r in rows]


async def reference(pool: asyncpg.Pool, interval: str, asset: str) -> list[CandleRow]:
    return [CandleRow(*r) for r in await pool.fetch(REFERENCE, asset, WIDTHS[interval])]


async def test_write_when_batches_arrive_one_by_one_keeps_every_rollup_equal_to_date_bin(
    pool: asyncpg.Pool,
) -> None:
    asset = new_asset()
    history = random_history(asset, 10 * 1440, random.Random(1))
    for start in range(0, len(history), 997):
        await write_candles(pool, history[start : start + 997])

    for interval in WIDTHS:
        assert await rollup(pool, interval, asset) == await reference(pool, interval, asset)
    weeks = await rollup(pool, "1w", asset)
    assert all(datetime.fromtimestamp(w.time_s, UTC).weekday() == 0 for w in weeks)
    assert len(weeks) == 3  # Sat..Sun, then a whole week, then the rest


async def test_refresh_when_rollups_were_deferred_brings_them_equal_to_date_bin(
    pool: asyncpg.Pool,
) -> None:
    asset = new_asset()
    history = random_history(asset, 3 * 1440, random.Random(2))
    await write_candles(pool, history, rollups=False)
    assert await rollup(pool, "1h", asset) == []

    assert await refresh_aggregates(pool) >= 1

    for interval in WIDTHS:
        assert await rollup(pool, interval, asset) == await reference(pool, interval, asset)
    assert await refresh_aggregates(pool, full=True) >= 1
    assert await rollup(pool, "1d", asset) == await reference(pool, "1d", asset)


async def test_write_when_a_batch_is_sent_again_does_not_double_and_newer_values_win(
    pool: asyncpg.Pool,
) -> None:
    asset = new_asset()
    history = random_history(asset, 600, random.Random(3))
    await write_candles(pool, history)
    before = await rollup(pool, "1h", asset)

    await write_candles(pool, history)
    assert len(await rollup(pool, "1m", asset)) == len(history)
    assert await rollup(pool, "1h", asset) == before

    changed = Candle(
        asset,
        history[0].time_s,
        PriceTicks(1),
        PriceTicks(99_999),
        PriceTicks(1),
        PriceTicks(2),
        500,
        500,
    )
    await write_candles(pool, [changed, history[1], changed])  # a repeat inside the batch too
    first_hour = (await rollup(pool, "1h", asset))[0]
    assert (first_hour.high, first_hour.open) == (99_999, 1)
    assert await rollup(pool, "1h", asset) == await reference(pool, "1h", asset)


async def test_query_when_minutes_are_missing_returns_gaps_not_made_up_candles(
    pool: asyncpg.Pool,
) -> None:
    asset = new_asset()
    minutes = [0, 1, 2, 11, 12, 40]
    await write_candles(
        pool,
        [
            Candle(
                asset,
                START_S + m * 60,
                PriceTicks(100 + m),
                PriceTicks(110 + m),
                PriceTicks(90),
                PriceTicks(105),
                1,
                1,
            )
            for m in minutes
        ],
    )

    ones = await query_candles(pool, asset, "1m", START_S, None, 100, assets=[asset])
    fives = await query_candles(pool, asset, "5m", START_S, None, 100, assets=[asset])

    assert [r.time_s - START_S for r in ones] == [m * 60 for m in minutes]
    assert [r.time_s - START_S for r in fives] == [0, 600, 2400]
    assert (fives[0].open, fives[0].close, fives[0].volume) == (100, 105, 3)


async def test_query_when_limited_returns_the_first_from_start_or_the_newest_ascending(
    pool: asyncpg.Pool,
) -> None:
    asset = new_asset()
    await write_candles(
        pool,
        [
            Candle(
                asset,
                START_S + m * 60,
                PriceTicks(100),
                PriceTicks(100),
                PriceTicks(100),
                PriceTicks(100),
                1,
                1,
            )
            for m in range(30)
        ],
    )

    first = await query_candles(pool, asset, "1m", START_S + 60, None, 3, assets=[asset])
    newest = await query_candles(pool, asset, "1m", None, None, 3, assets=[asset])
    upto = await query_candles(pool, asset, "1m", None, START_S + 600, 2, assets=[asset])
    window = await query_candles(pool, asset, "1m", START_S, START_S + 120, 100, assets=[asset])

    assert [r.time_s - START_S for r in first] == [60, 120, 180]
    assert [r.time_s - START_S for r in newest] == [1620, 1680, 1740]
    assert [r.time_s - START_S for r in upto] == [540, 600]
    assert [r.time_s - START_S for r in window] == [0, 60, 120]


@pytest.mark.parametrize(
    ("asset", "interval", "start_s", "end_s", "limit", "code"),
    [
        ("NOPE", "1h", None, None, 10, "UNKNOWN_ASSET"),
        ("BTC", "3h", None, None, 10, "UNKNOWN_INTERVAL"),
        ("BTC", "1h", 10, 5, 10, "INVALID_RANGE"),
        ("BTC", "1h", None, None, 5001, "LIMIT_OUT_OF_RANGE"),
    ],
)
async def test_query_when_invalid_raises_a_value_error_with_a_code(
    pool: asyncpg.Pool,
    asset: str,
    interval: str,
    start_s: int | None,
    end_s: int | None,
    limit: int,
    code: str,
) -> None:
    with pytest.raises(CandleQueryError) as raised:
        await query_candles(pool, asset, interval, start_s, end_s, limit)

    assert raised.value.code == code


async def test_query_when_every_interval_is_asked_reads_its_own_rollup(pool: asyncpg.Pool) -> None:
    asset = new_asset()
    await write_candles(pool, random_history(asset, 2 * 1440, random.Random(4)))

    for interval in INTERVALS:
        got = await query_candles(pool, asset, interval, 0, None, 5000, assets=[asset])
        assert got == await rollup(pool, interval, asset)


async def _backfill_one_day(url: str) -> tuple[int, int, int, int]:
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        end_s = int(datetime(2026, 11, 25, 10, 7, 31, tzinfo=UTC).timestamp())
        written = await backfill(pool, 1, end_s=end_s)
        stored = await pool.fetchval("SELECT count(*) FROM candles_1m")
        assets = await pool.fetchval("SELECT count(DISTINCT asset) FROM candles_1m")
        hours = await pool.fetchval("SELECT count(*) FROM candles_1h WHERE asset = 'BTC'")
        return written, stored, assets, hours
    finally:
        await pool.close()


def test_backfill_when_one_day_writes_every_minute_of_every_asset() -> None:
    with fresh_database() as url:
        written, stored, assets, hours = asyncio.run(_backfill_one_day(url))

    assert written == stored == 1440 * len(DEFAULT_ASSETS)
    assert assets == len(DEFAULT_ASSETS)
    assert hours == 25  # 10:07 yesterday to 10:06 today touches 25 hours
