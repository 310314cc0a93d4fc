"""The websocket's messages (``/api/v1/ws``): what a client sends, and every frame the gateway
sends it, as the JSON on the wire.

A channel's frames are ``{"channel": ..., "data": ...}``: ``prices`` and ``orders`` are tags,
a candle channel (``candles:ASSET:INTERVAL``) is named in full. An order event is tagged by its
``event``. A reply to the client's own message is tagged by its ``type``. A struct's fields are
its keys in order, so the JSON is the same bytes a client has always read; amounts and prices
are decimal strings at their scale, times ISO 8601 UTC (``gateway/present.py``).

Every frame is encoded by ``ENCODER``, once however many clients it goes to.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from cryptocfd.gateway.errors import ErrorDetail


class ClientMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a client may send.

    One struct for every ``op``, not a union tagged by it: a tagged union would refuse what is
    accepted today (``{"op": "ping", "channels": []}``), turn an ``auth`` without a token from
    ``UNAUTHENTICATED`` into ``INVALID_MESSAGE``, and word its errors differently.
    """

    op: Literal["subscribe", "unsubscribe", "auth", "ping", "resume"]
    channels: list[str] = msgspec.field(default_factory=list)
    channel: str | None = None  # one channel, as ``channels: [channel]`` (both: all of them)
    # ``subscribe`` to ``orders`` and ``resume``: ``demo`` or ``live``, the account whose
    # events they follow (default: the user's active one, ``gateway.acting``).
    account: str | None = None
    since: int | None = None  # ``resume``: the ``seq`` of the last ``orders`` frame the client has
    access_token: str | None = None
    # ``auth`` with an API key instead of a token: the request-signing headers' values, the
    # signature made over the payload ``ws-auth`` (``identity.apikeys``).
    api_key: str | None = None
    timestamp: str | None = None
    recv_window: str | None = None
    signature: str | None = None


class QuoteOut(msgspec.Struct, frozen=True):
    """A house quote: bid and ask with the markup, mark the feed's mid."""

    asset: str
    bid: str
    ask: str
    mark: str
    ts: int


class CandleOut(msgspec.Struct, frozen=True):
    """One candle of the bid: ``time`` is its bucket's start in unix seconds."""

    time: int
    open: str
    high: str
    low: str
    close: str
    volume: int
    trades: int


class PricesFrame(msgspec.Struct, frozen=True, tag_field="channel", tag="prices"):
    """A new house quote of one asset."""

    data: QuoteOut


class CandleFrame(msgspec.Struct, frozen=True):
    """The live candle of a ``candles:ASSET:INTERVAL`` channel, stamped with its bucket."""

    channel: str
    data: CandleOut


class OrderEventOut(msgspec.Struct, frozen=True, tag_field="event"):
    """One of the signed-in user's order events; ``at`` (the last key of each) is its time."""

    order_id: int


class PositionOpenedOut(OrderEventOut, frozen=True, tag="position_opened"):
    """A fill: a market order, or a pending entry reached."""

    asset: str
    side: str
    margin: str
    leverage: int
    quantity: str
    open_price: str
    liquidation_price: str
    at: str


class PositionClosedOut(OrderEventOut, frozen=True, tag="position_closed"):
    """A close, whole or in part, by the user or an exit."""

    asset: str
    side: str
    close_reason: str
    quantity: str
    close_price: str
    pnl: str
    remaining_quantity: str
    at: str


class LiquidatedOut(PositionClosedOut, frozen=True, tag="liquidated"):
    """A close by liquidation: the same keys as any close, named apart for the user."""


class OrderPlacedOut(OrderEventOut, frozen=True, tag="order_placed"):
    """A pending entry, waiting for its price."""

    asset: str
    order_type: str
    price: str
    at: str


class OrderNoteOut(OrderEventOut, frozen=True):
    """An event that only names its order: what became of it is the ``event`` itself."""

    at: str


class OrderCancelledOut(OrderNoteOut, frozen=True, tag="order_cancelled"):
    """A pending entry cancelled by the user."""


class OrderExpiredOut(OrderNoteOut, frozen=True, tag="order_expired"):
    """A pending entry that reached its expiry time."""


class OrderRejectedOut(OrderNoteOut, frozen=True, tag="order_rejected"):
    """A pending entry refused as it filled."""


class PositionModifiedOut(OrderNoteOut, frozen=True, tag="position_modified"):
    """A position's exits changed."""


class MarginCallOut(OrderEventOut, frozen=True, tag="margin_call"):
    """A position's equity at the mark fell to its asset's margin-call level (one notice each
    time the mark crosses it): ``margin_level`` is that equity as a percentage of the position's
    margin, ``margin_call_level`` the asset's threshold, both with two decimals."""

    asset: str
    mark: str
    margin_level: str
    margin_call_level: str
    at: str


OrderNote = OrderCancelledOut | OrderExpiredOut | OrderRejectedOut | PositionModifiedOut
OrderEventData = (
    PositionOpenedOut
    | PositionClosedOut
    | LiquidatedOut
    | OrderPlacedOut
    | MarginCallOut
    | OrderNote
)


class OrdersFrame(
    msgspec.Struct, frozen=True, tag_field="channel", tag="orders", omit_defaults=True
):
    """An event of the signed-in user's orders; ``seq`` is its number among the account's
    order events (1, 2, 3, ... without gaps; the engine's ``Account.seq``). Only an event
    logged before the engine numbered them has none."""

    data: OrderEventData
    seq: int | None = None


class ErrorFrame(msgspec.Struct, frozen=True, tag_field="type", tag="error"):
    """A client message refused, or the ``orders`` channel stopped; the socket stays open."""

    error: ErrorDetail


class PongFrame(msgspec.Struct, frozen=True, tag_field="type", tag="pong"):
    """The answer to ``ping``."""


class HeartbeatFrame(msgspec.Struct, frozen=True, tag_field="type", tag="heartbeat"):
    """Sent every few seconds whatever else is sent, so a client that hears nothing for
    longer knows its socket is dead and reconnects; ``ts`` is the server's unix ms."""

    ts: int


class AuthenticatedFrame(msgspec.Struct, frozen=True, tag_field="type", tag="authenticated"):
    """The answer to an ``auth`` whose token holds."""

    user_id: int


class SubscribedFrame(
    msgspec.Struct, frozen=True, tag_field="type", tag="subscribed", omit_defaults=True
):
    """The answer to ``subscribe`` and ``unsubscribe``: every channel now on, sorted. A
    subscription to ``orders`` adds ``seq``, the number of the account's newest order event
    when it is known: every ``orders`` frame after this one has a higher number."""

    channels: list[str]
    seq: int | None = None


class ResumedFrame(msgspec.Struct, frozen=True, tag_field="type", tag="resumed"):
    """The answer to ``resume`` that holds: every ``orders`` frame after ``since`` up to
    ``seq`` came before it, in order (none when ``seq == since``); the next has ``seq + 1``."""

    since: int
    seq: int


class ResyncFrame(msgspec.Struct, frozen=True, tag_field="type", tag="resync"):
    """Some of the account's order events cannot be replayed (``error.code`` is ``RESYNC``):
    reload orders and positions by REST. ``orders`` frames go on after it, live; ``seq`` is
    the newest number known here, when one is."""

    error: ErrorDetail
    seq: int | None


ServerFrame = (
    PricesFrame
    | CandleFrame
    | OrdersFrame
    | ErrorFrame
    | PongFrame
    | HeartbeatFrame
    | AuthenticatedFrame
    | SubscribedFrame
    | ResumedFrame
    | ResyncFrame
)

ENCODER = msgspec.json.Encoder()
"""The one encoder of every frame (``live.outgoing`` encodes with it too)."""
_client_messages = msgspec.json.Decoder(ClientMessage)


def encode_frame(frame: ServerFrame) -> bytes:
    """``frame`` as the JSON text a client reads."""
    return ENCODER.encode(frame)


def decode_client_message(raw: str | bytes) -> ClientMessage:
    """A client's message; raises ``msgspec.DecodeError`` (not JSON) or
    ``msgspec.ValidationError`` (not a message)."""
    return _client_messages.decode(raw)
