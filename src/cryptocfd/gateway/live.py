"""Live data for websocket clients: the feed's ticks as they are published, and the
engine's log.

A tick on the feed's pub/sub channel (``bus/ticks.py``) is quoted here by the engine's own
rules, the sanity band and the house markup of ``trading/ticks.accept_quote``, applied to a
state that holds only quotes: the same ticks in the same order make the same quotes the engine
makes, without waiting for its record of them. The engine's log, which every gateway follows
to answer its own requests, brings the order events, and it is the catch-up for quotes: one
newer than the hub's (a tick this gateway missed, or one written to the stream alone) is shown
and becomes the hub's, so both sides agree again from there.

Every message is a struct of ``gateway/live_schemas.py``. A quote is encoded and framed once,
then written straight to every subscriber that has nothing waiting (``gateway/frames.py``).
Slow clients never slow the others: a client whose connection cannot take more gets its prices
conflated (the newest quote of each asset replaces an unsent one) and sent by its own task, and
a client whose order events pile up past a bound is dropped.

Order events carry the engine's number for them (``Record.seqs``), so every gateway numbers
them alike. The hub holds the recent ones (``gateway/order_window.py``) for ``resume``
(``gateway/resume.py``), and each subscriber's stream of them stays consecutive: one it has is
not sent again, and a gap (records this gateway missed) is announced by a ``resync`` frame.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import NamedTuple

from cryptocfd.bus.messages import Record
from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import format_cents, format_scaled
from cryptocfd.core.tick import Tick
from cryptocfd.gateway.errors import ErrorDetail
from cryptocfd.gateway.frames import WriteFrame, text_frame
from cryptocfd.gateway.live_schemas import (
    ENCODER,
    CandleFrame,
    CandleOut,
    LiquidatedOut,
    MarginCallOut,
    OrderCancelledOut,
    OrderEventData,
    OrderExpiredOut,
    OrderNote,
    OrderPlacedOut,
    OrderRejectedOut,
    OrdersFrame,
    PositionClosedOut,
    PositionModifiedOut,
    PositionOpenedOut,
    PricesFrame,
    QuoteOut,
    ResyncFrame,
    encode_frame,
)
from cryptocfd.gateway.order_window import OrderWindow
from cryptocfd.gateway.present import iso_ms, price, quantity
from cryptocfd.market.candles import (
    INTERVALS,
    Candle,
    CandleAggregator,
    CandleRow,
    bucket_start,
)
from cryptocfd.trading.events import (
    ORDER_EVENTS,
    Accepted,
    Event,
    MarginCalled,
    OrderCancelled,
    OrderEvent,
    OrderExpired,
    OrderPlaced,
    OrderRejected,
    PositionClosed,
    PositionModified,
    PositionOpened,
    QuoteUpdated,
)
from cryptocfd.trading.rejections import Rejection
from cryptocfd.trading.state import State
from cryptocfd.trading.ticks import accept_quote

MAX_QUEUED_EVENTS = 1_000
ECHOES_KEPT = 1_000  # per asset: a path that falls this far behind shows a quote twice


class Outgoing(NamedTuple):
    """One message for many subscribers: its JSON, and the same as a whole websocket frame."""

    text: bytes
    frame: bytes


def outgoing(message: object) -> Outgoing:
    """``message`` (a frame of ``gateway/live_schemas.py``) encoded once and framed once."""
    text = ENCODER.encode(message)
    return Outgoing(text, text_frame(text))


class Subscriber:
    """One websocket client: what it listens to and what waits to be sent to it."""

    def __init__(self, account_id: int | None, write_frame: WriteFrame | None = None) -> None:
        self.account_id = account_id
        self.channels: set[str] = set()
        # Straight to the connection, when its server can (``gateway/frames.py``).
        self.write_frame = write_frame
        # Conflated: the newest unsent quote per asset and live candle per channel.
        self.prices: dict[str, bytes] = {}
        self.events: deque[bytes] = deque()
        self.wake = asyncio.Event()
        self.sending = False  # its own task is sending (perhaps waiting for the client)
        self.too_slow = False
        # Its ``orders`` stream: every event numbered after ``orders_from`` up to
        # ``orders_seq`` was sent (or the client had it); ``None``: no number yet.
        self.orders_seq: int | None = None
        self.orders_from: int | None = None
        self.resuming = False  # a ``resume`` waits for events the hub has yet to bring
        self.orders_moved = asyncio.Event()  # set whenever ``orders_seq`` moves on

    def start_orders(self, seq: int | None) -> None:
        """Begin (or begin again) the ``orders`` stream after number ``seq`` (``None``: at
        the first event to come)."""
        self.orders_seq = self.orders_from = seq
        self.resuming = False

    def resync(self, message: str) -> None:
        """Tell the client its ``orders`` stream has a hole: reload by REST."""
        self.resuming = False
        frame = ResyncFrame(ErrorDetail("RESYNC", message), self.orders_seq)
        self.push_event(encode_frame(frame))
        self.orders_moved.set()

    def push_order(self, seq: int | None, message: bytes) -> None:
        """Send order event number ``seq`` unless the client has it; a gap says ``resync``
        first (while a ``resume`` waits, the gap is its answer)."""
        last = self.orders_seq
        if seq is not None and last is not None:
            if seq <= last:
                return  # sent already, or the client said it has it
            if seq != last + 1:
                self.resync(f"order events {last + 1} to {seq - 1} cannot be replayed here")
                self.orders_from = seq - 1
        if seq is not None:
            if self.orders_from is None:
                self.orders_from = seq - 1
            self.orders_seq = seq
            self.orders_moved.set()
        self.push_event(message)

    def offer(self, key: str, message: Outgoing) -> None:
        """Deliver a conflatable message: written at once when nothing waits before it, else
        queued in place of the unsent message under the same ``key``."""
        if (
            self.write_frame is not None
            and not self.sending
            and not self.events
            and not self.prices
            and self.write_frame(message.frame)
        ):
            return
        self.prices[key] = message.text
        self.wake.set()

    def push_event(self, message: bytes) -> None:
        """Queue an order event; a client that cannot keep up is marked to be dropped."""
        if len(self.events) >= MAX_QUEUED_EVENTS:
            self.too_slow = True
        else:
            self.events.append(message)
        self.wake.set()

    def take(self) -> list[bytes]:
        """Everything waiting to be sent, events first (they are never conflated)."""
        out = list(self.events)
        self.events.clear()
        out.extend(self.prices.values())
        self.prices.clear()
        self.wake.clear()
        return out


def _order_event(event: Event, spec: AssetSpec | None) -> OrderEventData | None:
    if isinstance(event, PositionOpened) and spec is not None:
        return PositionOpenedOut(
            order_id=event.order_id,
            asset=event.asset,
            side=str(event.side),
            margin=format_cents(event.margin),
            leverage=event.leverage,
            quantity=quantity(event.quantity),
            open_price=price(event.open_price, spec),
            liquidation_price=price(event.liquidation_price, spec),
            at=iso_ms(event.ts),
        )
    if isinstance(event, PositionClosed) and spec is not None:
        closed = LiquidatedOut if event.reason == "liquidated" else PositionClosedOut
        return closed(
            order_id=event.order_id,
            asset=event.asset,
            side=str(event.side),
            close_reason=str(event.reason),
            quantity=quantity(event.quantity),
            close_price=price(event.close_price, spec),
            pnl=format_cents(event.pnl),
            remaining_quantity=quantity(event.remaining_quantity),
            at=iso_ms(event.ts),
        )
    if isinstance(event, OrderPlaced) and spec is not None:
        return OrderPlacedOut(
            order_id=event.order_id,
            asset=event.asset,
            order_type=str(event.order_type),
            price=price(event.price, spec),
            at=iso_ms(event.ts),
        )
    if isinstance(event, MarginCalled) and spec is not None:
        return MarginCallOut(
            order_id=event.order_id,
            asset=event.asset,
            mark=price(event.mark, spec),
            margin_level=format_scaled(event.margin_level_bps, 2),
            margin_call_level=format_scaled(spec.margin_call_bps, 2),
            at=iso_ms(event.ts),
        )
    if isinstance(event, OrderCancelled | OrderExpired | OrderRejected | PositionModified):
        return _NOTES[type(event)](order_id=event.order_id, at=iso_ms(event.ts))
    return None


_NOTES: dict[type[Event], type[OrderNote]] = {
    OrderCancelled: OrderCancelledOut,
    OrderExpired: OrderExpiredOut,
    OrderRejected: OrderRejectedOut,
    PositionModified: PositionModifiedOut,
}


def candle_out(row: CandleRow, spec: AssetSpec) -> CandleOut:
    """A candle as the API shows it: prices of the bid as decimal strings."""
    return CandleOut(
        row.time_s,
        price(row.open, spec),
        price(row.high, spec),
        price(row.low, spec),
        price(row.close, spec),
        row.volume,
        row.trades,
    )


def candle_message(channel: str, live: Candle, spec: AssetSpec) -> Outgoing:
    """The live minute for a ``candles:ASSET:INTERVAL`` subscriber, stamped with the start of
    the interval's bucket: the client folds it into that bucket (its high, low and close)."""
    interval = channel.rsplit(":", 1)[1]
    row = CandleRow(
        bucket_start(live.time_s, interval),
        live.open, live.high, live.low, live.close, live.volume, live.trades,
    )  # fmt: skip
    return outgoing(CandleFrame(channel, candle_out(row, spec)))


def _note(shown: dict[str, deque[QuoteUpdated]], quote: QuoteUpdated) -> None:
    """Remember ``quote`` as shown, until the other path brings it too."""
    waiting = shown.get(quote.asset)
    if waiting is None:
        waiting = shown[quote.asset] = deque(maxlen=ECHOES_KEPT)
    waiting.append(quote)


def _seen(shown: dict[str, deque[QuoteUpdated]], quote: QuoteUpdated) -> bool:
    """Whether ``quote`` was shown already from the other path (and forget it if so)."""
    waiting = shown.get(quote.asset)
    while waiting and waiting[0].ts < quote.ts:
        waiting.popleft()  # older than this one: the other path will not bring it now
    if waiting and waiting[0] == quote:
        waiting.popleft()
        return True
    return False


class LiveHub:
    """The subscribers of one gateway process and the newest quote of every asset."""

    def __init__(self, assets: dict[str, AssetSpec], window: OrderWindow | None = None) -> None:
        self.assets = assets
        self.window = OrderWindow() if window is None else window
        self.latest: dict[str, QuoteOut] = {}
        # Quotes only (no accounts): where a tick is checked against the band and marked up.
        self.quoting = State(assets.values())
        # Quotes shown from one path whose copy from the other is still to come, per asset:
        # each is shown and counted in its candle once, whichever path brings it first.
        self._from_channel: dict[str, deque[QuoteUpdated]] = {}
        self._from_log: dict[str, deque[QuoteUpdated]] = {}
        # Who listens to each channel, so a quote touches only its own subscribers.
        self.listeners: dict[str, set[Subscriber]] = {}
        # Every asset's candle channels, named once rather than on every quote.
        self._candle_channels = {
            asset: tuple(f"candles:{asset}:{interval}" for interval in INTERVALS)
            for asset in assets
        }
        # The open minute of every asset, from the same quotes the candle writer stores.
        self.candles = CandleAggregator()

    def subscribe(self, subscriber: Subscriber, channels: list[str]) -> None:
        """Start delivering ``channels`` to ``subscriber``."""
        subscriber.channels.update(channels)
        for channel in channels:
            self.listeners.setdefault(channel, set()).add(subscriber)

    def unsubscribe(self, subscriber: Subscriber, channels: list[str]) -> None:
        """Stop delivering ``channels`` to ``subscriber``."""
        if "orders" in channels:
            subscriber.start_orders(None)
        subscriber.channels.difference_update(channels)
        for channel in channels:
            listening = self.listeners.get(channel)
            if listening is not None:
                listening.discard(subscriber)
                if not listening:
                    del self.listeners[channel]

    def remove(self, subscriber: Subscriber) -> None:
        """Stop delivering anything to ``subscriber``."""
        self.unsubscribe(subscriber, list(subscriber.channels))

    def on_tick(self, tick: Tick) -> None:
        """Quote a tick from the feed's channel as the engine will, and send it on."""
        quote = accept_quote(self.quoting, tick)
        if isinstance(quote, Rejection):
            return
        self.quoting.evolve(quote)
        if isinstance(quote, QuoteUpdated) and not _seen(self._from_log, quote):
            self._quote(quote)
            _note(self._from_channel, quote)

    def on_record(self, record: Record) -> None:
        """Turn one engine record into messages for whoever listens."""
        if not record.applied or not isinstance(record.outcome, Accepted):
            return
        seqs = record.seqs
        for index, event in enumerate(record.outcome.events):
            if isinstance(event, QuoteUpdated):
                self._logged_quote(event)
            elif isinstance(event, ORDER_EVENTS):
                self._order(event, None if seqs is None else seqs[index])

    def _logged_quote(self, event: QuoteUpdated) -> None:
        if _seen(self._from_channel, event):
            return  # its tick came through the channel: shown already
        asset = self.quoting.assets.get(event.asset)
        if asset is not None and (asset.quote is None or event.ts > asset.quote.ts):
            self.quoting.evolve(event)  # news: a tick this gateway missed, or the stream's alone
            self._quote(event)
            _note(self._from_log, event)

    def _quote(self, event: QuoteUpdated) -> None:
        spec = self.assets.get(event.asset)
        if spec is None:
            return
        quote = QuoteOut(
            event.asset,
            price(event.bid, spec),
            price(event.ask, spec),
            price(event.mark, spec),
            event.ts,
        )
        self.latest[event.asset] = quote
        self.candles.add(Tick(event.asset, event.bid, event.ask, event.ts))
        listening = self.listeners.get("prices")
        if listening:
            message = outgoing(PricesFrame(quote))
            for subscriber in listening:
                subscriber.offer(event.asset, message)
        live = self.candles.open_candle(event.asset)
        if live is None:
            return
        for channel in self._candle_channels[event.asset]:
            listening = self.listeners.get(channel)
            if listening:
                candle = candle_message(channel, live, spec)
                for subscriber in listening:
                    subscriber.offer(channel, candle)

    def order_frame(self, event: OrderEvent, seq: int | None) -> bytes | None:
        """An order event as its ``orders`` frame; ``None`` for one of an unknown asset."""
        data = _order_event(event, self.assets.get(getattr(event, "asset", "")))
        return None if data is None else encode_frame(OrdersFrame(data, seq))

    def _order(self, event: OrderEvent, seq: int | None) -> None:
        account_id = event.account_id
        if seq:
            self.window.add(account_id, seq, event)
        listeners = [s for s in self.listeners.get("orders", ()) if s.account_id == account_id]
        if not listeners:
            return
        message = self.order_frame(event, seq)
        if message is None:
            return
        for subscriber in listeners:
            subscriber.push_order(seq, message)
