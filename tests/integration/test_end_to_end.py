"""The whole platform path: two traders sign in by the link a real SMTP server received, trade
through the gateway, one is liquidated by the feed, and balances, history and the ledger agree
to the cent, as ``cryptocfd reconcile`` confirms."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from redis.asyncio import Redis

from cryptocfd.bus.client import EngineClient
from cryptocfd.bus.streams import Streams
from cryptocfd.services.reconcile import Report, reconcile
from cryptocfd.services.worker import run_worker
from cryptocfd.store.database import create_pool
from tests.integration.gateway_harness import PUBLIC_URL, Gateway, running_gateway
from tests.integration.smtp_inbox import Inbox

BTC = (6_400_000, 6_401_000)  # 64,000.00 / 64,010.00
ETH = (320_000, 320_100)  # 3,200.00 / 3,201.00
SOL = (150_000, 150_100)  # 150.000 / 150.100


async def _sign_in(gateway: Gateway, inbox: Inbox, email: str) -> dict[str, str]:
    answer = await gateway.client.post("/api/v1/auth/login", json={"email": email})
    assert answer.status_code == 202
    link = await inbox.link_to(email)
    assert link.startswith(f"{PUBLIC_URL}/api/v1/auth/verify?token=")
    tokens = await gateway.verify_json(link)
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


async def _call(gateway: Gateway, path: str, headers: dict[str, str], body: object) -> dict:  # type: ignore[type-arg]
    answer = await gateway.client.post(path, headers=headers, json=body)
    assert answer.status_code == 200, (path, answer.text)
    result: dict = answer.json()  # type: ignore[type-arg]
    return result


async def _open(gateway: Gateway, headers: dict[str, str], **order: object) -> int:
    created = await _call(gateway, "/api/v1/trade/create", headers, order)
    return int(created["order_id"])


class Outcome(NamedTuple):
    """What the scenario saw."""

    balances: dict[str, dict[str, str]]
    histories: dict[str, dict[str, Any]]
    open_after: dict[str, Any]
    report: Report
    history_rows: int
    doomed: int


async def _scenario(
    gateway: Gateway, inbox: Inbox, database_url: str, redis: Redis, streams: Streams
) -> Outcome:
    alice = await _sign_in(gateway, inbox, "alice@example.com")
    bob = await _sign_in(gateway, inbox, "bob@example.com")
    await gateway.tick("BTC", *BTC)
    await gateway.tick("ETH", *ETH)
    await gateway.tick("SOL", *SOL)

    # Alice: a 100x BTC long that the feed will liquidate, and an ETH short she manages.
    doomed = await _open(gateway, alice, asset="BTC", side="long", margin="500", leverage=100)
    eth = await _open(
        gateway, alice, asset="ETH", side="short", margin="1000.00", leverage=5,
        take_profit="2800", stop_loss="3500",
    )  # fmt: skip
    await _call(gateway, "/api/v1/trade/modify", alice, {"order_id": eth, "stop_loss": "3400"})
    # Bob: a SOL long and an ETH long, each closed in two steps.
    sol = await _open(gateway, bob, asset="SOL", type="buy", margin=250, leverage=10)
    bob_eth = await _open(gateway, bob, asset="ETH", side="long", margin="333.33", leverage=3)
    await _call(gateway, "/api/v1/trade/modify", bob, {"order_id": sol, "trailing_distance": "5"})

    await gateway.tick("ETH", 316_000, 316_100)
    await gateway.tick("SOL", 152_500, 152_600)
    await _call(gateway, "/api/v1/trade/close", alice, {"order_id": eth, "fraction": "0.25"})
    await _call(gateway, "/api/v1/trade/close", bob, {"order_id": sol, "fraction": "0.5"})
    await _call(gateway, "/api/v1/trade/close", bob, {"order_id": bob_eth, "fraction": 0.4})
    await gateway.tick("BTC", 6_200_000, 6_201_000)  # -3%: Alice's 100x long is stopped out
    await _call(gateway, "/api/v1/trade/close", alice, {"order_id": eth})
    await _call(gateway, "/api/v1/trade/close", bob, {"order_id": sol})
    await _call(gateway, "/api/v1/trade/close", bob, {"order_id": bob_eth})

    # Reconciling first waits until the journal has booked every record, so the history read
    # below is complete (the worker journals asynchronously).
    client = EngineClient(redis, streams)
    await client.start()
    pool = await create_pool(database_url)
    try:
        report = await reconcile(redis, streams, pool, client, wait_s=20)
        history_rows = int(await pool.fetchval("SELECT count(*) FROM closed_trades"))
    finally:
        await pool.close()
        await client.close()

    balances: dict[str, dict[str, str]] = {}
    histories: dict[str, dict[str, Any]] = {}
    for name, headers in (("alice", alice), ("bob", bob)):
        balances[name] = (await gateway.client.get("/api/v1/balance", headers=headers)).json()
        history = await gateway.client.get(
            "/api/v1/trade/closed", headers=headers, params={"limit": 50}
        )
        histories[name] = history.json()
    open_after = (await gateway.client.get("/api/v1/trade/open", headers=alice)).json()
    return Outcome(balances, histories, open_after, report, history_rows, doomed)


async def test_platform_when_two_traders_trade_and_one_is_liquidated_agrees_to_the_cent(
    redis_client: Redis,
    redis_url: str,
    own_database_url: str,
    streams: Streams,
    tmp_path: Path,
    smtp_server: tuple[Inbox, int],
) -> None:
    inbox, smtp_port = smtp_server
    stopping = asyncio.Event()
    async with running_gateway(
        redis_client,
        redis_url,
        own_database_url,
        streams,
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
    ) as gateway:
        worker = asyncio.create_task(run_worker(gateway.settings, stopping))
        try:
            seen = await _scenario(gateway, inbox, own_database_url, redis_client, streams)
        finally:
            stopping.set()
            await worker

    assert seen.open_after == {"positions": [], "pending": []}
    alice_items = seen.histories["alice"]["items"]
    assert sorted(item["close_reason"] for item in alice_items) == [
        "closed",
        "closed",
        "liquidated",
    ]
    liquidated = next(i for i in alice_items if i["order_id"] == seen.doomed)
    assert liquidated["close_reason"] == "liquidated"
    assert Decimal("-500.00") <= Decimal(liquidated["pnl"]) < 0  # never more than the margin
    assert len(seen.histories["bob"]["items"]) == 4
    assert seen.history_rows == 7
    for name in ("alice", "bob"):
        booked = sum(Decimal(item["pnl"]) for item in seen.histories[name]["items"])
        assert Decimal(seen.balances[name]["balance"]) == Decimal("10000.00") + booked
        assert seen.balances[name]["used_margin"] == "0.00"
    assert seen.report.clean, seen.report
    assert seen.report.accounts == 2
