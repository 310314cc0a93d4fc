"""``/api/v1/ws``: live prices and the signed-in user's order events.

Client messages: ``{"op": "subscribe", "channels": ["prices", "orders"]}``,
``{"op": "unsubscribe", "channels": [...]}``, ``{"op": "auth", "access_token": "..."}`` and
``{"op": "ping"}``. A browser may sign in with its session cookie instead, from the page's own
origin only (another site's page would otherwise read the user's orders). A malformed message
gets an error frame; the connection stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from cryptocfd.gateway.auth import SESSION_COOKIE, revoked_key
from cryptocfd.gateway.frames import frame_writer
from cryptocfd.gateway.live import Subscriber
from cryptocfd.gateway.resources import Resources, resources_of
from cryptocfd.identity.tokens import BadToken, token_hash, verify_access_token
from cryptocfd.market.candles import INTERVALS
from cryptocfd.store.credentials import live_session
from cryptocfd.store.logins import utcnow

MAX_MESSAGE_BYTES = 4_096
TOO_SLOW = 1008  # policy violation: the client does not read fast enough


class ClientMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a client may send."""

    op: Literal["subscribe", "unsubscribe", "auth", "ping"]
    channels: list[str] = msgspec.field(default_factory=list)
    access_token: str | None = None


_decoder = msgspec.json.Decoder(ClientMessage)
_encode = msgspec.json.encode


def _error(code: str, message: str) -> bytes:
    return _encode({"type": "error", "error": {"code": code, "message": message}})


def _same_origin(resources: Resources, socket: WebSocket[Any, Any, Any]) -> bool:
    origin = socket.headers.get("origin")
    if origin is None:
        return True  # not a browser: cookies are not sent for it by anyone else
    public = urlsplit(resources.settings.public_url)
    seen = urlsplit(origin)
    return (seen.scheme, seen.netloc) == (public.scheme, public.netloc)


async def _cookie_account(resources: Resources, socket: WebSocket[Any, Any, Any]) -> int | None:
    sid = socket.cookies.get(SESSION_COOKIE)
    if not sid or not _same_origin(resources, socket):
        return None
    session = await live_session(resources.pool, token_hash(sid), utcnow())
    return None if session is None else session.user_id


async def _token_account(resources: Resources, token: str) -> int | None:
    try:
        claims = verify_access_token(resources.secret, token, int(time.time() * 1000))
    except BadToken:
        return None
    if await resources.redis.exists(revoked_key(resources, claims.family)):
        return None
    return claims.user_id


def _valid_channel(resources: Resources, channel: str) -> bool:
    if channel in {"prices", "orders"}:
        return True
    kind, _, rest = channel.partition(":")
    asset, _, interval = rest.partition(":")
    return kind == "candles" and asset in resources.assets and interval in INTERVALS


async def _handle(resources: Resources, subscriber: Subscriber, raw: str | bytes) -> bytes | None:
    """Apply one client message; the reply to send, if any."""
    if len(raw) > MAX_MESSAGE_BYTES:
        return _error("MESSAGE_TOO_LARGE", f"messages are at most {MAX_MESSAGE_BYTES} bytes")
    try:
        message = _decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return _error("INVALID_MESSAGE", str(exc))
    if message.op == "ping":
        return _encode({"type": "pong"})
    if message.op == "auth":
        account = await _token_account(resources, message.access_token or "")
        if account is None:
            return _error("UNAUTHENTICATED", "access token invalid, expired or revoked")
        subscriber.account_id = account
        return _encode({"type": "authenticated", "user_id": account})
    unknown = [c for c in message.channels if not _valid_channel(resources, c)]
    if unknown:
        return _error("UNKNOWN_CHANNEL", f"no such channel: {', '.join(unknown)}")
    if message.op == "subscribe":
        if "orders" in message.channels and subscriber.account_id is None:
            return _error("UNAUTHENTICATED", "sign in (session cookie or auth op) for orders")
        resources.live.subscribe(subscriber, message.channels)
        if "prices" in message.channels:  # start from the newest quotes, not the next tick
            for quote in resources.live.latest.values():
                subscriber.prices[quote.asset] = _encode({"channel": "prices", "data": quote})
            subscriber.wake.set()
    else:
        resources.live.unsubscribe(subscriber, message.channels)
    return _encode({"type": "subscribed", "channels": sorted(subscriber.channels)})


async def _send_loop(socket: WebSocket[Any, Any, Any], subscriber: Subscriber) -> None:
    """Send what waits for this client: replies, order events, and prices the hub could not
    write at once. A send waits while the client does not read; meanwhile its prices conflate."""
    while True:
        await subscriber.wake.wait()
        if subscriber.too_slow:
            await socket.close(code=TOO_SLOW, reason="too slow: order events piled up")
            return
        subscriber.sending = True
        for message in subscriber.take():
            await socket.send_data(message.decode(), mode="text")
        subscriber.sending = False


@websocket("/ws")
async def live_socket(socket: WebSocket[Any, Any, Any]) -> None:
    """Live prices, candles and (signed in) the user's own order events."""
    resources = resources_of(socket.app)
    await socket.accept()
    subscriber = Subscriber(await _cookie_account(resources, socket), frame_writer(socket.scope))
    sender = asyncio.create_task(_send_loop(socket, subscriber))
    try:
        while True:
            frame = await socket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            text = frame.get("text")
            if not isinstance(text, str):
                reply: bytes | None = _error("INVALID_MESSAGE", "send JSON text frames")
            else:
                reply = await _handle(resources, subscriber, text)
            if reply is not None:
                subscriber.push_event(reply)  # bounded like events: a flood gets dropped
    except WebSocketDisconnect:
        pass
    finally:
        resources.live.remove(subscriber)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await sender


ROUTES = [live_socket]
