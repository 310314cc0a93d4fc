"""Margin calls reach the trader: a ``margin_call`` event on the websocket's ``orders`` channel,
numbered in the account's ``seq``, once per crossing, from the real engine and gateway; and one
email per call through the worker's outbox to a real SMTP server, never two for a record
delivered twice."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from redis import asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from cryptocfd.bus.messages import FIELD, decode_record
from cryptocfd.bus.replies import entries
from cryptocfd.bus.streams import Streams
from cryptocfd.bus.ticks import publish_ticks
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.services.journaling import applied_events
from cryptocfd.services.worker import run_worker
from cryptocfd.store.database import create_pool
from cryptocfd.store.journal import Delivered, book_records
from cryptocfd.store.keyfiles import server_key
from cryptocfd.store.margin_call_mail import MarginCallMail
from tests.integration.gateway_harness import Gateway, newest_link, running_gateway, spend_link
from tests.integration.platform_process import Platform, running_platform
from tests.integration.smtp_inbox import Inbox
from tests.waiting import until

# BTC long, margin 100.00 at x100 from an ask near 60,000.00: the margin call (75%) sits about
# 0.25% below the open, the liquidation (50%) about 0.5% below.
OPEN_MID = 6_000_000
CALLED_MID = 5_982_000  # 0.3% down: past the call, short of the liquidation


@pytest.fixture(scope="module")
def platform(
    redis_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """An engine and a gateway process."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    state = Path(tmp_path_factory.mktemp("margin-call"))
    client = redis.Redis.from_url(redis_url)
    try:
        with running_platform(redis_url, database_url, prefix, state) as running:
            yield running
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


async def _token(platform: Platform, database_url: str) -> str:
    email = f"call-{uuid.uuid4().hex[:8]}@example.com"
    async with httpx.AsyncClient(base_url=platform.base_url) as client:
        (await client.post("/api/v1/auth/login", json={"email": email})).raise_for_status()
        link = await newest_link(database_url, email, platform.server_key)
        answer = await spend_link(client, link)
        answer.raise_for_status()
        token: str = answer.json()["access_token"]
        return token


async def _publish(redis_url: str, platform: Platform, mid: int) -> None:
    """BTC ticks 100.00 wide around ``mid``, twice (a jump past the sanity band is confirmed)."""
    client = aioredis.Redis.from_url(redis_url)
    now = int(time.time() * 1000)
    bid, ask = PriceTicks(mid - 5_000), PriceTicks(mid + 5_000)
    ticks = [Tick("BTC", bid, ask, now + step) for step in range(2)]
    await publish_ticks(client, Streams(platform.prefix), ticks)
    await client.aclose()


async def _next(socket: ClientConnection, kind: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """The next frame of channel or type ``kind`` (anything else is skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        remaining = max(deadline - asyncio.get_running_loop().time(), 0.01)
        message = json.loads(await asyncio.wait_for(socket.recv(), remaining))
        if kind in (message.get("channel"), message.get("type")):
            result: dict[str, Any] = message
            return result


async def _next_order_event(socket: ClientConnection, timeout_s: float = 5.0) -> dict[str, Any]:
    """The next frame of the ``orders`` channel."""
    return await _next(socket, "orders", timeout_s)


async def test_ws_when_the_mark_crosses_a_positions_call_price_sends_one_margin_call_per_crossing(
    platform: Platform, database_url: str, redis_url: str
) -> None:
    token = await _token(platform, database_url)
    await _publish(redis_url, platform, OPEN_MID)
    async with connect(platform.base_url.replace("http://", "ws://") + "/api/v1/ws") as ws:
        await ws.send(json.dumps({"op": "auth", "access_token": token}))
        await _next(ws, "authenticated")
        await ws.send(json.dumps({"op": "subscribe", "channels": ["orders"]}))
        await _next(ws, "subscribed")
        async with httpx.AsyncClient(base_url=platform.base_url) as http:
            opened = await http.post(
                "/api/v1/trade/create",
                headers={"Authorization": f"Bearer {token}"},
                json={"asset": "BTC", "side": "long", "margin": "100", "leverage": 100},
            )
        assert opened.status_code == 200, opened.text
        order_id = opened.json()["order_id"]
        opened_frame = await _next_order_event(ws)
        await _publish(redis_url, platform, CALLED_MID)
        first = await _next_order_event(ws)
        await _publish(redis_url, platform, CALLED_MID - 1_000)  # still past it: no notice
        await _publish(redis_url, platform, OPEN_MID)  # recovered: armed again, no notice
        await _publish(redis_url, platform, CALLED_MID)
        second = await _next_order_event(ws)
        with pytest.raises(TimeoutError):
            await _next_order_event(ws, timeout_s=0.5)

    assert opened_frame["data"]["event"] == "position_opened"
    data = first["data"]
    assert data["event"] == "margin_call"
    assert (data["order_id"], data["asset"], data["mark"]) == (order_id, "BTC", "59820.00")
    assert data["margin_call_level"] == "75.00"
    assert Decimal(50) < Decimal(data["margin_level"]) <= Decimal(75)  # equity / margin, in %
    assert first["seq"] == opened_frame["seq"] + 1
    assert second["data"]["event"] == "margin_call"
    assert second["data"]["order_id"] == order_id
    assert second["seq"] == first["seq"] + 1


async def test_worker_when_a_position_is_called_twice_mails_the_trader_once_per_call(
    redis_client: aioredis.Redis,
    redis_url: str,
    own_database_url: str,
    streams: Streams,
    tmp_path: Path,
    smtp_server: tuple[Inbox, int],
) -> None:
    inbox, smtp_port = smtp_server
    recipient = "called@example.com"
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
            headers = await _signed_in(gateway, inbox, recipient)
            await gateway.tick("BTC", OPEN_MID - 5_000, OPEN_MID + 5_000)
            created = await gateway.client.post(
                "/api/v1/trade/create",
                headers=headers,
                json={"asset": "BTC", "side": "long", "margin": "100", "leverage": 100},
            )
            assert created.status_code == 200, created.text
            for mid in (CALLED_MID, OPEN_MID, CALLED_MID):  # called, re-armed, called again
                await gateway.tick("BTC", mid - 5_000, mid + 5_000)
            await until(lambda: len(_margin_calls(inbox, recipient)) == 2, 20.0, why="two calls")
        finally:
            stopping.set()
            await worker
        # The records delivered once more, as after a crash before the acknowledgement.
        pool = await create_pool(own_database_url)
        try:
            again = await book_records(
                pool, await _every_record(redis_client, streams), _mail(gateway)
            )
            queued = await pool.fetchval(
                "SELECT count(*) FROM email_outbox WHERE recipient = $1 AND subject LIKE $2",
                recipient,
                "Margin call%",
            )
        finally:
            await pool.close()

    order_id = created.json()["order_id"]
    mails = _margin_calls(inbox, recipient)
    assert [subject for subject, _body in mails] == [
        f"Margin call: your BTC position #{order_id}"
    ] * 2
    assert "59820.00" in mails[0][1]
    assert (again, queued) == (0, 2)


async def _signed_in(gateway: Gateway, inbox: Inbox, email: str) -> dict[str, str]:
    answer = await gateway.client.post("/api/v1/auth/login", json={"email": email})
    assert answer.status_code == 202
    tokens = await gateway.verify_json(await inbox.link_to(email))
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


def _margin_calls(inbox: Inbox, recipient: str) -> list[tuple[str, str]]:
    """(subject, plain body) of every margin-call email ``recipient`` received, in order."""
    found = []
    for to, text in inbox.messages:
        message = email.message_from_string(text, policy=email.policy.default)
        subject = str(message["Subject"])
        if recipient in to and subject.startswith("Margin call"):
            body = message.get_body(("plain",))
            assert isinstance(body, EmailMessage), text
            found.append((subject, body.get_content()))
    return found


async def _every_record(redis_client: aioredis.Redis, streams: Streams) -> list[Delivered]:
    return [
        (entry_id.decode(), applied_events(decode_record(fields[FIELD])))
        for entry_id, fields in entries(await redis_client.xrange(streams.records))
    ]


def _mail(gateway: Gateway) -> MarginCallMail:
    return MarginCallMail(server_key(gateway.settings), gateway.settings.public_url)
