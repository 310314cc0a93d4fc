"""``cryptocfd bench candles``: one-minute rows into PostgreSQL by COPY, and chart queries.

Works in a throwaway database it creates (on the server ``DATABASE_URL`` names, by default the
local one), migrates and drops at the end.

- ``ingest_rows_per_s``: ``store.candles.write_candles`` (COPY, rollups deferred) of
  ``--ingest-rows`` one-minute candles of the six default assets in batches of ``--batch``,
  the table emptied before each run; the candles are built before the clock starts, their
  conversion to rows is timed.
- ``query_p50_ms``: with ``--rows`` one-minute rows stored (10,000,000 by default, generated in
  SQL with ``generate_series``) and the rollups built once, the median time of
  ``store.candles.query_candles`` fetching 1,000 one-hour candles from a random start, over
  ``--queries`` queries per run (the store function alone).
- ``http_query_p50_ms``: the same query through a ``cryptocfd gateway`` process (one worker,
  on this database and a throwaway Redis key prefix): ``GET /api/v1/candles?asset=&
  interval=1h&from=&limit=1000`` over one keep-alive connection, timed from request to the
  last byte of the JSON, so it includes the route, the merge with the live minute and the
  encoding.

Also reported once: ``load_s`` (the SQL load of ``--rows``) and ``rollup_build_s`` (every rollup
built from them by ``refresh_aggregates(full=True)``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
from redis.asyncio import Redis
from rich.progress import Progress

from cryptocfd.bench._common import drop_keys, median, report
from cryptocfd.bench._gateway_proc import ONE_ADDRESS_LOAD, running_gateway
from cryptocfd.bench._postgres import admin, database_url
from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.core.money import PriceTicks
from cryptocfd.market.candles import Candle
from cryptocfd.services.embedded.binaries import free_port
from cryptocfd.store.candles import query_candles, refresh_aggregates, write_candles
from cryptocfd.store.database import create_pool
from cryptocfd.store.migrate import upgrade

ASSETS = [a.symbol for a in DEFAULT_ASSETS]
START_S = int(datetime(2023, 1, 2, tzinfo=UTC).timestamp())
LOAD_CHUNK_MINUTES = 40_320  # four weeks per statement, for the progress bar

# Deterministic, plausible-looking candles: open and close on a scrambled walk, a wick each side.
LOAD = """
    INSERT INTO candles_1m (asset, time_s, open, high, low, close, volume, trades)
    SELECT asset, t, o, greatest(o, c) + m % 97, least(o, c) - m % 89, c, 1 + m % 30, 1 + m % 30
    FROM (
        SELECT a.asset, t, t / 60 AS m,
               a.base + (t / 60 * 7919) % 100003 AS o,
               a.base + (t / 60 * 7919 + 7919) % 100003 AS c
        FROM unnest($1::text[], $2::bigint[]) AS a (asset, base)
        CROSS JOIN generate_series($3::bigint, $4::bigint, 60) AS t
    ) AS g
"""


def _ingest_candles(rows: int) -> list[Candle]:
    return [
        Candle(
            ASSETS[i % 6],
            START_S + i // 6 * 60,
            PriceTicks(1000 + i % 7),
            PriceTicks(1010),
            PriceTicks(990),
            PriceTicks(1003),
            5,
            5,
        )
        for i in range(rows)
    ]


async def ingest_rows_per_s(pool: asyncpg.Pool, candles: list[Candle], batch: int) -> float:
    """Rows per second through write_candles into an empty candles_1m."""
    await pool.execute("TRUNCATE candles_1m, candles_rollup_pending")
    started = time.perf_counter()
    for at in range(0, len(candles), batch):
        await write_candles(pool, candles[at : at + batch], rollups=False)
    return len(candles) / (time.perf_counter() - started)


async def load(pool: asyncpg.Pool, rows: int) -> float:
    """Fill candles_1m with ``rows`` one-minute rows in SQL; return the seconds it took."""
    await pool.execute("TRUNCATE candles_1m, candles_rollup_pending")
    minutes = rows // len(ASSETS)
    end = START_S + (minutes - 1) * 60
    months = [*range(START_S, end + 60, 28 * 86_400), end]
    bases = [10_000_000 * (k + 1) for k in range(len(ASSETS))]
    started = time.perf_counter()
    await pool.execute("SELECT candles_1m_ensure_partitions($1::bigint[])", months)
    with Progress() as progress:
        task = progress.add_task(f"loading {minutes * len(ASSETS):,} rows", total=minutes)
        for first in range(0, minutes, LOAD_CHUNK_MINUTES):
            last = min(minutes, first + LOAD_CHUNK_MINUTES) - 1
            await pool.execute(LOAD, ASSETS, bases, START_S + first * 60, START_S + last * 60)
            progress.advance(task, last - first + 1)
    await pool.execute("ANALYZE candles_1m")
    return time.perf_counter() - started


async def query_p50_ms(pool: asyncpg.Pool, rows: int, queries: int, rng: random.Random) -> float:
    """Median latency of fetching 1,000 one-hour candles from a random start."""
    hours = -(-rows // len(ASSETS) // 60)  # one-hour buckets holding the minutes (a ceiling)
    latencies = []
    for _ in range(queries):
        asset = rng.choice(ASSETS)
        start_s = START_S + rng.randrange(max(1, hours - 1_000)) * 3_600
        began = time.perf_counter()
        candles = await query_candles(pool, asset, "1h", start_s, None, 1_000)
        latencies.append((time.perf_counter() - began) * 1000)
        assert len(candles) == min(1_000, hours), len(candles)
    return median(latencies)


async def http_query_p50_ms(base: str, rows: int, queries: int, rng: random.Random) -> float:
    """Median latency of ``GET /api/v1/candles`` for 1,000 one-hour candles."""
    hours = -(-rows // len(ASSETS) // 60)
    latencies = []
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        for _ in range(queries):
            asset = rng.choice(ASSETS)
            start_s = START_S + rng.randrange(max(1, hours - 1_000)) * 3_600
            params: dict[str, str | int] = {
                "asset": asset, "interval": "1h", "from": start_s, "limit": 1_000,
            }  # fmt: skip
            began = time.perf_counter()
            answer = await client.get("/api/v1/candles", params=params)
            latencies.append((time.perf_counter() - began) * 1000)
            assert answer.status_code == 200, answer.text
            assert len(answer.json()) == min(1_000, hours)
    return median(latencies)


async def _over_http(url: str, args: argparse.Namespace, rng: random.Random) -> list[float]:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"bench-candles-{uuid.uuid4().hex[:8]}:"
    with tempfile.TemporaryDirectory() as state:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "CRYPTOCFD_REDIS_PREFIX": prefix,
            "CRYPTOCFD_STATE_DIR": state,
            "CRYPTOCFD_ACCESS_LOG": "0",
            **ONE_ADDRESS_LOAD,
        }
        redis = Redis.from_url(redis_url)
        try:
            async with running_gateway(env, free_port(), ready="/healthz") as base:
                await http_query_p50_ms(base, args.rows, 20, rng)  # warm up
                return [
                    await http_query_p50_ms(base, args.rows, args.queries, rng)
                    for _ in range(args.runs)
                ]
        finally:
            await drop_keys(redis, prefix)
            await redis.aclose()


async def _run(url: str, args: argparse.Namespace) -> dict[str, list[float]]:
    pool = await create_pool(url, min_size=1, max_size=2, command_timeout_s=None)
    figures: dict[str, list[float]] = {"ingest_rows_per_s": [], "query_p50_ms": []}
    try:
        candles = _ingest_candles(args.ingest_rows)
        for _ in range(args.runs):
            figures["ingest_rows_per_s"].append(
                round(await ingest_rows_per_s(pool, candles, args.batch))
            )
        del candles
        figures["load_s"] = [round(await load(pool, args.rows), 1)]
        started = time.perf_counter()
        await refresh_aggregates(pool, full=True)
        figures["rollup_build_s"] = [round(time.perf_counter() - started, 1)]
        rng = random.Random(args.seed)
        await query_p50_ms(pool, args.rows, 20, rng)  # warm the pool's prepared statements
        for _ in range(args.runs):
            figures["query_p50_ms"].append(await query_p50_ms(pool, args.rows, args.queries, rng))
        figures["http_query_p50_ms"] = await _over_http(url, args, rng)
    finally:
        await pool.close()
    return figures


def main(argv: list[str]) -> int:
    """Run the candle benchmarks and report their medians."""
    parser = argparse.ArgumentParser(prog="cryptocfd bench candles")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows stored for queries")
    parser.add_argument("--ingest-rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000, help="rows per COPY")
    parser.add_argument("--queries", type=int, default=200, help="queries per run")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    name = f"cryptocfd_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = database_url(name)
        upgrade(url)
        figures = asyncio.run(_run(url, args))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    report(
        "candles",
        figures,
        {
            "ingest_rows_per_s": "≥ 300,000",
            "query_p50_ms": "< 20 (1,000 one-hour candles)",
            "http_query_p50_ms": "< 20 (GET /candles, the same)",
        },
    )
    return 0
