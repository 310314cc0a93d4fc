"""Margin calls: one notice per crossing of the margin-call price on the mark, re-armed once the
mark recovers, never on the tick that closes the position, and kept across a snapshot.

On ``TST`` one unit long at 1000 with margin 10,000 (leverage 10) has its margin call at
``dist = 10,000 * (10,000 - 7,500) * 10^6 // (10^8 * 10^4) = 25``: 975 (a short's at 1025),
and its liquidation at 950 (1050).
"""

from __future__ import annotations

import msgspec

from cryptocfd.core.money import Bps, PriceTicks
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import MarginCalled, PositionClosed
from cryptocfd.trading.snapshot.image import EngineImage
from tests.unit.trading.builders import (
    ACCOUNT,
    LONG,
    SHORT,
    T0,
    TEST_ASSETS,
    close,
    events_of,
    kinds,
    make_engine,
    modify,
    only,
    open_position,
    tick,
)


def _through_bytes(engine: Engine) -> Engine:
    data = msgspec.msgpack.encode(engine.image())
    return Engine.from_image(msgspec.msgpack.decode(data, type=EngineImage), TEST_ASSETS)


def test_tick_when_mark_falls_to_long_margin_call_price_emits_one_margin_called() -> None:
    # At 975: pnl = (975 - 1000) * 10^8 // 10^6 = -2,500, equity 7,500 = 75.00% of the margin.
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG)

    assert kinds(tick(engine, 976)) == ["QuoteUpdated"]
    called = only(tick(engine, 975), MarginCalled)

    assert called == MarginCalled(opened.order_id, ACCOUNT, "TST", PriceTicks(975), Bps(7_500), T0)


def test_tick_when_mark_rises_to_short_margin_call_price_emits_margin_called() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, SHORT)

    assert kinds(tick(engine, 1024)) == ["QuoteUpdated"]
    called = only(tick(engine, 1026), MarginCalled)

    # (1000 - 1026) * 10^8 // 10^6 = -2,600: equity 7,400, 74.00%.
    assert (called.order_id, called.mark, called.margin_level_bps) == (opened.order_id, 1026, 7_400)


def test_tick_when_mark_stays_past_the_margin_call_price_does_not_call_again() -> None:
    engine = make_engine(bid=1000)
    open_position(engine, LONG)
    only(tick(engine, 975), MarginCalled)

    assert kinds(tick(engine, 970)) == ["QuoteUpdated"]
    assert kinds(tick(engine, 975)) == ["QuoteUpdated"]


def test_tick_when_mark_recovers_above_and_falls_again_calls_once_per_crossing() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, SHORT)
    only(tick(engine, 1030), MarginCalled)

    assert kinds(tick(engine, 1025)) == ["QuoteUpdated"]  # still at the level: still called
    assert kinds(tick(engine, 1024)) == ["QuoteUpdated"]  # recovered: re-armed, no notice
    assert only(tick(engine, 1025), MarginCalled).order_id == opened.order_id
    assert kinds(tick(engine, 1000)) == ["QuoteUpdated"]
    assert only(tick(engine, 1040), MarginCalled).order_id == opened.order_id


def test_tick_when_mark_jumps_past_call_and_liquidation_at_once_only_liquidates() -> None:
    engine = make_engine(bid=1000)
    open_position(engine, LONG)

    assert kinds(tick(engine, 950)) == ["QuoteUpdated", "PositionClosed"]


def test_tick_when_a_stop_loss_closes_the_position_on_the_calling_tick_only_closes_it() -> None:
    engine = make_engine(bid=1000)
    open_position(engine, LONG, stop_loss=980)

    closed = only(tick(engine, 970), PositionClosed)

    assert closed.reason == "stop_loss"
    assert kinds(tick(engine, 960)) == ["QuoteUpdated"]


def test_tick_when_several_positions_cross_calls_them_in_order_of_id_after_the_exits() -> None:
    engine = make_engine(bid=1000)
    first = open_position(engine, LONG).order_id
    doomed = open_position(engine, LONG, 10_000, 40).order_id  # liquidation at 988, call at 994
    second = open_position(engine, LONG).order_id

    events = events_of(tick(engine, 970))

    assert [type(e).__name__ for e in events] == [
        "QuoteUpdated",
        "PositionClosed",
        "MarginCalled",
        "MarginCalled",
    ]
    assert events[1].order_id == doomed  # type: ignore[union-attr]
    assert [e.order_id for e in events[2:]] == [first, second]  # type: ignore[union-attr]


def test_close_position_when_partial_moves_the_margin_call_price() -> None:
    # Close 25.5% of a short: the remainder holds 75,000,000 with margin 7,450, so
    # dist = 7,450 * 2,500 * 10^6 // (75,000,000 * 10^4) = 24 (24.83 floored): call at 1024,
    # where the untouched twin's stays at 1025.
    engine = make_engine(bid=1000)
    closed_in_part = open_position(engine, SHORT).order_id
    twin = open_position(engine, SHORT).order_id
    events_of(engine.apply(close(closed_in_part, 2_550)))

    called = only(tick(engine, 1024), MarginCalled)

    assert called.order_id == closed_in_part
    assert only(tick(engine, 1025), MarginCalled).order_id == twin


def test_close_position_when_partial_leaves_the_mark_past_the_new_level_gives_no_notice() -> None:
    # The mark is at 1024 (not past the call at 1025); the remainder's call is at 1024, where
    # the mark already is: it is under a call from then on, without a crossing to notify.
    engine = make_engine(bid=1000)
    opened = open_position(engine, SHORT).order_id
    assert kinds(tick(engine, 1024)) == ["QuoteUpdated"]
    events_of(engine.apply(close(opened, 2_550)))

    assert kinds(tick(engine, 1030)) == ["QuoteUpdated"]
    assert kinds(tick(engine, 1023)) == ["QuoteUpdated"]
    assert only(tick(engine, 1024), MarginCalled).order_id == opened


def test_modify_position_when_the_mark_is_past_the_call_emits_no_margin_call() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG).order_id
    only(tick(engine, 970), MarginCalled)

    assert kinds(engine.apply(modify(opened, take_profit=1100))) == ["PositionModified"]
    assert kinds(tick(engine, 969)) == ["QuoteUpdated"]


def test_open_when_the_mark_is_already_past_the_call_is_called_without_a_notice() -> None:
    # Leverage 30 at an ask of 1002 over a mark of 990: 299,000,000 units, call dist =
    # 10,000 * 2,500 * 10^6 // (299,000,000 * 10^4) = 8, call at 994 (liquidation at 986);
    # the mark 990 is past the call from the start.
    engine = make_engine(bid=978, ask=1002)
    opened = open_position(engine, LONG, 10_000, 30)
    assert (opened.quantity, opened.liquidation_price) == (299_000_000, 986)

    assert kinds(tick(engine, 979, 1001)) == ["QuoteUpdated"]
    assert kinds(tick(engine, 995)) == ["QuoteUpdated"]
    assert only(tick(engine, 994), MarginCalled).order_id == opened.order_id


def test_restore_when_the_mark_was_past_the_call_counts_it_as_called() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG).order_id
    only(tick(engine, 975), MarginCalled)

    restored = _through_bytes(engine)

    assert kinds(tick(restored, 970)) == ["QuoteUpdated"]
    assert kinds(tick(restored, 976)) == ["QuoteUpdated"]
    assert only(tick(restored, 975), MarginCalled).order_id == opened


def test_restore_when_the_mark_was_above_the_call_keeps_it_armed() -> None:
    engine = make_engine(bid=1000)
    long = open_position(engine, LONG).order_id
    short = open_position(engine, SHORT).order_id

    restored = _through_bytes(engine)

    assert only(tick(restored, 975), MarginCalled).order_id == long
    assert only(tick(restored, 1025), MarginCalled).order_id == short
