"""The websocket's ``orders`` frames are numbered per account (``seq``), and a client that lost
its socket resumes from the last number it has: the engine and gateways as real processes, a
real websocket client, trades through the HTTP API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from cryptocfd.bus.messages import FIELD, TickMessage, encode
from cryptocfd.bus.streams import Streams
from cryptocfd.bus.ticks import publish_ticks
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.gateway.resources import SEED_RECORDS
from tests.integration.platform_process import Platform, another_gateway
from tests.integration.ws_platform import receive, signed_in, ws_platform

PER_ACCOUNT = 4  # the events of one account each gateway holds for a resume, in these tests
ENDS = ("resumed", "resync", "error")


@pytest.fixture(scope="module")
def platform(
    redis_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """An engine and a gateway that holds ``PER_ACCOUNT`` events of each account."""
    state = Path(tmp_path_factory.mktemp("resume"))
    with ws_platform(
        redis_url, database_url, state, CRYPTOCFD_WS_RESUME_PER_ACCOUNT=str(PER_ACCOUNT)
    ) as running:
        yield running


class Trader:
    """A signed-in user who trades BTC through the HTTP API."""

    def __init__(self, platform: Platform, redis_url: str, token: str) -> None:
        self.platform = platform
        self.redis_url = redis_url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.token = token

    async def quote(self) -> None:
        """A fresh BTC quote, so market orders are not refused as stale."""
        client = aioredis.Redis.from_url(self.redis_url)
        now = int(time.time() * 1000)
        tick = Tick("BTC", PriceTicks(6_400_000), PriceTicks(6_401_000), now)
        await publish_ticks(client, Streams(self.platform.prefix), [tick])
        await client.aclose()

    async def open(self) -> int:
        """Open a small long at market; its order id (one order event)."""
        await self.quote()
        async with httpx.AsyncClient(base_url=self.platform.base_url) as http:
            answer = await http.post(
                "/api/v1/trade/create",
                headers=self.headers,
                json={"asset": "BTC", "side": "long", "margin": "10", "leverage": 2},
            )
        assert answer.status_code == 200, answer.text
        order_id: int = answer.json()["order_id"]
        return order_id

    async def close(self, order_id: int) -> None:
        """Close a position whole (one order event)."""
        await self.quote()
        async with httpx.AsyncClient(base_url=self.platform.base_url) as http:
            answer = await http.post(
                "/api/v1/trade/close", headers=self.headers, json={"order_id": order_id}
            )
        assert answer.status_code == 200, answer.text


@pytest.fixture
async def trader(platform: Platform, database_url: str, redis_url: str) -> Trader:
    """A new user, signed in through the emailed link."""
    tokens = await signed_in(platform, database_url, "resume")
    return Trader(platform, redis_url, tokens["access_token"])


def _ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/api/v1/ws"


async def _signed_in(socket: ClientConnection, trader: Trader) -> None:
    await socket.send(json.dumps({"op": "auth", "access_token": trader.token}))
    assert (await receive(socket))["type"] == "authenticated"


async def _subscribed(socket: ClientConnection, trader: Trader) -> dict[str, Any]:
    """Sign in and subscribe to ``orders``; the acknowledgement."""
    await _signed_in(socket, trader)
    await socket.send(json.dumps({"op": "subscribe", "channels": ["orders"]}))
    ack = await receive(socket)
    assert ack["type"] == "subscribed", ack
    return ack


async def _resume(
    socket: ClientConnection, since: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Send ``resume``; the ``orders`` frames it brought, and the frame that ended it."""
    await socket.send(json.dumps({"op": "resume", "since": since}))
    frames: list[dict[str, Any]] = []
    while True:
        message = await receive(socket)
        if message.get("type") in ENDS:
            return frames, message
        assert message.get("channel") == "orders", message
        frames.append(message)


async def _orders(socket: ClientConnection, count: int) -> list[dict[str, Any]]:
    frames = [await receive(socket) for _ in range(count)]
    assert all(frame.get("channel") == "orders" for frame in frames), frames
    return frames


async def _quiet(socket: ClientConnection, seconds: float = 0.5) -> None:
    """Nothing but heartbeats arrives for ``seconds``."""
    with pytest.raises(TimeoutError):
        await receive(socket, seconds)


async def test_orders_when_trading_number_each_event_one_after_the_last(trader: Trader) -> None:
    async with connect(_ws_url(trader.platform.base_url)) as socket:
        ack = await _subscribed(socket, trader)
        first = await trader.open()
        second = await trader.open()
        await trader.close(first)
        frames = await _orders(socket, 3)

    assert ack == {"type": "subscribed", "channels": ["orders"], "seq": 0}
    assert [(f["seq"], f["data"]["event"], f["data"]["order_id"]) for f in frames] == [
        (1, "position_opened", first),
        (2, "position_opened", second),
        (3, "position_closed", first),
    ]


async def test_orders_when_subscribed_after_trading_the_ack_says_where_numbers_start(
    trader: Trader,
) -> None:
    await trader.close(await trader.open())
    async with connect(_ws_url(trader.platform.base_url)) as socket:
        ack = await _subscribed(socket, trader)
        await trader.open()
        (frame,) = await _orders(socket, 1)

    assert ack["seq"] == 2
    assert frame["seq"] == 3


async def test_resume_when_the_connection_dropped_replays_exactly_the_missed_events(
    trader: Trader,
) -> None:
    base_url = trader.platform.base_url
    async with connect(_ws_url(base_url)) as socket:
        await _subscribed(socket, trader)
        first = await trader.open()
        (seen,) = await _orders(socket, 1)
    # The connection is gone; the account trades on meanwhile.
    second = await trader.open()
    await trader.close(first)
    third = await trader.open()

    async with connect(_ws_url(base_url)) as socket:
        await _signed_in(socket, trader)
        replayed, end = await _resume(socket, seen["seq"])
        await trader.close(second)
        (live,) = await _orders(socket, 1)
        await _quiet(socket)

    assert seen["seq"] == 1
    assert [(f["seq"], f["data"]["event"], f["data"]["order_id"]) for f in replayed] == [
        (2, "position_opened", second),
        (3, "position_closed", first),
        (4, "position_opened", third),
    ]
    assert end == {"type": "resumed", "since": 1, "seq": 4}
    assert (live["seq"], live["data"]["event"], live["data"]["order_id"]) == (
        5,
        "position_closed",
        second,
    )


async def test_resume_when_nothing_was_missed_sends_no_frame_and_no_resync(
    trader: Trader,
) -> None:
    await trader.open()
    await trader.open()
    async with connect(_ws_url(trader.platform.base_url)) as socket:
        await _signed_in(socket, trader)
        replayed, end = await _resume(socket, 2)
        await _quiet(socket)
        await trader.open()
        (live,) = await _orders(socket, 1)

    assert replayed == []
    assert end == {"type": "resumed", "since": 2, "seq": 2}
    assert live["seq"] == 3


async def test_resume_when_the_events_fell_out_of_the_window_answers_resync(
    trader: Trader,
) -> None:
    # Six events; the gateway holds the newest PER_ACCOUNT (4) of them: 3 to 6.
    for _ in range(3):
        await trader.close(await trader.open())
    base_url = trader.platform.base_url
    async with connect(_ws_url(base_url)) as socket:
        await _signed_in(socket, trader)
        replayed, end = await _resume(socket, 1)  # 2 is no longer held
    async with connect(_ws_url(base_url)) as socket:
        await _signed_in(socket, trader)
        held, held_end = await _resume(socket, 2)  # 3 to 6 are

    assert replayed == []
    assert end["type"] == "resync"
    assert end["error"]["code"] == "RESYNC"
    assert end["seq"] == 6
    assert [f["seq"] for f in held] == [3, 4, 5, 6]
    assert held_end == {"type": "resumed", "since": 2, "seq": 6}


async def test_resume_when_the_gateway_started_after_the_events_replays_them_from_the_log(
    trader: Trader, redis_url: str, database_url: str
) -> None:
    first = await trader.open()
    await trader.close(first)
    with another_gateway(trader.platform, redis_url, database_url) as late:
        async with connect(_ws_url(late)) as socket:
            await _signed_in(socket, trader)
            replayed, end = await _resume(socket, 0)
        async with connect(_ws_url(late)) as socket:
            await _signed_in(socket, trader)
            none, none_end = await _resume(socket, 2)
            await trader.open()
            (live,) = await _orders(socket, 1)

    # A starting gateway reads the log's newest records back: these events are among them.
    assert [(f["seq"], f["data"]["event"], f["data"]["order_id"]) for f in replayed] == [
        (1, "position_opened", first),
        (2, "position_closed", first),
    ]
    assert end == {"type": "resumed", "since": 0, "seq": 2}
    assert none == []
    assert none_end == {"type": "resumed", "since": 2, "seq": 2}
    assert live["seq"] == 3


async def _bury(platform: Platform, redis_url: str, records: int) -> None:
    """Have the engine log ``records`` tick records, newer than everything before."""
    client = aioredis.Redis.from_url(redis_url)
    streams = Streams(platform.prefix)
    before = await client.xlen(streams.records)
    now = int(time.time() * 1000)
    pipe = client.pipeline(transaction=False)
    for n in range(records):
        bid = 300_000 + n % 2  # ETH, one tick up and down: every tick is a new quote
        tick = Tick("ETH", PriceTicks(bid), PriceTicks(bid + 100), now + n)
        pipe.xadd(streams.prices, {FIELD: encode(TickMessage(tick))})
    await pipe.execute()
    deadline = time.monotonic() + 60
    while await client.xlen(streams.records) < before + records:
        assert time.monotonic() < deadline, "the engine did not log the ticks"
        await asyncio.sleep(0.1)
    await client.aclose()


async def test_resume_when_the_gateway_started_after_the_events_left_its_reach_answers_resync(
    trader: Trader, redis_url: str, database_url: str
) -> None:
    await trader.close(await trader.open())
    await _bury(trader.platform, redis_url, SEED_RECORDS)
    with another_gateway(trader.platform, redis_url, database_url) as late:
        async with connect(_ws_url(late)) as socket:
            await _signed_in(socket, trader)
            missed, missed_end = await _resume(socket, 1)
        async with connect(_ws_url(late)) as socket:
            await _signed_in(socket, trader)
            none, none_end = await _resume(socket, 2)  # nothing missed: the engine says 2
            await trader.open()
            (live,) = await _orders(socket, 1)

    assert missed == []
    assert missed_end["type"] == "resync"
    assert missed_end["error"]["code"] == "RESYNC"
    assert none == []
    assert none_end == {"type": "resumed", "since": 2, "seq": 2}
    assert live["seq"] == 3


async def test_resume_when_since_is_ahead_of_every_event_answers_resync(trader: Trader) -> None:
    await trader.open()
    async with connect(_ws_url(trader.platform.base_url)) as socket:
        await _signed_in(socket, trader)
        replayed, end = await _resume(socket, 99)

    assert replayed == []
    assert end["type"] == "resync"
    assert end["error"] == {
        "code": "RESYNC",
        "message": "the account has had 1 order events, not 99",
    }


async def test_resume_when_not_signed_in_or_without_since_is_refused(trader: Trader) -> None:
    async with connect(_ws_url(trader.platform.base_url)) as socket:
        _frames, unsigned = await _resume(socket, 0)
        await _signed_in(socket, trader)
        await socket.send(json.dumps({"op": "resume"}))
        without = await receive(socket)

    assert unsigned["error"]["code"] == "UNAUTHENTICATED"
    assert without["error"]["code"] == "INVALID_MESSAGE"


async def test_resume_when_the_socket_already_sent_newer_frames_answers_resync(
    trader: Trader,
) -> None:
    await trader.open()
    async with connect(_ws_url(trader.platform.base_url)) as socket:
        ack = await _subscribed(socket, trader)
        await trader.open()
        (live,) = await _orders(socket, 1)
        had, had_end = await _resume(socket, 2)  # every frame after 2 was sent here
        gap, gap_end = await _resume(socket, 0)  # 1 would come after 2: out of order

    assert (ack["seq"], live["seq"]) == (1, 2)
    assert had == []
    assert had_end == {"type": "resumed", "since": 2, "seq": 2}
    assert gap == []
    assert gap_end["type"] == "resync"
    assert gap_end["error"]["code"] == "RESYNC"
