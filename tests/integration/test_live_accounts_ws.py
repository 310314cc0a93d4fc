"""The websocket's ``orders`` channel follows the account a subscription names (default: the
user's active one), numbered per engine account: the engine and gateway as real processes, a
real websocket client, trades through the HTTP API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from cryptocfd.bus.streams import Streams
from cryptocfd.bus.ticks import publish_ticks
from cryptocfd.core.accounts import AccountKind, account_id_of
from cryptocfd.core.money import Cents, PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import Deposit, OpenAccount
from cryptocfd.trading.events import Accepted
from tests.integration.engine_clients import engine_client
from tests.integration.platform_process import Platform
from tests.integration.ws_platform import receive, signed_in, ws_platform

LONG = {"asset": "BTC", "side": "long", "margin": "10", "leverage": 2}


@pytest.fixture(scope="module")
def platform(
    redis_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """An engine and a gateway process."""
    with ws_platform(redis_url, database_url, Path(tmp_path_factory.mktemp("live-ws"))) as running:
        yield running


class Trader:
    """A signed-in user of the platform, trading BTC through the HTTP API."""

    def __init__(self, platform: Platform, redis_url: str, token: str, user_id: int) -> None:
        self.platform, self.redis_url, self.user_id = platform, redis_url, user_id
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}

    async def open_live(self) -> None:
        """Open the live account as the KYC route does (balance 0, ``open-live-<user>``),
        then fund it by a deposit."""
        account_id = account_id_of(self.user_id, AccountKind.LIVE)
        now = time.time_ns() // 1_000_000
        async with engine_client(self.redis_url, Streams(self.platform.prefix)) as client:
            rid = f"open-live-{self.user_id}"
            assert isinstance(
                await client.send(OpenAccount(rid, now, account_id, Cents(0))), Accepted
            )
            deposit = Deposit(f"fund-{self.user_id}", now, account_id, Cents(100_000))
            assert isinstance(await client.send(deposit), Accepted)

    async def trade(self, account: str) -> int:
        """Open a small long on ``account`` at market; its order id."""
        client = aioredis.Redis.from_url(self.redis_url)
        tick = Tick("BTC", PriceTicks(6_400_000), PriceTicks(6_401_000), int(time.time() * 1000))
        await publish_ticks(client, Streams(self.platform.prefix), [tick])
        await client.aclose()
        async with httpx.AsyncClient(base_url=self.platform.base_url) as http:
            answer = await http.post(
                "/api/v1/trade/create", headers=self.headers, json={**LONG, "account": account}
            )
        assert answer.status_code == 200, answer.text
        order_id: int = answer.json()["order_id"]
        return order_id

    async def switch(self, account: str) -> None:
        """Make ``account`` the active one."""
        async with httpx.AsyncClient(base_url=self.platform.base_url) as http:
            answer = await http.post(
                "/api/v1/account/active", headers=self.headers, json={"account": account}
            )
        assert answer.status_code == 200, answer.text


@pytest.fixture
async def trader(platform: Platform, database_url: str, redis_url: str) -> Trader:
    """A new user, signed in through the emailed link."""
    tokens = await signed_in(platform, database_url, "live-ws")
    return Trader(platform, redis_url, tokens["access_token"], int(tokens["user"]["id"]))


async def _socket(trader: Trader) -> ClientConnection:
    socket = await connect(trader.platform.base_url.replace("http://", "ws://") + "/api/v1/ws")
    await socket.send(json.dumps({"op": "auth", "access_token": trader.token}))
    assert (await receive(socket))["type"] == "authenticated"
    return socket


async def _send(socket: ClientConnection, **message: object) -> dict[str, Any]:
    await socket.send(json.dumps(message))
    return await receive(socket)


async def test_orders_when_subscribed_to_live_carry_the_live_accounts_events_alone(
    trader: Trader,
) -> None:
    live_ws, demo_ws = await _socket(trader), await _socket(trader)
    try:
        early = await _send(live_ws, op="subscribe", channel="orders", account="live")
        await trader.open_live()
        live_sub = await _send(live_ws, op="subscribe", channel="orders", account="live")
        demo_sub = await _send(demo_ws, op="subscribe", channels=["orders"])
        demo_id = await trader.trade("demo")
        live_id = await trader.trade("live")
        live_event, demo_event = await receive(live_ws), await receive(demo_ws)
        with pytest.raises(TimeoutError):
            await receive(demo_ws, timeout_s=0.5)  # the live order is not demo's
    finally:
        await live_ws.close()
        await demo_ws.close()

    assert early["error"]["code"] == "LIVE_ACCOUNT_NOT_OPEN"
    assert (live_sub["type"], live_sub["seq"]) == ("subscribed", 0)
    assert (demo_sub["type"], demo_sub["seq"]) == ("subscribed", 0)
    assert (live_event["data"]["order_id"], live_event["seq"]) == (live_id, 1)
    assert (demo_event["data"]["order_id"], demo_event["seq"]) == (demo_id, 1)


async def test_orders_when_no_account_is_named_follow_the_active_one_and_resume_it(
    trader: Trader,
) -> None:
    await trader.open_live()
    await trader.switch("live")
    first = await trader.trade("live")
    socket = await _socket(trader)
    try:
        subscribed = await _send(socket, op="subscribe", channels=["orders"])
        second = await trader.trade("live")
        live_event = await receive(socket)
        moved = await _send(socket, op="subscribe", channels=["orders"], account="demo")
        demo_id = await trader.trade("demo")
        demo_event = await receive(socket)
    finally:
        await socket.close()
    again = await _socket(trader)
    try:
        await again.send(json.dumps({"op": "resume", "since": 0}))  # the active one: live
        frames = [await receive(again) for _ in range(3)]
    finally:
        await again.close()

    assert subscribed["seq"] == 1  # the live account had one order event before
    assert (live_event["data"]["order_id"], live_event["seq"]) == (second, 2)
    assert moved["seq"] == 0  # the demo account's own numbering
    assert (demo_event["data"]["order_id"], demo_event["seq"]) == (demo_id, 1)
    replayed = [(frame["data"]["order_id"], frame["seq"]) for frame in frames[:2]]
    assert replayed == [(first, 1), (second, 2)]
    assert (frames[2]["type"], frames[2]["seq"]) == ("resumed", 2)


async def test_orders_when_the_account_is_not_demo_or_live_is_an_error_frame(
    trader: Trader,
) -> None:
    socket = await _socket(trader)
    try:
        bad = await _send(socket, op="subscribe", channels=["orders"], account="foo")
        still = await _send(socket, op="ping")
    finally:
        await socket.close()

    assert bad["error"]["code"] == "INVALID_ACCOUNT"
    assert still["type"] == "pong"
