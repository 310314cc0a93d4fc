"""``GET /api/v1/markets``: each asset's change over 24 hours, from the candle store."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import PriceTicks
from cryptocfd.market.candles import Candle
from cryptocfd.store.candles import write_candles
from cryptocfd.store.database import create_pool
from tests.integration.gateway_harness import running_gateway
from tests.waiting import until

DAY_S = 86_400


def minute(asset: str, time_s: int, open_: int, close: int) -> Candle:
    return Candle(
        asset,
        time_s,
        PriceTicks(open_),
        PriceTicks(max(open_, close)),
        PriceTicks(min(open_, close)),
        PriceTicks(close),
        3,
        3,
    )


async def test_markets_when_history_is_stored_serve_the_change_since_the_bid_24_hours_ago(
    redis_client: Redis, redis_url: str, own_database_url: str, streams: Streams, tmp_path: Path
) -> None:
    now_minute = int(time.time()) // 60 * 60
    day_ago = now_minute - DAY_S
    history = [
        minute("BTC", day_ago - 180, 5_900_000, 6_000_000),
        minute("BTC", day_ago - 120, 6_000_000, 6_100_000),  # over before 24 h ago: the one
        minute("BTC", day_ago + 60, 6_100_000, 9_999_999),  # after it: not yet 24 h old
        minute("ETH", now_minute - 3_600, 300_000, 310_000),  # an hour of history only
    ]
    pool = await create_pool(own_database_url, min_size=1, max_size=2)
    try:
        await write_candles(pool, history)
    finally:
        await pool.close()
    async with running_gateway(
        redis_client, redis_url, own_database_url, streams, tmp_path
    ) as gateway:
        await gateway.tick("BTC", 6_400_000, 6_401_000)
        await gateway.tick("ETH", 320_000, 320_100)

        async def quoted() -> dict[str, str]:
            answer = await gateway.client.get("/api/v1/prices/latest")
            return {q["asset"]: q["bid"] for q in answer.json()}

        async def both_quoted() -> dict[str, str] | None:
            bids = await quoted()
            return bids if set(bids) == {"BTC", "ETH"} else None

        bids = await until(both_quoted, poll_s=0.05)
        answer = await gateway.client.get("/api/v1/markets")

    assert answer.status_code == 200, answer.text
    markets = {m["asset"]: m for m in answer.json()}
    assert markets["BTC"] == {
        "asset": "BTC",
        "bid": bids["BTC"],
        "price_24h": "61000.00",
        "price_24h_time": day_ago - 60,
        "change_24h": str(Decimal(bids["BTC"]) - Decimal("61000.00")),
    }
    assert markets["ETH"]["price_24h"] == "3000.00"  # the oldest minute's open
    assert markets["ETH"]["price_24h_time"] == now_minute - 3_600
    assert Decimal(markets["ETH"]["change_24h"]) == Decimal(bids["ETH"]) - Decimal("3000.00")
    assert markets["SOL"] == {
        "asset": "SOL",
        "bid": None,
        "price_24h": None,
        "price_24h_time": None,
        "change_24h": None,
    }
