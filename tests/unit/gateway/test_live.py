"""The websocket hub: who gets a quote, and when it is written at once or conflated."""

from __future__ import annotations

import json
from random import Random

from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from cryptocfd.bus.messages import Record
from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.gateway.frames import text_frame
from cryptocfd.gateway.live import LiveHub, Subscriber, outgoing
from cryptocfd.gateway.present import price
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import Accepted, QuoteUpdated

ASSETS = {spec.symbol: spec for spec in DEFAULT_ASSETS}


class Connection:
    """What a server's transport would take: frames, until it asks us to stop writing."""

    def __init__(self, *, writable: bool = True) -> None:
        self.writable = writable
        self.frames: list[bytes] = []

    def write(self, frame: bytes) -> bool:
        if not self.writable:
            return False
        self.frames.append(frame)
        return True


def _quote(asset: str, bid: int, ts: int) -> Record:
    event = QuoteUpdated(asset, PriceTicks(bid), PriceTicks(bid + 100), PriceTicks(bid + 50), ts)
    return Record("tick", None, ts, Accepted((event,)), applied=True)


def _data(frame: bytes) -> bytes:
    """The payload of one whole frame, parsed as a client parses a server's frames."""
    reader = StreamReader()
    reader.feed_data(frame)
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        parsed: Frame = done.value
    assert parsed.opcode is Opcode.TEXT and parsed.fin
    assert not reader.buffer  # nothing after the frame
    return bytes(parsed.data)


def _payload(frame: bytes) -> dict[str, object]:
    result: dict[str, object] = json.loads(_data(frame))
    return result


def test_text_frame_when_parsed_as_a_client_would_gives_back_the_message() -> None:
    short = b'{"channel":"prices"}'
    long = b'{"pad":"' + b"x" * 300 + b'"}'  # past 125 bytes: a longer length field

    assert [_data(text_frame(m)) for m in (short, long)] == [short, long]


def test_offer_when_the_connection_takes_it_writes_the_frame_and_queues_nothing() -> None:
    connection = Connection()
    subscriber = Subscriber(None, connection.write)

    subscriber.offer("BTC", outgoing({"n": 1}))

    assert [_payload(f) for f in connection.frames] == [{"n": 1}]
    assert subscriber.prices == {}
    assert not subscriber.wake.is_set()


def test_offer_when_the_connection_is_full_keeps_only_the_newest_per_key_for_its_sender() -> None:
    connection = Connection(writable=False)
    subscriber = Subscriber(None, connection.write)

    for n in range(3):
        subscriber.offer("BTC", outgoing({"n": n}))
    subscriber.offer("ETH", outgoing({"n": 9}))

    assert connection.frames == []
    assert subscriber.wake.is_set()
    assert [json.loads(m) for m in subscriber.take()] == [{"n": 2}, {"n": 9}]


def test_offer_when_something_waits_queues_behind_it_even_if_the_connection_has_room() -> None:
    connection = Connection(writable=False)
    subscriber = Subscriber(None, connection.write)
    subscriber.offer("BTC", outgoing({"n": 1}))
    connection.writable = True

    subscriber.offer("BTC", outgoing({"n": 2}))  # must not overtake the unsent one
    subscriber.push_event(b'{"event": 1}')
    subscriber.offer("ETH", outgoing({"n": 3}))

    assert connection.frames == []
    assert [json.loads(m) for m in subscriber.take()] == [{"event": 1}, {"n": 2}, {"n": 3}]


def test_offer_when_its_sender_is_mid_batch_queues() -> None:
    connection = Connection()
    subscriber = Subscriber(None, connection.write)
    subscriber.sending = True

    subscriber.offer("BTC", outgoing({"n": 1}))

    assert connection.frames == []
    assert list(subscriber.prices) == ["BTC"]


def test_hub_when_a_quote_arrives_reaches_only_the_channels_listening_for_it() -> None:
    hub = LiveHub(ASSETS)
    prices, candles, other, gone = (Connection() for _ in range(4))
    subscribers = [Subscriber(None, c.write) for c in (prices, candles, other, gone)]
    hub.subscribe(subscribers[0], ["prices"])
    hub.subscribe(subscribers[1], ["candles:BTC:5m"])
    hub.subscribe(subscribers[2], ["candles:ETH:1m", "orders"])
    hub.subscribe(subscribers[3], ["prices"])
    hub.remove(subscribers[3])

    hub.on_record(_quote("BTC", 6_400_000, 1_700_000_000_000))

    assert [_payload(f)["channel"] for f in prices.frames] == ["prices"]
    assert [_payload(f)["channel"] for f in candles.frames] == ["candles:BTC:5m"]
    assert other.frames == [] and gone.frames == []
    assert set(hub.listeners) == {"prices", "candles:BTC:5m", "candles:ETH:1m", "orders"}


def test_hub_when_the_last_listener_unsubscribes_forgets_the_channel() -> None:
    hub = LiveHub(ASSETS)
    subscriber = Subscriber(None)
    hub.subscribe(subscriber, ["prices", "candles:BTC:1m"])

    hub.unsubscribe(subscriber, ["prices"])

    assert set(hub.listeners) == {"candles:BTC:1m"}
    assert subscriber.channels == {"candles:BTC:1m"}


def _engine_quotes(ticks: list[Tick]) -> tuple[list[Record | None], list[dict[str, object]]]:
    """The engine's record of each tick (``None`` if refused), and its quotes as the websocket
    shows them."""
    engine = Engine(assets=DEFAULT_ASSETS)
    records: list[Record | None] = []
    quotes: list[dict[str, object]] = []
    for tick in ticks:
        outcome = engine.apply(tick)
        records.append(None)
        if isinstance(outcome, Accepted):
            records[-1] = Record("tick", None, tick.ts, outcome, applied=True)
            for e in outcome.events:
                if isinstance(e, QuoteUpdated):
                    spec = ASSETS[e.asset]
                    quotes.append({
                        "asset": e.asset, "bid": price(e.bid, spec), "ask": price(e.ask, spec),
                        "mark": price(e.mark, spec), "ts": e.ts,
                    })  # fmt: skip
    return records, quotes


def _shown(connection: Connection) -> list[object]:
    return [_payload(frame)["data"] for frame in connection.frames]


# Bids wander over a range wider than the sanity band, so some ticks are held and confirmed;
# times repeat or go back now and then, which the engine refuses.
ticks_of_one_asset = st.lists(
    st.tuples(st.integers(5_000, 7_000), st.integers(0, 50), st.integers(-1, 3)),
    min_size=1,
    max_size=40,
).map(
    lambda steps: [
        Tick(
            "BTC",
            PriceTicks(bid * 1_000),
            PriceTicks(bid * 1_000 + spread * 100),
            1_700_000_000_000 + n + gap,
        )
        for n, (bid, spread, gap) in enumerate(steps)
    ]
)


@given(ticks_of_one_asset, st.randoms())
def test_hub_when_each_tick_comes_on_both_paths_shows_exactly_the_engines_quotes(
    ticks: list[Tick], random: Random
) -> None:
    hub, connection = LiveHub(ASSETS), Connection()
    hub.subscribe(Subscriber(None, connection.write), ["prices"])
    records, quotes = _engine_quotes(ticks)

    for tick, record in zip(ticks, records, strict=True):  # on both paths, either one first
        if record is not None and random.random() < 0.5:
            hub.on_record(record)
            hub.on_tick(tick)
        else:
            hub.on_tick(tick)
            if record is not None:
                hub.on_record(record)

    assert _shown(connection) == quotes
    candle = hub.candles.open_candle("BTC")  # the ticks span well under a minute
    assert candle is not None and candle.trades == len(quotes)  # each counted once


def test_hub_when_the_log_brings_a_quote_the_channel_missed_shows_it_once() -> None:
    ticks = [
        Tick("BTC", PriceTicks(6_400_000 + n), PriceTicks(6_401_000 + n), 1_700_000_000_000 + n)
        for n in range(3)
    ]
    records, quotes = _engine_quotes(ticks)
    hub, connection = LiveHub(ASSETS), Connection()
    hub.subscribe(Subscriber(None, connection.write), ["prices"])

    first, second, _ = records
    assert first is not None and second is not None
    hub.on_tick(ticks[0])
    hub.on_record(first)  # its own tick: already shown
    hub.on_record(second)  # a tick this gateway never got on the channel
    hub.on_tick(ticks[1])  # arriving late: older than what is shown
    hub.on_tick(ticks[2])

    assert _shown(connection) == quotes
