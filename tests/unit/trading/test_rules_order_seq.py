"""Every account numbers its order events (``Account.seq``): one step per event the websocket's
``orders`` channel shows, without gaps, the same after a snapshot as before it."""

from __future__ import annotations

import msgspec

from cryptocfd.trading.commands import ClosePosition
from cryptocfd.trading.engine import Engine, Outcome
from cryptocfd.trading.snapshot.image import EngineImage
from tests.unit.trading.builders import (
    ACCOUNT,
    LIMIT,
    LONG,
    OTHER,
    SHORT,
    T0,
    TEST_ASSETS,
    cancel,
    close,
    deposit,
    kinds,
    make_engine,
    modify,
    open_position,
    order,
    place_pending,
    rid,
    tick,
    view,
)


def applied(engine: Engine, outcome: Outcome) -> tuple[int, ...] | None:
    """The numbers the engine gives a just-applied outcome's events."""
    return engine.order_seqs(outcome)


def through_bytes(engine: Engine) -> Engine:
    """Image, encode, decode and restore, as a snapshot does."""
    data = msgspec.msgpack.encode(engine.image())
    return Engine.from_image(msgspec.msgpack.decode(data, type=EngineImage), TEST_ASSETS)


def test_seq_when_orders_open_change_and_close_counts_each_event_once() -> None:
    engine = make_engine(bid=1000, accounts=(ACCOUNT, OTHER))
    assert view(engine).seq == 0

    first = open_position(engine, LONG)
    assert view(engine).seq == 1
    outcome = engine.apply(modify(first.order_id, take_profit=1200))
    assert applied(engine, outcome) == (2,)
    pending = place_pending(engine, LONG, LIMIT, 900)
    assert view(engine).seq == 3
    outcome = engine.apply(cancel(pending.order_id))
    assert applied(engine, outcome) == (4,)
    outcome = engine.apply(close(first.order_id, 5_000))
    assert applied(engine, outcome) == (5,)
    outcome = engine.apply(close(first.order_id))
    assert applied(engine, outcome) == (6,)

    assert view(engine).seq == 6
    assert view(engine, OTHER).seq == 0  # another account's numbers are its own


def test_seq_when_a_command_has_no_order_event_stays_and_numbers_nothing() -> None:
    engine = make_engine(bid=1000)
    open_position(engine, LONG)

    outcome = engine.apply(deposit(500))

    assert applied(engine, outcome) is None
    assert applied(engine, tick(engine, 1001)) is None  # a plain tick
    assert applied(engine, engine.apply(close(999))) is None  # a rejection
    assert view(engine).seq == 1


def test_seq_when_a_request_is_repeated_does_not_count_it_again() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG)
    command = ClosePosition(rid(), T0, ACCOUNT, opened.order_id)

    engine.apply(command)
    engine.apply(command)

    assert view(engine).seq == 2


def test_seq_when_one_tick_fills_and_liquidates_for_two_accounts_numbers_each_in_order() -> None:
    # Each account: a long liquidated at 950 and a buy limit at 951 that fills on the same tick.
    engine = make_engine(bid=1000, balance=50_000, accounts=(ACCOUNT, OTHER))
    for account_id in (ACCOUNT, OTHER):
        open_position(engine, LONG, account_id=account_id)
        engine.apply(order(LONG, order_type=LIMIT, price=951, account_id=account_id))
    open_position(engine, SHORT, account_id=OTHER)
    assert (view(engine).seq, view(engine, OTHER).seq) == (2, 3)

    outcome = tick(engine, 950)

    assert kinds(outcome) == [
        "QuoteUpdated",
        "PositionOpened",
        "PositionOpened",
        "PositionClosed",
        "PositionClosed",
    ]
    # Fills by order id (ACCOUNT's first), then liquidations by order id (ACCOUNT's first).
    assert applied(engine, outcome) == (0, 3, 4, 4, 5)
    assert (view(engine).seq, view(engine, OTHER).seq) == (4, 5)


def test_seq_when_restored_from_an_image_goes_on_from_where_it_was() -> None:
    engine = make_engine(bid=1000, accounts=(ACCOUNT, OTHER))
    for _ in range(3):
        open_position(engine, LONG)
    open_position(engine, SHORT, account_id=OTHER)

    restored = through_bytes(engine)

    assert restored.state_hash() == engine.state_hash()
    assert (view(restored).seq, view(restored, OTHER).seq) == (3, 1)  # each thawed as read
    opened = open_position(restored, LONG)
    assert applied(restored, restored.apply(close(opened.order_id))) == (5,)


def test_state_hash_when_only_a_seq_differs_differs() -> None:
    engine, other = make_engine(bid=1000), make_engine(bid=1000)
    opened = open_position(engine, LONG)
    open_position(other, LONG)
    engine.apply(modify(opened.order_id, take_profit=1200))
    engine.apply(modify(opened.order_id, take_profit=None))  # the same position as before

    assert view(engine).balance == view(other).balance
    assert engine.state_hash() != other.state_hash()


def test_restore_when_the_image_is_of_version_2_starts_every_seq_at_zero() -> None:
    engine = make_engine(bid=1000)
    open_position(engine, LONG)
    # The image as version 2 wrote it: its account columns without the seqs.
    older = msgspec.msgpack.decode(msgspec.msgpack.encode(engine.image()))
    older["version"] = 2
    older["accounts"] = older["accounts"][:4]
    encoded = msgspec.msgpack.encode(older)

    restored = Engine.from_image(msgspec.msgpack.decode(encoded, type=EngineImage), TEST_ASSETS)

    assert view(restored).seq == 0
    assert view(restored).balance == view(engine).balance
