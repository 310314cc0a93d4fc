"""A gateway started while Redis is down: it starts instead of exiting, answers what needs no
Redis, refuses trading with a 503 to retry, and trades once Redis is back. The fault run found
that it exited at start-up, and the supervisor's backoff could then keep trading down for up to
30 s after Redis returned."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from pathlib import Path

import httpx

from cryptocfd.bus.streams import Streams
from cryptocfd.gateway.app import create_app
from cryptocfd.store.keyfiles import server_key
from tests.integration.engine_process import EngineProcess
from tests.integration.gateway_harness import PUBLIC_URL, gateway_settings, newest_link, spend_link
from tests.integration.servers import redis_server
from tests.integration.test_outages import until_ready

ORDER = {"asset": "BTC", "side": "long", "margin": "100", "leverage": 5}


async def test_gateway_when_started_with_redis_down_serves_then_trades_once_it_is_back(
    database_url: str, tmp_path: Path
) -> None:
    streams = Streams(f"no-redis:{uuid.uuid4().hex[:8]}:")
    with redis_server(tmp_path / "redis") as server:
        engine = EngineProcess(
            server.url, streams.prefix, tmp_path / "engine", secrets.token_hex(32)
        )
        await asyncio.to_thread(engine.start)
        settings = gateway_settings(server.url, database_url, streams, tmp_path / "state")
        try:
            server.kill()
            app = create_app(settings)
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            async with (
                app.lifespan(),  # started: it used to raise here, and the process exited
                httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client,
            ):
                alive = await client.get("/healthz")
                assets = await client.get("/api/v1/supportedAssets")
                ready_down = await client.get("/readyz")
                server.start()
                await until_ready(client)
                email = f"no-redis-{uuid.uuid4().hex[:8]}@example.com"
                assert (
                    await client.post("/api/v1/auth/login", json={"email": email})
                ).status_code == 202
                link = await newest_link(database_url, email, server_key(settings))
                tokens = (await spend_link(client, link)).json()
                headers = {"Authorization": f"Bearer {tokens['access_token']}"}
                balance = await client.get("/api/v1/balance", headers=headers)
        finally:
            engine.stop()

    assert alive.status_code == 200
    assert assets.status_code == 200 and {a["symbol"] for a in assets.json()} >= {"BTC"}
    assert ready_down.status_code == 503
    assert balance.status_code == 200, balance.text
