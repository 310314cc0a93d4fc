"""Several triggers on one tick: expiries, then fills by id, then exits by id, each position
closing once for the first of liquidated, stop-loss, trailing stop, take-profit."""

from __future__ import annotations

from cryptocfd.core.money import Cents, PriceTicks
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import (
    CloseReason,
    OrderExpired,
    PositionClosed,
    PositionOpened,
    QuoteUpdated,
)
from tests.unit.trading.builders import (
    ACCOUNT,
    LIMIT,
    LONG,
    SHORT,
    STOP,
    T0,
    events_of,
    kinds,
    make_engine,
    modify,
    of_type,
    only,
    open_position,
    place_pending,
    tick,
)


def _nothing_left_past_a_trigger(engine: Engine, asset: str = "TST") -> bool:
    quote = engine.state.assets[asset].quote
    assert quote is not None
    for pos in engine.state.positions.values():
        if pos.asset != asset:
            continue
        close = quote.bid if pos.long else quote.ask
        if pos.long:
            reached = (
                quote.mark <= pos.liquidation_price
                or (pos.stop_loss is not None and close <= pos.stop_loss)
                or (pos.take_profit is not None and close >= pos.take_profit)
            )
        else:
            reached = (
                quote.mark >= pos.liquidation_price
                or (pos.stop_loss is not None and close >= pos.stop_loss)
                or (pos.take_profit is not None and close <= pos.take_profit)
            )
        if reached:
            return False
    return True


def test_tick_when_everything_triggers_at_once_expires_then_fills_then_exits_by_id() -> None:
    # 1: buy limit 990, expires at T0 + 10    -> expires (although the ask crosses it)
    # 2: long at 1000, stop-loss 985           -> stop_loss
    # 3: buy limit 980, stop-loss 979          -> fills at the ask 975, then stop_loss
    # 4: short at 1000, take-profit 985        -> take_profit (ask 975 <= 985)
    # 5: sell stop 990, take-profit 980        -> fills at the bid 975, then take_profit
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 990, expires_at=T0 + 10)
    open_position(engine, LONG, stop_loss=985)
    place_pending(engine, LONG, LIMIT, 980, stop_loss=979)
    open_position(engine, SHORT, take_profit=985)
    place_pending(engine, SHORT, STOP, 990, take_profit=980)

    events = events_of(tick(engine, 975, ts=T0 + 10))

    assert events[0] == QuoteUpdated(
        "TST", PriceTicks(975), PriceTicks(975), PriceTicks(975), T0 + 10
    )
    assert events[1] == OrderExpired(1, ACCOUNT, Cents(10_000), T0 + 10)
    opened = of_type(events, PositionOpened)
    assert [(e.order_id, e.open_price) for e in opened] == [(3, 975), (5, 975)]
    assert events[2:4] == tuple(opened)
    closed = of_type(events, PositionClosed)
    assert [(e.order_id, e.reason) for e in closed] == [
        (2, CloseReason.STOP_LOSS),
        (3, CloseReason.STOP_LOSS),
        (4, CloseReason.TAKE_PROFIT),
        (5, CloseReason.TAKE_PROFIT),
    ]
    assert events[4:] == tuple(closed)
    assert engine.state.positions == {}
    assert engine.state.pending == {}


def test_tick_when_exits_of_different_kinds_fire_closes_them_by_ascending_order_id() -> None:
    # 1: short, take-profit 990; 2: long x20 (liquidation 975); 3: long, stop-loss 980.
    # At 970 all three go, in id order whatever index each sits in.
    engine = make_engine(bid=1000)
    open_position(engine, SHORT, take_profit=990)
    open_position(engine, LONG, 5_000, 20)
    open_position(engine, LONG, stop_loss=980)

    closed = of_type(tick(engine, 970), PositionClosed)

    assert [(e.order_id, e.reason) for e in closed] == [
        (1, CloseReason.TAKE_PROFIT),
        (2, CloseReason.LIQUIDATED),
        (3, CloseReason.STOP_LOSS),
    ]


def test_tick_when_stop_losses_fire_together_closes_the_lower_id_first() -> None:
    # Two x2 longs (liquidation 750): 1 with stop-loss 960, 2 with stop-loss 990.
    engine = make_engine(bid=1000)
    open_position(engine, LONG, 10_000, 2, stop_loss=960)
    open_position(engine, LONG, 10_000, 2, stop_loss=990)

    closed = of_type(tick(engine, 950), PositionClosed)

    assert [e.order_id for e in closed] == [1, 2]


def test_tick_when_two_entries_cross_fills_them_by_ascending_order_id() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 980)
    place_pending(engine, LONG, LIMIT, 990)

    outcome = tick(engine, 975)

    assert kinds(outcome) == ["QuoteUpdated", "PositionOpened", "PositionOpened"]
    assert [e.order_id for e in of_type(outcome, PositionOpened)] == [1, 2]


def test_tick_when_liquidation_and_stop_loss_both_reached_closes_as_liquidated() -> None:
    # Long one unit at 1000: liquidation 950, stop-loss 960 (nearer). At 940 both are reached.
    engine = make_engine(bid=1000)
    open_position(engine, LONG, stop_loss=960)

    closed = only(tick(engine, 940), PositionClosed)

    assert (closed.reason, closed.close_price, closed.pnl) == (
        CloseReason.LIQUIDATED,
        940,
        -6_000,
    )


def test_tick_when_short_liquidation_and_stop_loss_both_reached_closes_as_liquidated() -> None:
    engine = make_engine(bid=1000)
    open_position(engine, SHORT, stop_loss=1040)

    assert only(tick(engine, 1060), PositionClosed).reason == CloseReason.LIQUIDATED


def test_tick_when_stop_loss_and_trailing_stop_both_reached_closes_as_stop_loss() -> None:
    engine = make_engine(bid=1000)
    open_position(engine, LONG, stop_loss=980, trailing_distance=20)

    assert only(tick(engine, 975), PositionClosed).reason == CloseReason.STOP_LOSS


def test_tick_when_liquidation_and_trailing_stop_both_reached_closes_as_liquidated() -> None:
    engine = make_engine(bid=1000)
    open_position(engine, LONG, trailing_distance=20)

    closed = of_type(tick(engine, 945), PositionClosed)

    assert [(e.order_id, e.reason) for e in closed] == [(1, CloseReason.LIQUIDATED)]


def test_tick_when_liquidation_and_take_profit_both_reached_closes_as_liquidated() -> None:
    # Long one unit at 1000 (liquidation 950). Feed 900 / 1040: mark 970 keeps it open while
    # its bid is 900, so a take-profit of 940 is above the closing price and accepted.
    # Feed 945 / 955: mark 950 reaches the liquidation price and bid 945 the take-profit.
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG)
    events_of(tick(engine, 900, 1040))
    events_of(engine.apply(modify(opened.order_id, take_profit=940)))

    closed = only(tick(engine, 945, 955), PositionClosed)

    # pnl = (945 - 1000) * 10^8 // 10^6 = -5,500
    assert (closed.reason, closed.close_price, closed.pnl) == (
        CloseReason.LIQUIDATED,
        945,
        -5_500,
    )


def test_tick_when_short_liquidation_and_take_profit_both_reached_closes_as_liquidated() -> None:
    # Short one unit at 1000 (liquidation 1050). Feed 960 / 1100: mark 1030, ask 1100, so a
    # take-profit of 1060 is below the closing price. Feed 1045 / 1055: mark 1050.
    engine = make_engine(bid=1000)
    opened = open_position(engine, SHORT)
    events_of(tick(engine, 960, 1100))
    events_of(engine.apply(modify(opened.order_id, take_profit=1060)))

    closed = only(tick(engine, 1045, 1055), PositionClosed)

    assert (closed.reason, closed.close_price, closed.pnl) == (
        CloseReason.LIQUIDATED,
        1055,
        -5_500,
    )


def test_tick_when_it_is_over_no_position_is_left_past_any_trigger() -> None:
    engine = make_engine(bid=1000)
    for stop_loss in (990, 980, 970, 960):
        open_position(engine, LONG, 10_000, 2, stop_loss=stop_loss)
    for take_profit in (990, 980, 970, 960):
        open_position(engine, SHORT, 10_000, 2, take_profit=take_profit)
    open_position(engine, LONG, 5_000, 20)  # liquidation 975
    open_position(engine, LONG, trailing_distance=15)

    for price in (1010, 995, 985, 975, 965, 968, 940):
        events_of(tick(engine, price))
        assert _nothing_left_past_a_trigger(engine)
    assert engine.state.positions == {}
