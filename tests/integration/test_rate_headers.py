"""Rate-limit headers, as a program reads them: every counted answer says its limit, what is
left of it and when its window ends; a trading write reports the per-user limit, the rest the
per-IP one, and a 429 says when to come back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from tests.integration.gateway_harness import Gateway, held, running_gateway

PER_USER = 3
PER_IP = 1_000


@pytest.fixture
async def limited(
    redis_client: Redis, redis_url: str, database_url: str, streams: Streams, tmp_path: Path
) -> AsyncIterator[Gateway]:
    gateway = running_gateway(
        redis_client,
        redis_url,
        database_url,
        streams,
        tmp_path,
        rate_per_user_per_min=PER_USER,
        rate_per_ip_per_min=PER_IP,
    )
    async with held(gateway) as running:
        yield running


def window(headers: httpx.Headers) -> tuple[int, int, int]:
    return (
        int(headers["x-ratelimit-limit"]),
        int(headers["x-ratelimit-remaining"]),
        int(headers["x-ratelimit-reset"]),
    )


async def test_answers_when_counted_report_the_limit_that_counted_them(limited: Gateway) -> None:
    headers = await limited.sign_in(f"rates-{uuid.uuid4().hex[:8]}@example.com")
    await limited.tick("BTC", 6_400_000, 6_401_000)
    order = {"asset": "BTC", "side": "long", "margin": "10.00", "leverage": 10}

    read = await limited.client.get("/api/v1/balance", headers=headers)
    writes = [
        await limited.client.post("/api/v1/trade/create", headers=headers, json=order)
        for _ in range(PER_USER + 1)
    ]

    ip_limit, ip_left, ip_reset = window(read.headers)
    assert read.status_code == 200 and ip_limit == PER_IP and 0 < ip_left < PER_IP
    assert 0 < ip_reset <= 60
    assert [w.status_code for w in writes] == [200] * PER_USER + [429]
    assert [window(w.headers)[:2] for w in writes] == [
        (PER_USER, 2),
        (PER_USER, 1),
        (PER_USER, 0),
        (PER_USER, 0),
    ]
    refused = writes[-1]
    assert 0 < int(refused.headers["retry-after"]) == window(refused.headers)[2] <= 60
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
