"""Candles through the gateway: stored history from the worker's candle writer, merged with
the live minute the gateway builds from the same house quotes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.services.worker import run_worker
from tests.integration.engine_harness import publish_tick
from tests.integration.gateway_harness import running_gateway
from tests.waiting import until


async def test_candles_when_minutes_closed_serves_stored_history_with_the_live_minute(
    redis_client: Redis, redis_url: str, own_database_url: str, streams: Streams, tmp_path: Path
) -> None:
    now_minute = int(time.time()) // 60 * 60
    start = (now_minute - 180) * 1000  # three closed minutes, then the current one
    bids = [6_400_000, 6_410_000, 6_390_000, 6_405_000, 6_420_000, 6_415_000]
    stopping = asyncio.Event()
    async with running_gateway(
        redis_client, redis_url, own_database_url, streams, tmp_path
    ) as gateway:
        worker = asyncio.create_task(run_worker(gateway.settings, stopping))
        try:
            for n, bid in enumerate(bids):  # two ticks a minute over minutes -3 .. -1
                tick = Tick("BTC", PriceTicks(bid), PriceTicks(bid + 1_000), start + n * 30_000)
                await publish_tick(redis_client, streams, tick)
            await gateway.tick("BTC", 6_430_000, 6_431_000)  # now: the live minute
            await until(lambda: gateway.engine.engine.state.assets["BTC"].quote is not None)

            async def three_stored() -> bool:
                rows = await gateway.sql("SELECT count(*) AS n FROM candles_1m")
                return int(rows[0]["n"]) >= 3

            await until(three_stored, poll_s=0.05, why="the candle writer to store three minutes")
            minutes = await gateway.client.get(
                "/api/v1/candles", params={"asset": "BTC", "interval": "1m"}
            )
            hour = await gateway.client.get(
                "/api/v1/candles", params={"asset": "BTC", "interval": "1h", "limit": 5}
            )
            queries: tuple[dict[str, str | int], ...] = (
                {"asset": "NOPE"},
                {"asset": "BTC", "interval": "2m"},
                {"asset": "BTC", "from": 200, "to": 100},
                {"asset": "BTC", "limit": 5001},
            )
            bad = [await gateway.client.get("/api/v1/candles", params=q) for q in queries]
        finally:
            stopping.set()
            await worker

    assert minutes.status_code == 200, minutes.text
    rows = minutes.json()
    assert [r["time"] for r in rows[:3]] == [now_minute - 180, now_minute - 120, now_minute - 60]
    first = rows[0]
    # The house bid is the feed's bid less the markup, so compare shapes, not feed prices.
    assert float(first["high"]) >= float(first["open"]) >= float(first["low"])
    assert [r["volume"] for r in rows[:3]] == [2, 2, 2]
    assert rows[-1]["time"] == now_minute  # the live minute, not yet stored
    assert float(rows[-1]["close"]) > float(rows[0]["close"])
    assert hour.status_code == 200
    assert sum(r["volume"] for r in hour.json()) >= 7  # the stored minutes and the live one
    assert [b.json()["error"]["code"] for b in bad] == [
        "UNKNOWN_ASSET",
        "UNKNOWN_INTERVAL",
        "INVALID_RANGE",
        "LIMIT_OUT_OF_RANGE",
    ]
