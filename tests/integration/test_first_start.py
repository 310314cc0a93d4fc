"""A first ``cryptocfd up`` in dev seeds 30 days of history that the live feed continues.

The real command runs on a fresh database of the machine's PostgreSQL and a private Redis; every
interval is read back through the real ``GET /api/v1/candles``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import pytest

from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.market.candles import INTERVALS
from cryptocfd.market.simulated import SimulatedFeed
from cryptocfd.services.embedded.binaries import free_port
from cryptocfd.settings import Settings
from cryptocfd.store.database import asyncpg_dsn
from cryptocfd.trading.ticks import house_quote
from tests.integration.test_up import read_until, start_up
from tests.waiting import until

pytestmark = pytest.mark.slow  # the whole platform, seeding 30 days of candles

SEEDED_PER_ASSET = Settings().seed_days * 1_440
WAIT_S = 180  # a line's wait: seeding 30 days on a loaded 2-core machine


@contextlib.asynccontextmanager
async def running_up(env: dict[str, str], seen: list[str]) -> AsyncIterator[httpx.AsyncClient]:
    """``cryptocfd up`` until the block ends, once its dashboard answers with BTC quoted."""
    up = await start_up(env)
    try:
        assert up.stdout is not None
        await read_until(up.stdout, "up: dashboard", seen, WAIT_S)
        base = f"http://127.0.0.1:{env['CRYPTOCFD_HTTP_PORT']}"
        async with httpx.AsyncClient(base_url=base) as http:

            async def all_quoted() -> bool:
                with contextlib.suppress(httpx.TransportError):
                    answer = await http.get("/api/v1/prices/latest")
                    return answer.is_success and len(answer.json()) >= len(DEFAULT_ASSETS)
                return False

            await until(all_quoted, 60, poll_s=0.2, why=lambda: "".join(seen))
            yield http
    finally:
        if up.returncode is None:
            up.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(up.communicate(), 60)
        seen.append(rest.decode())
    assert up.returncode == 0, "".join(seen)


async def seeded_closes(database_url: str) -> tuple[dict[str, int], dict[str, int], int]:
    """Per asset the last seeded minute's close and its time, and every minute stored up to it.

    The seed is each asset's oldest ``SEEDED_PER_ASSET`` minutes: live minutes come after.
    """
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch(
            "SELECT a.asset, s.time_s, s.close FROM unnest($2::text[]) AS a (asset)"
            " CROSS JOIN LATERAL (SELECT time_s, close FROM candles_1m WHERE asset = a.asset"
            " ORDER BY time_s OFFSET $1 LIMIT 1) AS s",
            SEEDED_PER_ASSET - 1,
            [spec.symbol for spec in DEFAULT_ASSETS],
        )
        last = max(row["time_s"] for row in rows)
        stored = await conn.fetchval("SELECT count(*) FROM candles_1m WHERE time_s <= $1", last)
    finally:
        await conn.close()
    return (
        {row["asset"]: row["close"] for row in rows},
        {row["asset"]: row["time_s"] for row in rows},
        stored,
    )


def feed_start_bid(symbol: str) -> int:
    """The house bid of the simulated feed's starting quote, as the engine marks it up."""
    spec = next(a for a in DEFAULT_ASSETS if a.symbol == symbol)
    start = SimulatedFeed(DEFAULT_ASSETS, random.Random()).quote(spec, 0)
    return house_quote(spec, start.bid, start.ask)[0]


async def test_up_when_dev_store_is_empty_seeds_thirty_days_that_the_live_feed_continues(
    tmp_path: Path, own_database_url: str
) -> None:
    port = free_port()
    database_url = own_database_url
    env = {
        **os.environ,
        "CRYPTOCFD_ENV": "dev",
        "CRYPTOCFD_HTTP_PORT": str(port),
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # a private one, in the state directory
        "CRYPTOCFD_STATE_DIR": str(tmp_path / "state"),
        "CRYPTOCFD_PUBLIC_URL": f"http://localhost:{port}",
    }
    env.pop("CRYPTOCFD_SEED_DAYS", None)  # the default is what a newcomer gets
    first: list[str] = []
    history: dict[tuple[str, str], list[dict[str, object]]] = {}
    async with running_up(env, first) as http:
        for spec in DEFAULT_ASSETS:
            for interval in INTERVALS:
                params: dict[str, str | int] = {
                    "asset": spec.symbol,
                    "interval": interval,
                    "limit": 5000,
                }
                answer = await http.get("/api/v1/candles", params=params)
                assert answer.status_code == 200, answer.text
                history[spec.symbol, interval] = answer.json()
        closes, times, stored = await seeded_closes(database_url)
    second: list[str] = []
    async with running_up(env, second):
        again = await seeded_closes(database_url)

    output = "".join(first)
    assert "up: seeding 30 days of history" in output, output
    assert f"up: seeded {SEEDED_PER_ASSET * len(DEFAULT_ASSETS):,} one-minute candles" in output
    assert stored == SEEDED_PER_ASSET * len(DEFAULT_ASSETS)
    for spec in DEFAULT_ASSETS:
        symbol = spec.symbol
        counts = {interval: len(history[symbol, interval]) for interval in INTERVALS}
        assert counts["1m"] == 5000, counts
        assert counts["1d"] >= 30, counts
        assert counts["1w"] >= 4, counts
        assert all(count >= 2 for count in counts.values()), counts
        # The seed ends at the feed's start, and the first live minute follows it closely.
        assert closes[symbol] == feed_start_bid(symbol)
        minutes = history[symbol, "1m"]
        after = [c for c in minutes if isinstance(c["time"], int) and c["time"] > times[symbol]]
        assert after, f"{symbol}: no live minute after the seed"
        live_open = Decimal(str(after[0]["open"])) * 10**spec.price_decimals
        assert abs(live_open - closes[symbol]) * 10_000 <= 20 * closes[symbol], symbol
    assert "not seeding" not in output
    second_output = "".join(second)
    assert "up: candles are stored already; not seeding" in second_output, second_output
    assert "up: seeded" not in second_output
    assert again == (closes, times, stored)


async def count(database_url: str, sql: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        value = await conn.fetchval(sql)
    finally:
        await conn.close()
    assert isinstance(value, int)
    return value


async def test_up_when_stopped_while_seeding_exits_and_the_next_start_keeps_the_partial_seed(
    tmp_path: Path, own_database_url: str
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CRYPTOCFD_ENV": "dev",
        "CRYPTOCFD_HTTP_PORT": str(port),
        "DATABASE_URL": own_database_url,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "CRYPTOCFD_STATE_DIR": str(tmp_path / "state"),
        "CRYPTOCFD_PUBLIC_URL": f"http://localhost:{port}",
        "CRYPTOCFD_SEED_DAYS": "30",
    }
    up = await start_up(env)
    assert up.stdout is not None
    first: list[str] = []
    await read_until(up.stdout, "up: the candle store is empty: seeding 30 days", first, WAIT_S)
    await until(
        lambda: count(own_database_url, "SELECT count(*) FROM candles_1m"),
        WAIT_S,
        poll_s=0.1,
        why=lambda: "".join(first),
    )
    up.send_signal(signal.SIGTERM)
    rest, _ = await asyncio.wait_for(up.communicate(), 60)
    first.append(rest.decode())
    partial = await count(own_database_url, "SELECT count(*) FROM candles_1m")
    deferred = await count(own_database_url, "SELECT count(*) FROM candles_rollup_pending")

    second: list[str] = []
    async with running_up(env, second):
        pending_after = await count(own_database_url, "SELECT count(*) FROM candles_rollup_pending")

    output = "".join(first)
    assert up.returncode == 0, output
    assert "up: stopped while seeding" in output
    assert "up: dashboard" not in output
    assert "engine " not in output  # no process was started
    assert 0 < partial < SEEDED_PER_ASSET * len(DEFAULT_ASSETS)
    assert deferred > 0  # the stopped seed left its rollups to be folded in
    assert "up: candles are stored already; not seeding" in "".join(second)
    assert pending_after == 0
