"""One order by its id, in each state it can reach, through the real gateway, engine and the
worker's journal; and the open and closed lists filtered by asset."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.services.worker import run_worker
from tests.integration.gateway_harness import Gateway, held, running_gateway
from tests.waiting import until

TRADE = "/api/v1/trade"
MARKET = {"asset": "BTC", "side": "long", "margin": "100.00", "leverage": 10}


@pytest.fixture
async def journaled(
    redis_client: Redis, redis_url: str, own_database_url: str, streams: Streams, tmp_path: Path
) -> AsyncIterator[Gateway]:
    """A gateway with the worker journaling its engine's records, in a database of its own
    (order ids are the engine's, and another test's engine has the same ones)."""
    running = running_gateway(redis_client, redis_url, own_database_url, streams, tmp_path)
    async with held(running) as gateway:
        stopping = asyncio.Event()
        worker = asyncio.create_task(run_worker(gateway.settings, stopping))
        try:
            yield gateway
        finally:
            stopping.set()
            await worker


async def order_once_booked(
    gateway: Gateway, headers: dict[str, str], order_id: int, status: str
) -> dict[str, Any]:
    """The order, once the journal has booked it in ``status`` (503 until then)."""
    seen: dict[str, Any] = {}

    async def booked() -> bool:
        answer = await gateway.client.get(f"{TRADE}/orders/{order_id}", headers=headers)
        seen.update(answer.json())
        return answer.status_code == 200 and answer.json()["status"] == status

    await until(booked, poll_s=0.05, why=f"order {order_id} to be {status}")
    return seen


async def test_an_order_by_id_is_its_state_from_placing_to_its_end(journaled: Gateway) -> None:
    gateway = journaled
    headers = await gateway.sign_in(f"orders-{uuid.uuid4().hex[:8]}@example.com")
    stranger = await gateway.sign_in(f"stranger-{uuid.uuid4().hex[:8]}@example.com")
    await gateway.tick("BTC", 6_400_000, 6_401_000)
    opened = (await gateway.client.post(f"{TRADE}/create", headers=headers, json=MARKET)).json()
    limit = {**MARKET, "order_type": "limit", "price": "50000"}
    placed = (await gateway.client.post(f"{TRADE}/create", headers=headers, json=limit)).json()
    risky = {**MARKET, "margin": "10.00", "leverage": 100}
    doomed = (await gateway.client.post(f"{TRADE}/create", headers=headers, json=risky)).json()

    live = await order_once_booked(gateway, headers, opened["order_id"], "open")
    pending = await order_once_booked(gateway, headers, placed["order_id"], "pending")
    not_yours = await gateway.client.get(f"{TRADE}/orders/{opened['order_id']}", headers=stranger)
    unknown = await gateway.client.get(f"{TRADE}/orders/987654321", headers=headers)
    await gateway.client.post(
        f"{TRADE}/cancel", headers=headers, json={"order_id": placed["order_id"]}
    )
    close = await gateway.client.post(
        f"{TRADE}/close", headers=headers, json={"order_id": opened["order_id"]}
    )
    await gateway.tick("BTC", 6_300_000, 6_301_000)  # past the 100x position's liquidation
    cancelled = await order_once_booked(gateway, headers, placed["order_id"], "cancelled")
    closed = await order_once_booked(gateway, headers, opened["order_id"], "closed")
    liquidated = await order_once_booked(gateway, headers, doomed["order_id"], "liquidated")

    assert (live["order_type"], live["margin"], live["quantity"]) == (
        "market",
        "100.00",
        opened["position"]["quantity"],
    )
    assert live["unrealized_pnl"] is not None and live["closed_at"] is None
    assert (pending["order_type"], pending["price"], pending["quantity"]) == (
        "limit",
        "50000.00",
        None,
    )
    assert (not_yours.status_code, not_yours.json()["error"]["code"]) == (404, "ORDER_NOT_FOUND")
    assert unknown.status_code == 404
    assert cancelled["end_reason"] == "cancelled" and cancelled["closed_at"] is not None
    assert closed["end_reason"] == "closed" and closed["unrealized_pnl"] is None
    assert closed["realized_pnl"] == close.json()["pnl"]  # the one close booked
    assert liquidated["end_reason"] == "liquidated" and liquidated["realized_pnl"] == "-10.00"


async def test_open_and_closed_when_filtered_by_asset_list_only_that_asset(
    journaled: Gateway,
) -> None:
    gateway = journaled
    headers = await gateway.sign_in(f"filters-{uuid.uuid4().hex[:8]}@example.com")
    await gateway.tick("BTC", 6_400_000, 6_401_000)
    await gateway.tick("ETH", 340_000, 340_100)
    btc = (await gateway.client.post(f"{TRADE}/create", headers=headers, json=MARKET)).json()
    eth_order = {**MARKET, "asset": "ETH"}
    eth = (await gateway.client.post(f"{TRADE}/create", headers=headers, json=eth_order)).json()
    await gateway.client.post(f"{TRADE}/close", headers=headers, json={"order_id": eth["order_id"]})
    await order_once_booked(gateway, headers, eth["order_id"], "closed")

    open_btc = (await gateway.client.get(f"{TRADE}/open?asset=btc", headers=headers)).json()
    open_eth = (await gateway.client.get(f"{TRADE}/open?asset=ETH", headers=headers)).json()
    closed_eth = (await gateway.client.get(f"{TRADE}/closed?asset=ETH", headers=headers)).json()
    closed_btc = (await gateway.client.get(f"{TRADE}/closed?asset=BTC", headers=headers)).json()
    unknown = await gateway.client.get(f"{TRADE}/open?asset=NOPE", headers=headers)

    assert [p["order_id"] for p in open_btc["positions"]] == [btc["order_id"]]
    assert open_eth == {"positions": [], "pending": []}
    assert [c["order_id"] for c in closed_eth["items"]] == [eth["order_id"]]
    assert closed_btc["items"] == []
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "UNKNOWN_ASSET")
