"""A gateway started while Redis is down: it starts instead of exiting, answers what needs no
Redis, refuses trading with a 503 to retry while Redis is away, and sends orders to the engine
again once Redis is back. The fault run found that it exited at start-up, and the supervisor's
backoff could then keep trading down for up to 30 s after Redis returned."""

from __future__ import annotations

from pathlib import Path

from tests.integration.private_redis import engine_on_own_redis, until_ready

ORDER = {"asset": "BTC", "side": "long", "margin": "100", "leverage": 5}


async def test_gateway_when_started_with_redis_down_serves_then_trades_once_it_is_back(
    database_url: str, tmp_path: Path
) -> None:
    async with engine_on_own_redis(database_url, tmp_path, "no-redis") as own:
        own.server.kill()
        async with own.gateway() as client:  # started: it used to raise here, and exit
            alive = await client.get("/healthz")
            assets = await client.get("/api/v1/supportedAssets")
            ready_down = await client.get("/readyz")
            own.server.start()
            await until_ready(client)
            headers = await own.sign_in(client, "no-redis")
            balance = await client.get("/api/v1/balance", headers=headers)
            own.server.kill()
            refused = await client.post("/api/v1/trade/create", headers=headers, json=ORDER)
            own.server.start()
            await until_ready(client)
            traded = await client.post("/api/v1/trade/create", headers=headers, json=ORDER)

    assert alive.status_code == 200
    assert assets.status_code == 200 and {a["symbol"] for a in assets.json()} >= {"BTC"}
    assert ready_down.status_code == 503
    assert balance.status_code == 200, balance.text
    assert refused.status_code == 503 and refused.headers["Retry-After"], refused.text
    # The engine itself answered: no feed runs here, so it has no price to fill at.
    assert traded.status_code == 422, traded.text
    assert traded.json()["error"]["code"] == "PRICE_UNAVAILABLE"
