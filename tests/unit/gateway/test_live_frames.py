"""Every frame the hub sends, byte for byte as a client reads it: built from the engine's own
records, so a change to a frame's keys, their order or a decimal's format shows here."""

from __future__ import annotations

from cryptocfd.bus.messages import Record
from cryptocfd.core.money import Cents, PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.gateway.frames import text_frame
from cryptocfd.gateway.live import LiveHub, Subscriber
from cryptocfd.trading.commands import Command, OpenAccount
from cryptocfd.trading.engine import Engine, Outcome
from cryptocfd.trading.events import PositionOpened
from tests.unit.trading.builders import (
    ACCOUNT,
    LIMIT,
    LONG,
    OTHER,
    STOP,
    T0,
    TEST_ASSETS,
    cancel,
    close,
    modify,
    only,
    order,
    rid,
)

ASSETS = {spec.symbol: spec for spec in TEST_ASSETS}


class Connection:
    """A transport that takes every frame."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def write(self, frame: bytes) -> bool:
        self.frames.append(frame)
        return True


class Desk:
    """An engine, and a hub that sees every record it makes, with one user listening."""

    def __init__(self, *channels: str) -> None:
        self.engine = Engine(assets=TEST_ASSETS)
        self.hub = LiveHub(ASSETS)
        self.user = Subscriber(ACCOUNT)
        self.hub.subscribe(self.user, list(channels))
        for account_id in (ACCOUNT, OTHER):
            self.feed(OpenAccount(rid(), T0, account_id, Cents(1_000_000)))

    def feed(self, given: Command | Tick) -> Outcome:
        """Apply ``given`` and hand its record to the hub."""
        outcome = self.engine.apply(given)
        seqs = self.engine.order_seqs(outcome)  # as the engine's service numbers them
        if isinstance(given, Tick):
            record = Record("tick", None, given.ts, outcome, applied=True, seqs=seqs)
        else:
            record = Record("command", given.request_id, given.ts, outcome, applied=True, seqs=seqs)
        self.hub.on_record(record)
        return outcome

    def sent(self, given: Command | Tick) -> list[bytes]:
        """What the user is sent because of ``given``."""
        self.user.take()
        self.feed(given)
        return self.user.take()

    def opened(self, given: Command) -> PositionOpened:
        return only(self.feed(given), PositionOpened)


def test_prices_frame_when_the_engine_quotes_a_tick_is_the_quote_with_its_decimals() -> None:
    desk, connection = Desk(), Connection()
    desk.hub.subscribe(Subscriber(None, connection.write), ["prices"])

    desk.feed(Tick("BTC", PriceTicks(6_400_012), PriceTicks(6_400_990), T0))

    text = (
        b'{"channel":"prices","data":{"asset":"BTC","bid":"63987.31","ask":"64022.71",'
        b'"mark":"64005.01","ts":1700000000000}}'
    )
    assert connection.frames == [text_frame(text)]


def test_prices_frame_when_the_tick_comes_on_the_channel_is_the_same_as_from_the_log() -> None:
    hub, connection = LiveHub(ASSETS), Connection()
    hub.subscribe(Subscriber(None, connection.write), ["prices"])

    hub.on_tick(Tick("DOGE", PriceTicks(20_000), PriceTicks(20_020), T0))

    text = (
        b'{"channel":"prices","data":{"asset":"DOGE","bid":"0.19992","ask":"0.20029",'
        b'"mark":"0.20010","ts":1700000000000}}'
    )
    assert connection.frames == [text_frame(text)]


def test_candle_frame_when_a_quote_arrives_is_the_live_candle_in_its_bucket() -> None:
    desk = Desk("candles:BTC:5m")

    sent = desk.sent(Tick("BTC", PriceTicks(6_400_012), PriceTicks(6_400_990), T0))

    assert sent == [
        b'{"channel":"candles:BTC:5m","data":{"time":1699999800,"open":"63987.31",'
        b'"high":"63987.31","low":"63987.31","close":"63987.31","volume":1,"trades":1}}'
    ]


def test_position_opened_event_is_the_fill_with_its_decimals_and_time() -> None:
    desk = Desk("orders")
    desk.feed(Tick("BTC", PriceTicks(6_400_012), PriceTicks(6_400_990), T0))

    sent = desk.sent(order(LONG, 10_000, 10, asset="BTC", ts=T0 + 1))

    assert sent == [
        b'{"channel":"orders","data":{"event":"position_opened","order_id":1,"asset":"BTC",'
        b'"side":"long","margin":"100.00","leverage":10,"quantity":"0.01561900",'
        b'"open_price":"64022.71","liquidation_price":"60821.49",'
        b'"at":"2023-11-14T22:13:20.001Z"},"seq":1}'
    ]


def test_position_closed_event_is_the_close_with_its_pnl_and_what_remains() -> None:
    desk = Desk("orders")
    desk.feed(Tick("BTC", PriceTicks(6_400_012), PriceTicks(6_400_990), T0))
    opened = desk.opened(order(LONG, 10_000, 10, asset="BTC"))
    desk.feed(Tick("BTC", PriceTicks(6_500_000), PriceTicks(6_500_500), T0 + 10))

    sent = desk.sent(close(opened.order_id, 5_000, ts=T0 + 20))

    assert sent == [
        b'{"channel":"orders","data":{"event":"position_closed","order_id":1,"asset":"BTC",'
        b'"side":"long","close_reason":"closed","quantity":"0.00780900",'
        b'"close_price":"64987.00","pnl":"7.53","remaining_quantity":"0.00781000",'
        b'"at":"2023-11-14T22:13:20.020Z"},"seq":2}'
    ]


def test_liquidated_event_is_a_close_named_for_its_reason() -> None:
    desk = Desk("orders")
    desk.feed(Tick("TST", PriceTicks(1000), PriceTicks(1000), T0))
    desk.opened(order(LONG, 10_000, 10))

    sent = desk.sent(Tick("TST", PriceTicks(950), PriceTicks(950), T0 + 1))

    assert sent == [
        b'{"channel":"orders","data":{"event":"liquidated","order_id":1,"asset":"TST",'
        b'"side":"long","close_reason":"liquidated","quantity":"1.00000000",'
        b'"close_price":"950","pnl":"-50.00","remaining_quantity":"0.00000000",'
        b'"at":"2023-11-14T22:13:20.001Z"},"seq":2}'
    ]


def test_order_placed_event_is_the_pending_entry_and_its_price() -> None:
    desk = Desk("orders")
    desk.feed(Tick("BTC", PriceTicks(6_400_012), PriceTicks(6_400_990), T0))

    sent = desk.sent(order(LONG, order_type=LIMIT, price=6_300_050, asset="BTC"))

    assert sent == [
        b'{"channel":"orders","data":{"event":"order_placed","order_id":1,"asset":"BTC",'
        b'"order_type":"limit","price":"63000.50","at":"2023-11-14T22:13:20.000Z"},"seq":1}'
    ]


def test_order_cancelled_event_names_the_order_and_its_time() -> None:
    desk = Desk("orders")
    desk.feed(Tick("TST", PriceTicks(1000), PriceTicks(1000), T0))
    desk.feed(order(LONG, order_type=LIMIT, price=900))

    sent = desk.sent(cancel(1, ts=T0 + 5))

    assert sent == [
        b'{"channel":"orders","data":{"event":"order_cancelled","order_id":1,'
        b'"at":"2023-11-14T22:13:20.005Z"},"seq":2}'
    ]


def test_order_expired_event_names_the_order_and_its_time() -> None:
    desk = Desk("orders")
    desk.feed(Tick("TST", PriceTicks(1000), PriceTicks(1000), T0))
    desk.feed(order(LONG, order_type=LIMIT, price=900, expires_at=T0 + 5_000))

    sent = desk.sent(Tick("TST", PriceTicks(1000), PriceTicks(1000), T0 + 5_000))

    assert sent == [
        b'{"channel":"orders","data":{"event":"order_expired","order_id":1,'
        b'"at":"2023-11-14T22:13:25.000Z"},"seq":2}'
    ]


def test_order_rejected_event_names_the_order_and_its_time() -> None:
    desk = Desk("orders")
    desk.feed(Tick("TST", PriceTicks(1000), PriceTicks(1000), T0))
    desk.feed(order(LONG, 101, 10, order_type=STOP, price=1010))  # too small once it fills

    sent = desk.sent(Tick("TST", PriceTicks(1020), PriceTicks(1020), T0 + 7))

    assert sent == [
        b'{"channel":"orders","data":{"event":"order_rejected","order_id":1,'
        b'"at":"2023-11-14T22:13:20.007Z"},"seq":2}'
    ]


def test_position_modified_event_names_the_position_and_its_time() -> None:
    desk = Desk("orders")
    desk.feed(Tick("TST", PriceTicks(1000), PriceTicks(1000), T0))
    opened = desk.opened(order(LONG))

    sent = desk.sent(modify(opened.order_id, take_profit=1100, ts=T0 + 3))

    assert sent == [
        b'{"channel":"orders","data":{"event":"position_modified","order_id":1,'
        b'"at":"2023-11-14T22:13:20.003Z"},"seq":2}'
    ]


def test_order_events_when_another_account_trades_reach_only_its_owner() -> None:
    desk = Desk("orders")
    desk.feed(Tick("TST", PriceTicks(1000), PriceTicks(1000), T0))

    assert desk.sent(order(LONG, account_id=OTHER)) == []
