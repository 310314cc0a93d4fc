"""``/api/v1/ws``: live prices and the signed-in user's order events.

Client messages (``gateway/live_schemas.py`` has them and every frame sent back):
``{"op": "subscribe", "channels": ["prices", "orders"]}`` (or ``"channel": "orders"``),
``{"op": "unsubscribe", "channels": [...]}``, ``{"op": "resume", "since": n}`` (signed in:
``orders`` from after the frame numbered ``n``, see ``gateway/resume.py``),
``{"op": "auth", "access_token": "..."}`` (or
``{"op": "auth", "api_key", "timestamp", "recv_window", "signature"}``, signed as a request is
with the payload ``ws-auth``, for a key with the ``read`` scope) and ``{"op": "ping"}``. A
browser may sign in with its session cookie instead, from the page's own origin only (another
site's page would otherwise read the user's orders). A malformed message gets an error frame;
the connection stays open.

Every ``ws_heartbeat_s`` (4 s) the socket gets a ``{"type": "heartbeat", "ts": ...}`` frame,
whatever else it gets: a client that hears nothing for longer knows the socket is dead.

The ``orders`` channel (and ``resume``) follows one engine account at a time: the one the
message names (``"account": "demo"|"live"``), else the user's active one; numbers (``seq``)
and ``resume`` are that account's. Subscribing to the other account moves the channel there;
a live account not open yet is refused (``LIVE_ACCOUNT_NOT_OPEN``).

A sign-in is checked again every ``ws_recheck_s`` while the socket is open: once its session
ends or its token family is revoked (a logout) or its access token expires, the ``orders``
channel stops and the client gets an ``UNAUTHENTICATED`` error frame; prices go on. A socket
signed in with an API key is stopped the same way once the key is revoked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from redis.exceptions import RedisError

from cryptocfd.bus.client import EngineUnavailable
from cryptocfd.core.accounts import AccountKind, kind_of, user_of
from cryptocfd.gateway.acting import acting_account_id, engine_holds
from cryptocfd.gateway.auth import SESSION_COOKIE, Bearer, Credential, Session, authenticate
from cryptocfd.gateway.deps import ResourcesDep
from cryptocfd.gateway.errors import ApiError, ErrorDetail
from cryptocfd.gateway.frames import frame_writer
from cryptocfd.gateway.live import Subscriber
from cryptocfd.gateway.live_schemas import (
    AuthenticatedFrame,
    ClientMessage,
    ErrorFrame,
    HeartbeatFrame,
    PongFrame,
    PricesFrame,
    SubscribedFrame,
    decode_client_message,
    encode_frame,
)
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.resume import engine_seq, resume
from cryptocfd.gateway.signed import still_live
from cryptocfd.gateway.usecases.send import LIVE_ACCOUNT_NOT_OPEN
from cryptocfd.identity.apikeys import Scope, Signed
from cryptocfd.market.candles import INTERVALS

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4_096
WS_AUTH_PAYLOAD = b"ws-auth"  # what an API key signs to sign a socket in
TOO_SLOW = 1008  # policy violation: the client does not read fast enough
SUBSCRIBE_SEQ_WAIT_S = 1.0  # how long a subscription to orders waits for the engine's count


def _error(code: str, message: str) -> bytes:
    return encode_frame(ErrorFrame(ErrorDetail(code, message)))


def _same_origin(resources: Resources, socket: WebSocket[Any, Any, Any]) -> bool:
    origin = socket.headers.get("origin")
    if origin is None:
        return True  # not a browser: cookies are not sent for it by anyone else
    public = urlsplit(resources.settings.public_url)
    seen = urlsplit(origin)
    return (seen.scheme, seen.netloc) == (public.scheme, public.netloc)


@dataclass(frozen=True)
class KeySignIn:
    """A socket signed in with an API key: its one signature was checked at the ``auth``;
    after that the key must stay live (``signed.still_live``)."""

    api_key: str


@dataclass(frozen=True)
class SignIn:
    """Who a socket is signed in as, and what proves it: a session, an access token, or an
    API key."""

    user_id: int
    credential: Credential | KeySignIn


@dataclass
class Connection:
    """One socket's subscriber and its sign-in, if any."""

    subscriber: Subscriber
    sign_in: SignIn | None


async def _sign_in(resources: Resources, credential: Credential) -> SignIn | None:
    """Who ``credential`` proves, checked as every HTTP request is (``auth.authenticate``);
    ``None`` when it does not (any more)."""
    try:
        principal = await authenticate(resources, credential, scope=Scope.READ)
    except ApiError:
        return None
    if isinstance(credential, Signed):  # checked once; from now on, only that it stays live
        return SignIn(principal.user_id, KeySignIn(credential.api_key))
    return SignIn(principal.user_id, credential)


def _auth_credential(message: ClientMessage, socket: WebSocket[Any, Any, Any]) -> Credential:
    if message.api_key is None:
        return Bearer(message.access_token or "")
    client = socket.scope.get("client")
    return Signed(
        api_key=message.api_key,
        timestamp=message.timestamp or "",
        recv_window=message.recv_window,
        signature=message.signature or "",
        payload=WS_AUTH_PAYLOAD,
        client_ip=client[0] if client else "",
    )


async def _holds(resources: Resources, credential: Credential | KeySignIn) -> bool:
    """Whether a socket's sign-in still holds: its session or token, or its key still live."""
    if isinstance(credential, KeySignIn):
        return await still_live(resources, credential.api_key)
    return await _sign_in(resources, credential) is not None


async def _cookie_sign_in(resources: Resources, socket: WebSocket[Any, Any, Any]) -> SignIn | None:
    sid = socket.cookies.get(SESSION_COOKIE)
    if not sid or not _same_origin(resources, socket):
        return None
    return await _sign_in(resources, Session(sid))


async def _recheck_sign_in(resources: Resources, connection: Connection) -> None:
    """Stop the ``orders`` channel of a socket whose sign-in no longer holds."""
    while True:
        await asyncio.sleep(resources.settings.ws_recheck_s)
        sign_in = connection.sign_in
        if sign_in is None:
            continue
        try:
            holds = await _holds(resources, sign_in.credential)
        except (RedisError, asyncpg.PostgresError, OSError):
            log.warning("could not recheck a websocket's sign-in; trying again", exc_info=True)
            continue
        if not holds and connection.sign_in is sign_in:  # still the sign-in we checked
            connection.sign_in = None
            subscriber = connection.subscriber
            subscriber.account_id = None
            resources.live.unsubscribe(subscriber, ["orders"])
            subscriber.push_event(_error("UNAUTHENTICATED", "signed out: orders stopped"))


async def _heartbeat(resources: Resources, subscriber: Subscriber) -> None:
    """Queue a heartbeat every ``ws_heartbeat_s``: like an event, so a client that stops
    reading piles them up and is closed as too slow."""
    while True:
        await asyncio.sleep(resources.settings.ws_heartbeat_s)
        subscriber.push_event(encode_frame(HeartbeatFrame(resources.clock.now_ms())))


def _valid_channel(resources: Resources, channel: str) -> bool:
    if channel in {"prices", "orders"}:
        return True
    kind, _, rest = channel.partition(":")
    asset, _, interval = rest.partition(":")
    return kind == "candles" and asset in resources.assets and interval in INTERVALS


async def _handle(
    resources: Resources, connection: Connection, raw: str | bytes, socket: WebSocket[Any, Any, Any]
) -> bytes | None:
    """Apply one client message; the reply to send, if any."""
    subscriber = connection.subscriber
    if len(raw) > MAX_MESSAGE_BYTES:
        return _error("MESSAGE_TOO_LARGE", f"messages are at most {MAX_MESSAGE_BYTES} bytes")
    try:
        message = decode_client_message(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return _error("INVALID_MESSAGE", str(exc))
    if message.op == "ping":
        return encode_frame(PongFrame())
    if message.op == "auth":
        return await _auth(resources, connection, message, socket)
    if message.op == "resume":
        await _resume(resources, subscriber, message)
        return None
    channels = [*message.channels, *([message.channel] if message.channel else [])]
    unknown = [c for c in channels if not _valid_channel(resources, c)]
    if unknown:
        return _error("UNKNOWN_CHANNEL", f"no such channel: {', '.join(unknown)}")
    if message.op == "subscribe":
        if "orders" in channels:
            refused = await _follow_account(resources, subscriber, message.account)
            if refused is not None:
                return refused
        starts_orders = "orders" in channels and "orders" not in subscriber.channels
        resources.live.subscribe(subscriber, channels)
        if "prices" in channels:  # start from the newest quotes, not the next tick
            for quote in resources.live.latest.values():
                subscriber.prices[quote.asset] = encode_frame(PricesFrame(quote))
            subscriber.wake.set()
        if starts_orders:
            await _start_orders(resources, subscriber)
        seq = subscriber.orders_seq if "orders" in channels else None
        return encode_frame(SubscribedFrame(sorted(subscriber.channels), seq))
    resources.live.unsubscribe(subscriber, channels)
    return encode_frame(SubscribedFrame(sorted(subscriber.channels)))


async def _follow_account(
    resources: Resources, subscriber: Subscriber, named: str | None
) -> bytes | None:
    """Point the socket's ``orders`` stream at the user's account ``named`` (else their
    active one), starting it afresh if it followed the other; the error frame that refuses
    it, if any (not signed in, a name other than demo or live, a live account not open)."""
    if subscriber.account_id is None:
        return _error("UNAUTHENTICATED", "sign in (session cookie or auth op) for orders")
    user_id = user_of(subscriber.account_id)
    try:
        # The message's field is read as a query's value is: the same names, the same codes.
        named_in = () if named is None else (named,)
        account_id = await acting_account_id(
            resources.pool, user_id, named_in, b"", lambda live: engine_holds(resources, live)
        )
    except ApiError as exc:
        return _error(exc.code, exc.message)
    if account_id == subscriber.account_id:
        return None
    if kind_of(account_id) is AccountKind.LIVE and not await _live_open(resources, account_id):
        return _error(LIVE_ACCOUNT_NOT_OPEN, "you have no live account yet")
    resources.live.unsubscribe(subscriber, ["orders"])  # the other account's stream ends
    subscriber.account_id = account_id
    return None


async def _live_open(resources: Resources, account_id: int) -> bool:
    """Whether the engine holds the live ``account_id`` (the window holding its events says
    so at once; an engine that does not answer soon is taken at the client's word: the
    stream of an account never opened is merely empty)."""
    if resources.live.window.newest(account_id) is not None:
        return True
    try:
        async with asyncio.timeout(SUBSCRIBE_SEQ_WAIT_S):
            return await engine_seq(resources, account_id) is not None
    except (EngineUnavailable, TimeoutError):
        return True


async def _start_orders(resources: Resources, subscriber: Subscriber) -> None:
    """Number the socket's ``orders`` stream from the account's newest order event: the
    window's, else the engine's count (left unknown if the engine does not answer soon: a
    subscription is not held up by an engine away)."""
    account_id = subscriber.account_id
    assert account_id is not None
    newest = resources.live.window.newest(account_id)
    if newest is None:
        try:
            async with asyncio.timeout(SUBSCRIBE_SEQ_WAIT_S):
                newest = await engine_seq(resources, account_id) or 0
        except (EngineUnavailable, TimeoutError):
            return
    if subscriber.orders_seq is None:  # no event came while the engine was asked
        subscriber.start_orders(newest)


async def _resume(resources: Resources, subscriber: Subscriber, message: ClientMessage) -> None:
    """Replay the ``orders`` frames after ``since``, or answer ``RESYNC`` (``resume``)."""
    if subscriber.account_id is None:
        subscriber.push_event(_error("UNAUTHENTICATED", "sign in before resuming orders"))
    elif message.since is None or message.since < 0:
        subscriber.push_event(_error("INVALID_MESSAGE", "resume needs since: a seq, 0 or more"))
    elif (refused := await _follow_account(resources, subscriber, message.account)) is not None:
        subscriber.push_event(refused)
    else:
        await resume(resources, subscriber, message.since)


async def _auth(
    resources: Resources,
    connection: Connection,
    message: ClientMessage,
    socket: WebSocket[Any, Any, Any],
) -> bytes:
    """Sign the socket in with a token or an API key's signature; the reply."""
    sign_in = await _sign_in(resources, _auth_credential(message, socket))
    if sign_in is None and message.api_key is not None:
        return _error("UNAUTHENTICATED", "the API key's signature does not hold")
    if sign_in is None:
        return _error("UNAUTHENTICATED", "access token invalid, expired or revoked")
    subscriber = connection.subscriber
    followed = subscriber.account_id
    if followed is None or user_of(followed) != sign_in.user_id:
        resources.live.unsubscribe(subscriber, ["orders"])  # another user's, if any
        # Their demo account until a subscription names (or defaults to) one.
        subscriber.account_id = sign_in.user_id
    connection.sign_in = sign_in
    return encode_frame(AuthenticatedFrame(sign_in.user_id))


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
async def live_socket(socket: WebSocket[Any, Any, Any], resources: ResourcesDep) -> None:
    """Live prices, candles and (signed in) the user's own order events."""
    await socket.accept()
    sign_in = await _cookie_sign_in(resources, socket)
    account = None if sign_in is None else sign_in.user_id
    subscriber = Subscriber(account, frame_writer(socket.scope))
    connection = Connection(subscriber, sign_in)
    sender = asyncio.create_task(_send_loop(socket, subscriber))
    recheck = asyncio.create_task(_recheck_sign_in(resources, connection))
    heartbeat = asyncio.create_task(_heartbeat(resources, subscriber))
    try:
        while True:
            frame = await socket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            text = frame.get("text")
            if not isinstance(text, str):
                reply: bytes | None = _error("INVALID_MESSAGE", "send JSON text frames")
            else:
                reply = await _handle(resources, connection, text, socket)
            if reply is not None:
                subscriber.push_event(reply)  # bounded like events: a flood gets dropped
    except WebSocketDisconnect:
        pass
    finally:
        resources.live.remove(subscriber)
        recheck.cancel()
        heartbeat.cancel()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await sender
        with contextlib.suppress(asyncio.CancelledError):
            await recheck
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat


ROUTES = [live_socket]
