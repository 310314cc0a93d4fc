"""The trigger indexes: stale entries, compaction and trailing-stop groups behave like the rules.

These reach into ``engine.state.triggers`` only to observe the index's shape (heap sizes, group
counts); every behaviour is asserted through commands, ticks and events.
"""

from __future__ import annotations

from cryptocfd.trading.events import CloseReason, PositionClosed, QuoteUpdated
from cryptocfd.trading.triggers import COMPACT_MIN_GARBAGE

from .builders import (
    LONG,
    SHORT,
    T0,
    close,
    events_of,
    make_engine,
    of_type,
    open_position,
    tick,
)


def test_tick_when_nothing_is_reached_emits_only_the_quote_and_leaves_the_heaps_alone() -> None:
    engine = make_engine(bid=1000)
    for _ in range(200):
        open_position(engine, LONG, stop_loss=960, take_profit=1100)
        open_position(engine, SHORT, stop_loss=1040, take_profit=900)
    book = engine.state.triggers["TST"]
    sizes = [len(h) for h in (book.bid_down, book.bid_up, book.ask_down, book.ask_up)]

    outcome = tick(engine, 1001, ts=T0 + 1)

    assert [type(e) for e in events_of(outcome)] == [QuoteUpdated]
    assert [len(h) for h in (book.bid_down, book.bid_up, book.ask_down, book.ask_up)] == sizes


def test_close_when_enough_entries_go_stale_compacts_and_survivors_still_fire() -> None:
    engine = make_engine(bid=1000)
    doomed = [
        open_position(engine, LONG, stop_loss=960).order_id for _ in range(COMPACT_MIN_GARBAGE)
    ]
    survivor = open_position(engine, LONG, 10_000, 5, stop_loss=950).order_id  # liquidation 900
    book = engine.state.triggers["TST"]
    for order_id in doomed:
        events_of(engine.apply(close(order_id)))

    # Each closed position left a liquidation and a stop-loss entry; compaction dropped them.
    assert len(book.bid_down) < COMPACT_MIN_GARBAGE
    assert len(book.mark_down) < COMPACT_MIN_GARBAGE
    closed = of_type(tick(engine, 950, ts=T0 + 1), PositionClosed)
    assert [(c.order_id, c.reason) for c in closed] == [(survivor, CloseReason.STOP_LOSS)]


def test_rising_bid_when_trailing_stops_armed_at_different_bids_merges_them_into_one_group() -> (
    None
):
    engine = make_engine(bid=1000)
    first = open_position(engine, LONG, trailing_distance=30).order_id  # stop 970
    tick(engine, 990, ts=T0 + 1)
    second = open_position(engine, LONG, trailing_distance=15).order_id  # stop 975
    tick(engine, 980, ts=T0 + 2)
    third = open_position(engine, LONG, trailing_distance=25).order_id  # stop 955
    book = engine.state.triggers["TST"]
    assert len(book.long_trail) == 3  # peaks 1000, 990, 980

    tick(engine, 1010, ts=T0 + 3)  # above every peak: one group at 1010

    assert len(book.long_trail) == 1
    # Stops now sit at 995 (second), 985 (third) and 980 (first).
    closed = of_type(tick(engine, 995, ts=T0 + 4), PositionClosed)
    assert [(c.order_id, c.reason) for c in closed] == [(second, CloseReason.TRAILING_STOP)]
    closed = of_type(tick(engine, 980, ts=T0 + 5), PositionClosed)
    assert [c.order_id for c in closed] == [first, third]
    assert all(c.reason is CloseReason.TRAILING_STOP for c in closed)


def test_falling_ask_when_short_trailing_stops_share_a_trough_moves_them_together() -> None:
    engine = make_engine(bid=1000)
    near = open_position(engine, SHORT, trailing_distance=5).order_id
    far = open_position(engine, SHORT, trailing_distance=50).order_id
    for step, price in enumerate(range(995, 900, -5), start=1):
        tick(engine, price, ts=T0 + step)
    book = engine.state.triggers["TST"]
    assert len(book.short_trail) == 1
    assert book.short_trail[0].extreme == 905

    closed = of_type(tick(engine, 910, ts=T0 + 100), PositionClosed)

    assert [(c.order_id, c.close_price) for c in closed] == [(near, 910)]
    assert far in engine.state.positions
