"""Pieces the benchmarks that run the whole platform share: fresh prices, signed-in users."""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.bus.ticks import publish_ticks
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.store.database import asyncpg_dsn
from cryptocfd.store.outbox import open_body

JSON = "application/json"


async def fresh_ticks(
    redis: Redis, streams: Streams, stop: asyncio.Event, every_s: float = 0.25
) -> None:
    """Keep BTC quoted and fresh (the engine refuses opens on a stale price)."""
    step = 0
    while not stop.is_set():
        bid = 6_400_000 + (step % 20) * 100
        tick = Tick("BTC", PriceTicks(bid), PriceTicks(bid + 1_000), int(time.time() * 1000))
        await publish_ticks(redis, streams, [tick], maxlen=10_000)
        step += 1
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


async def sign_in(base: str, database_url: str, key: str, count: int) -> list[str]:
    """Sign ``count`` users in through their links, opened from the sealed outbox with the
    gateway's server key (the worker, which would email them, is not running)."""
    tokens = []
    async with httpx.AsyncClient(base_url=base) as client:
        connection = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            for n in range(count):
                email = f"bench-{n}@example.com"
                (await client.post("/api/v1/auth/login", json={"email": email})).raise_for_status()
                sealed = await connection.fetchval(
                    "SELECT sealed_body FROM email_outbox WHERE recipient = $1 ORDER BY id DESC",
                    email,
                )
                body = open_body(key.encode(), email, sealed)
                link = next(w for w in body.split() if "/auth/verify?" in w)
                token = parse_qs(urlsplit(link).query)["token"][0]
                answer = await client.post(
                    "/api/v1/auth/verify", json={"token": token}, headers={"Accept": JSON}
                )
                answer.raise_for_status()
                tokens.append(answer.json()["access_token"])
        finally:
            await connection.close()
    return tokens
