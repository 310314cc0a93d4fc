"""A platform for the ccxt client's tests: quotes that stay fresh, stored candles, and users
with API keys made the way a trader makes them (signed in by the emailed link)."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import redis

from cryptocfd.bus.messages import FIELD, TickMessage, encode
from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.market.candles import Candle
from cryptocfd.store.candles import write_candles
from cryptocfd.store.database import create_pool
from tests.integration.gateway_harness import newest_link, token_of
from tests.integration.platform_process import Platform

# Feed quotes in the assets' ticks: BTC 64,000.00 / 64,010.00, ETH 3,000.00 / 3,001.00. SOL is
# never quoted, so an order on it meets a platform without its price.
QUOTES = {"BTC": (6_400_000, 6_401_000), "ETH": (300_000, 300_100)}
TICK_EVERY_S = 0.5  # well inside the 10 s after which a quote is stale
CANDLES_START = 1_767_225_600  # 2026-01-01T00:00:00Z
CANDLE_BIDS = [6_400_000, 6_410_050, 6_390_000, 6_405_000, 6_420_000, 6_415_000]


@contextlib.contextmanager
def fresh_quotes(redis_url: str, prefix: str) -> Iterator[None]:
    """Publish a quote of every asset in ``QUOTES`` now and every ``TICK_EVERY_S``, as the
    feed does (the engine's stream and the gateways' channel), until the block ends."""
    client = redis.Redis.from_url(redis_url)
    streams = Streams(prefix)
    stop = threading.Event()

    def publish() -> None:
        now = time.time_ns() // 1_000_000
        pipe = client.pipeline(transaction=False)
        for asset, (bid, ask) in QUOTES.items():
            data = encode(TickMessage(Tick(asset, PriceTicks(bid), PriceTicks(ask), now)))
            pipe.xadd(streams.prices, {FIELD: data})
            pipe.publish(streams.ticks, data)
        pipe.execute()

    def loop() -> None:
        while not stop.wait(TICK_EVERY_S):
            publish()

    publish()
    thread = threading.Thread(target=loop, name="ccxt-test-quotes", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
        client.close()


async def store_candles(database_url: str) -> None:
    """Six BTC minutes from ``CANDLES_START`` (and their rollups)."""
    pool = await create_pool(database_url)
    try:
        candles = [
            Candle(
                "BTC",
                CANDLES_START + 60 * n,
                PriceTicks(bid),
                PriceTicks(bid + 5_000),
                PriceTicks(bid - 5_000),
                PriceTicks(bid + 1_000),
                3 + n,
                1,
            )
            for n, bid in enumerate(CANDLE_BIDS)
        ]
        await write_candles(pool, candles)
    finally:
        await pool.close()


async def signed_in(platform: Platform, database_url: str) -> dict[str, str]:
    """A new user's bearer headers, through the emailed link."""
    email = f"ccxt-{uuid.uuid4().hex[:10]}@example.com"
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=10) as http:
        sent = await http.post("/api/v1/auth/login", json={"email": email})
        assert sent.status_code == 202, sent.text
        link = await newest_link(database_url, email, platform.server_key)
        tokens = await http.post(
            "/api/v1/auth/verify",
            json={"token": token_of(link)},
            headers={"Accept": "application/json"},
        )
        assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


async def api_key(
    platform: Platform, headers: dict[str, str], scopes: tuple[str, ...] = ("read", "trade")
) -> dict[str, Any]:
    """A new API key of the signed-in user: ``{key_id, api_key, secret}``."""
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=10) as http:
        made = await http.post(
            "/api/v1/account/api-keys",
            json={"label": "ccxt", "scopes": list(scopes)},
            headers=headers,
        )
    assert made.status_code == 201, made.text
    key: dict[str, Any] = made.json()
    return key
