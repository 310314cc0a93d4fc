"""An engine on a Redis of the test's own, which the test may kill and start again, and a
gateway app in front of it: what the outage tests share."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from cryptocfd.bus.streams import Streams
from cryptocfd.gateway.app import create_app
from cryptocfd.settings import Settings
from cryptocfd.store.keyfiles import server_key
from tests.integration.engine_process import EngineProcess
from tests.integration.gateway_harness import PUBLIC_URL, gateway_settings, newest_link, spend_link
from tests.integration.servers import RedisServer, redis_server


@dataclass
class OwnRedis:
    """A running engine on ``server``, and the settings of a gateway in front of it."""

    server: RedisServer
    settings: Settings
    database_url: str

    @contextlib.asynccontextmanager
    async def gateway(self) -> AsyncIterator[httpx.AsyncClient]:
        """A gateway app, started, with a client; it stops when the block ends."""
        app = create_app(self.settings)
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with (
            app.lifespan(),
            httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client,
        ):
            yield client

    async def sign_in(self, client: httpx.AsyncClient, label: str) -> dict[str, str]:
        """Sign a new user in by the emailed link; the bearer header of its token."""
        email = f"{label}-{uuid.uuid4().hex[:8]}@example.com"
        asked = await client.post("/api/v1/auth/login", json={"email": email})
        assert asked.status_code == 202, asked.text
        link = await newest_link(self.database_url, email, server_key(self.settings))
        tokens = (await spend_link(client, link)).json()
        return {"Authorization": f"Bearer {tokens['access_token']}"}


@contextlib.asynccontextmanager
async def engine_on_own_redis(
    database_url: str, tmp_path: Path, label: str
) -> AsyncIterator[OwnRedis]:
    """Start a Redis with AOF and an engine process on it; stop both when the block ends."""
    streams = Streams(f"{label}:{uuid.uuid4().hex[:8]}:")
    with redis_server(tmp_path / "redis") as server:
        engine = EngineProcess(
            server.url, streams.prefix, tmp_path / "engine", secrets.token_hex(32)
        )
        await asyncio.to_thread(engine.start)
        settings = gateway_settings(server.url, database_url, streams, tmp_path / "state")
        try:
            yield OwnRedis(server, settings, database_url)
        finally:
            engine.stop()


async def until_ready(client: httpx.AsyncClient, timeout_s: float = 30.0) -> None:
    """Wait for ``/readyz`` to answer 200."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while (await client.get("/readyz")).status_code != 200:
        assert asyncio.get_running_loop().time() < deadline, "not ready again in time"
        await asyncio.sleep(0.2)
