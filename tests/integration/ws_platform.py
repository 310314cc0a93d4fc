"""What the websocket tests against real processes share: a platform whose keys are cleaned
up after, a user signed in through their emailed link, and the next frame a socket gets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import redis
from websockets.asyncio.client import ClientConnection

from tests.integration.gateway_harness import newest_link, spend_link
from tests.integration.platform_process import Platform, running_platform


@contextlib.contextmanager
def ws_platform(redis_url: str, database_url: str, state: Path, **env: str) -> Iterator[Platform]:
    """An engine and a gateway process on a key prefix of their own, removed at the end;
    ``env`` adds to the generous rate limits every such test runs with."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    try:
        with running_platform(
            redis_url,
            database_url,
            prefix,
            state,
            CRYPTOCFD_RATE_PER_IP_PER_MIN="100000",
            CRYPTOCFD_RATE_PER_USER_PER_MIN="100000",
            **env,
        ) as running:
            yield running
    finally:
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


async def signed_in(platform: Platform, database_url: str, name: str) -> dict[str, Any]:
    """A new user ``name-…@example.com``, signed in through the emailed link: the verify
    answer (``access_token``, ``user``…)."""
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    async with httpx.AsyncClient(base_url=platform.base_url) as client:
        (await client.post("/api/v1/auth/login", json={"email": email})).raise_for_status()
        link = await newest_link(database_url, email, platform.server_key)
        answer = await spend_link(client, link)
        answer.raise_for_status()
    tokens: dict[str, Any] = answer.json()
    return tokens


async def receive(socket: ClientConnection, timeout_s: float = 5.0) -> dict[str, Any]:
    """The next frame that is not a heartbeat."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout_s))
        if message.get("type") != "heartbeat":
            return message
