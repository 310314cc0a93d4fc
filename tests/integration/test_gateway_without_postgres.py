"""A gateway started while PostgreSQL is down: it starts, trades for clients already signed in
(nothing of trading needs the database), answers history reads 503, and serves them once the
database is back. Found by the fault run: a gateway restarted during a PostgreSQL outage used
to exit at start-up, taking trading down with the database."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from tests.integration.gateway_harness import running_gateway
from tests.integration.postgres import private_postgres
from tests.waiting import until

ORDER = {"asset": "BTC", "side": "long", "margin": "100", "leverage": 5}


async def test_gateway_when_started_with_postgres_down_trades_and_serves_history_once_it_is_back(
    redis_client: Redis, redis_url: str, streams: Streams, tmp_path: Path
) -> None:
    async with private_postgres() as postgres:
        async with running_gateway(redis_client, redis_url, postgres.url, streams, tmp_path) as gw:
            headers = await gw.sign_in("no-database@example.com")
        await postgres.crash()
        async with running_gateway(redis_client, redis_url, postgres.url, streams, tmp_path) as gw:
            await gw.tick("BTC", 6_400_000, 6_401_000)
            opened = await gw.client.post("/api/v1/trade/create", headers=headers, json=ORDER)
            history_down = await gw.client.get("/api/v1/trade/closed", headers=headers)
            ready_down = await gw.client.get("/readyz")
            await postgres.start()

            async def history() -> bool:
                answer = await gw.client.get("/api/v1/trade/closed", headers=headers)
                return answer.status_code == 200

            await until(history, 30, poll_s=0.1, why="history to answer again")

    assert opened.status_code == 200, opened.text
    assert history_down.status_code == 503, history_down.text
    assert history_down.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert ready_down.json()["checks"]["postgres"].startswith("unavailable")
