"""Pending entries: limit and stop on both sides, the fill at the quote, expiry, cancel,
OrderRejected on fill, and the margin they reserve and release."""

from __future__ import annotations

import pytest

from cryptocfd.core.money import Cents, PriceTicks, QtyUnits
from cryptocfd.trading.commands import OrderType, Side
from cryptocfd.trading.events import (
    OrderCancelled,
    OrderExpired,
    OrderPlaced,
    OrderRejected,
    PositionClosed,
    PositionOpened,
    QuoteUpdated,
)
from cryptocfd.trading.rejections import RejectCode
from tests.unit.trading.builders import (
    ACCOUNT,
    LIMIT,
    LONG,
    SHORT,
    STOP,
    T0,
    cancel,
    close,
    code_of,
    events_of,
    kinds,
    make_engine,
    only,
    open_position,
    order,
    place_pending,
    tick,
    view,
)

# -- placing --------------------------------------------------------------------------------


def test_place_buy_limit_when_below_ask_emits_order_placed_and_reserves_margin() -> None:
    engine = make_engine(bid=1000, balance=50_000)

    outcome = engine.apply(
        order(LONG, 10_000, 10, order_type=LIMIT, price=990, take_profit=1100, expires_at=T0 + 5)
    )

    assert events_of(outcome) == (
        OrderPlaced(
            1,
            ACCOUNT,
            "TST",
            LONG,
            LIMIT,
            PriceTicks(990),
            Cents(10_000),
            10,
            PriceTicks(1100),
            None,
            None,
            T0 + 5,
            T0,
        ),
    )
    assert view(engine).used_margin == 10_000
    assert view(engine).balance == 50_000
    assert view(engine).free_margin == 40_000
    assert engine.state.positions == {}


@pytest.mark.parametrize(
    ("side", "order_type", "crossing", "resting"),
    [
        # feed 990 / 1010: a buy watches the ask 1010, a sell the bid 990.
        (LONG, LIMIT, 1010, 1009),  # buy limit fills when ask <= price
        (LONG, STOP, 1010, 1011),  # buy stop fills when ask >= price
        (SHORT, LIMIT, 990, 991),  # sell limit fills when bid >= price
        (SHORT, STOP, 990, 989),  # sell stop fills when bid <= price
    ],
)
def test_place_pending_when_price_would_fill_at_once_rejects_invalid_order_price(
    side: Side, order_type: OrderType, crossing: int, resting: int
) -> None:
    engine = make_engine(bid=990, ask=1010)

    command = order(side, order_type=order_type, price=crossing)
    assert code_of(engine.apply(command)) == RejectCode.INVALID_ORDER_PRICE
    assert place_pending(engine, side, order_type, resting).price == resting


def test_place_pending_when_price_missing_or_not_positive_rejects_invalid_order_price() -> None:
    engine = make_engine(bid=1000)

    for order_type in (LIMIT, STOP):
        for price in (None, 0, -1):
            command = order(LONG, order_type=order_type, price=price)
            assert code_of(engine.apply(command)) == RejectCode.INVALID_ORDER_PRICE


def test_place_buy_limit_when_exits_checked_uses_the_order_price_not_the_quote() -> None:
    # Bid 1000, buy limit at 900: take-profit 901 is below today's bid but above 900.
    engine = make_engine(bid=1000)

    tp_at_price = order(LONG, order_type=LIMIT, price=900, take_profit=900)
    sl_at_price = order(LONG, order_type=LIMIT, price=900, stop_loss=900)
    assert code_of(engine.apply(tp_at_price)) == RejectCode.INVALID_TAKE_PROFIT
    assert code_of(engine.apply(sl_at_price)) == RejectCode.INVALID_STOP_LOSS
    placed = place_pending(engine, LONG, LIMIT, 900, take_profit=901, stop_loss=899)
    assert (placed.take_profit, placed.stop_loss) == (901, 899)


def test_place_sell_limit_when_exits_checked_uses_the_order_price_not_the_quote() -> None:
    engine = make_engine(bid=1000)

    tp_at_price = order(SHORT, order_type=LIMIT, price=1100, take_profit=1100)
    sl_at_price = order(SHORT, order_type=LIMIT, price=1100, stop_loss=1100)
    assert code_of(engine.apply(tp_at_price)) == RejectCode.INVALID_TAKE_PROFIT
    assert code_of(engine.apply(sl_at_price)) == RejectCode.INVALID_STOP_LOSS
    placed = place_pending(engine, SHORT, LIMIT, 1100, take_profit=1099, stop_loss=1101)
    assert (placed.take_profit, placed.stop_loss) == (1099, 1101)


def test_place_pending_when_reserved_margin_exhausts_free_margin_rejects_next_order() -> None:
    engine = make_engine(bid=1000, balance=15_000)
    place_pending(engine, LONG, LIMIT, 900, 10_000, 10)

    command = order(SHORT, 5_001, 10, order_type=LIMIT, price=1100)

    assert code_of(engine.apply(command)) == RejectCode.INSUFFICIENT_BALANCE
    assert code_of(engine.apply(order(LONG, 5_001, 10))) == RejectCode.INSUFFICIENT_BALANCE
    place_pending(engine, SHORT, LIMIT, 1100, 5_000, 10)


def test_place_pending_when_quantity_at_order_price_is_zero_rejects_position_too_small() -> None:
    # A buy stop at 1100 with margin 1,000 x1: 1,000 * 10^6 // 1100 = 909,090 < 10^6.
    # At 1000 the same margin would buy exactly one step; the order's price decides.
    engine = make_engine(bid=1000)

    command = order(LONG, 1_000, 1, order_type=STOP, price=1100)

    assert code_of(engine.apply(command)) == RejectCode.POSITION_TOO_SMALL


def test_place_pending_when_it_would_liquidate_at_its_price_is_still_placed() -> None:
    # WOULD_LIQUIDATE is not a placement check for limit and stop entries.
    engine = make_engine(bid=900, ask=1100)

    assert place_pending(engine, LONG, STOP, 1150, 10_000, 100).order_id == 1


@pytest.mark.parametrize("expires_at", [T0, T0 - 1])
def test_place_pending_when_expiry_not_in_the_future_rejects_invalid_expiry(
    expires_at: int,
) -> None:
    engine = make_engine(bid=1000)

    command = order(LONG, order_type=LIMIT, price=900, expires_at=expires_at)

    assert code_of(engine.apply(command)) == RejectCode.INVALID_EXPIRY


# -- filling --------------------------------------------------------------------------------


def test_tick_when_ask_falls_to_buy_limit_fills_at_the_ask_with_same_order_id() -> None:
    # Buy limit at 990. Ask 991: nothing. Ask 990: fills at 990.
    # q = 10,000 * 10 * 10^6 // 990 = 101,010,101 -> 101,000,000;
    # dist = 5 * 10^13 // (101,000,000 * 10^4) = 49: liquidation 941.
    engine = make_engine(bid=1000)
    placed = place_pending(engine, LONG, LIMIT, 990)

    assert kinds(tick(engine, 991)) == ["QuoteUpdated"]
    outcome = tick(engine, 990)

    opened = only(outcome, PositionOpened)
    assert opened == PositionOpened(
        placed.order_id,
        ACCOUNT,
        "TST",
        LONG,
        LIMIT,
        Cents(10_000),
        10,
        QtyUnits(101_000_000),
        PriceTicks(990),
        PriceTicks(941),
        None,
        None,
        None,
        T0,
    )
    assert engine.state.pending == {}
    assert view(engine).used_margin == 10_000


def test_tick_when_ask_gaps_below_buy_limit_fills_at_the_better_ask() -> None:
    # Ask 980 < 990: fills at 980. q = 10^11 // 980 = 102,040,816 -> 102,000,000;
    # dist = 5 * 10^13 // (102,000,000 * 10^4) = 49: liquidation 931.
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 990)

    opened = only(tick(engine, 980), PositionOpened)

    assert (opened.open_price, opened.quantity, opened.liquidation_price) == (
        980,
        102_000_000,
        931,
    )


def test_tick_when_ask_rises_to_buy_stop_fills_at_the_ask() -> None:
    # Buy stop at 1010, ask 1020: q = 10^11 // 1020 = 98,039,215 -> 98,000,000;
    # dist = 5 * 10^13 // (98,000,000 * 10^4) = 51: liquidation 969.
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, STOP, 1010)

    assert kinds(tick(engine, 1009)) == ["QuoteUpdated"]
    opened = only(tick(engine, 1020), PositionOpened)

    assert (opened.side, opened.order_type, opened.open_price, opened.quantity) == (
        LONG,
        STOP,
        1020,
        98_000_000,
    )
    assert opened.liquidation_price == 969


def test_tick_when_bid_rises_to_sell_limit_fills_at_the_bid() -> None:
    # Sell limit at 1010, bid 1015: q = 10^11 // 1015 -> 98,000,000; dist 51: liq 1066.
    engine = make_engine(bid=1000)
    place_pending(engine, SHORT, LIMIT, 1010)

    assert kinds(tick(engine, 1009)) == ["QuoteUpdated"]
    opened = only(tick(engine, 1015), PositionOpened)

    assert (opened.side, opened.open_price, opened.quantity, opened.liquidation_price) == (
        SHORT,
        1015,
        98_000_000,
        1066,
    )


def test_tick_when_bid_falls_to_sell_stop_fills_at_the_bid() -> None:
    # Sell stop at 990, bid 985: q = 10^11 // 985 -> 101,000,000; dist 49: liq 1034.
    engine = make_engine(bid=1000)
    place_pending(engine, SHORT, STOP, 990)

    assert kinds(tick(engine, 991)) == ["QuoteUpdated"]
    opened = only(tick(engine, 985), PositionOpened)

    assert (opened.side, opened.open_price, opened.quantity, opened.liquidation_price) == (
        SHORT,
        985,
        101_000_000,
        1034,
    )


def test_tick_when_only_the_bid_crosses_a_buy_limit_does_not_fill() -> None:
    # A buy watches the ask: bid 985 is below 990, ask 995 is not.
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 990)

    assert kinds(tick(engine, 985, 995)) == ["QuoteUpdated"]
    assert list(engine.state.pending) == [1]


def test_tick_when_only_the_ask_crosses_a_sell_limit_does_not_fill() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, SHORT, LIMIT, 1010)

    assert kinds(tick(engine, 1005, 1015)) == ["QuoteUpdated"]
    assert list(engine.state.pending) == [1]


def test_tick_when_entry_fills_keeps_reserved_margin_and_next_id_follows() -> None:
    # The reserved 10,000 now backs the position: used margin neither doubles nor drops.
    engine = make_engine(bid=1000, balance=20_000)
    place_pending(engine, LONG, LIMIT, 990, 10_000, 10)
    only(tick(engine, 990), PositionOpened)

    assert view(engine).used_margin == 10_000
    assert view(engine).balance == 20_000
    assert open_position(engine, SHORT, 10_000, 10).order_id == 2
    assert view(engine).used_margin == 20_000


def test_tick_when_filled_position_carries_the_entry_exits() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 990, take_profit=1050, stop_loss=950, trailing_distance=30)

    opened = only(tick(engine, 990), PositionOpened)

    assert (opened.take_profit, opened.stop_loss, opened.trailing_distance) == (1050, 950, 30)
    position = engine.state.positions[opened.order_id]
    assert position.trail_group is not None
    assert position.trail_group.extreme == 990


def test_tick_when_entry_fills_and_its_stop_loss_is_reached_closes_on_the_same_tick() -> None:
    # Buy limit at 990 with stop-loss 985: the ask gaps to 980, it fills at 980 and the bid
    # 980 <= 985 stops it out at once, pnl (980 - 980) * q // 10^6 = 0.
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 990, stop_loss=985)

    outcome = tick(engine, 980)

    assert kinds(outcome) == ["QuoteUpdated", "PositionOpened", "PositionClosed"]
    closed = only(outcome, PositionClosed)
    assert (closed.reason, closed.close_price, closed.pnl) == ("stop_loss", 980, 0)
    assert view(engine).used_margin == 0


# -- rejected on fill -----------------------------------------------------------------------


def test_tick_when_stop_fills_too_high_for_one_step_emits_order_rejected_position_too_small() -> (
    None
):
    # Buy stop at 1010, margin 101 x10: at 1010, 1,010 * 10^6 // 1010 = 10^6 (one step).
    # The ask gaps to 1020: 1,010 * 10^6 // 1020 = 990,196 -> 0: rejected, margin released.
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, STOP, 1010, 101, 10)
    assert view(engine).used_margin == 101

    outcome = tick(engine, 1020)

    assert kinds(outcome) == ["QuoteUpdated", "OrderRejected"]
    assert only(outcome, OrderRejected) == OrderRejected(
        1, ACCOUNT, Cents(101), RejectCode.POSITION_TOO_SMALL, T0
    )
    assert view(engine).used_margin == 0
    assert engine.state.pending == {}
    assert engine.state.positions == {}


def test_tick_when_long_entry_would_be_liquidated_at_fill_emits_order_rejected() -> None:
    # Buy limit at 990 x100. Feed 880 / 980 (mark 930): fills at the ask 980,
    # q = 10^12 // 980 -> 1,020,000,000; dist = 5 * 10^13 // (1.02 * 10^13) = 4:
    # liquidation 980 - 4 = 976, and the mark 930 is already below it: WOULD_LIQUIDATE.
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 990, 10_000, 100)

    outcome = tick(engine, 880, 980)

    rejected = only(outcome, OrderRejected)
    assert (rejected.order_id, rejected.code, rejected.margin) == (
        1,
        RejectCode.WOULD_LIQUIDATE,
        10_000,
    )
    assert view(engine).used_margin == 0


def test_tick_when_short_entry_would_be_liquidated_at_fill_emits_order_rejected() -> None:
    # Sell limit at 1010 x100. Feed 1020 / 1120 (mark 1070): fills at the bid 1020,
    # q = 10^12 // 1020 -> 980,000,000; dist = 5 * 10^13 // (9.8 * 10^12) = 5: liquidation
    # 1025 <= mark 1070: WOULD_LIQUIDATE.
    engine = make_engine(bid=1000)
    place_pending(engine, SHORT, LIMIT, 1010, 10_000, 100)

    rejected = only(tick(engine, 1020, 1120), OrderRejected)

    assert rejected.code == RejectCode.WOULD_LIQUIDATE
    assert engine.state.positions == {}


def test_tick_when_entry_rejected_on_fill_does_not_consume_an_order_id() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, STOP, 1010, 101, 10)
    only(tick(engine, 1020), OrderRejected)

    assert open_position(engine, LONG).order_id == 2


# -- expiry ---------------------------------------------------------------------------------


def test_tick_when_at_expiry_time_expires_the_entry_and_releases_margin() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 900, expires_at=T0 + 5_000)

    assert kinds(tick(engine, 1000, ts=T0 + 4_999)) == ["QuoteUpdated"]
    outcome = tick(engine, 1000, ts=T0 + 5_000)

    assert kinds(outcome) == ["QuoteUpdated", "OrderExpired"]
    assert only(outcome, OrderExpired) == OrderExpired(1, ACCOUNT, Cents(10_000), T0 + 5_000)
    assert engine.state.pending == {}
    assert view(engine).used_margin == 0


def test_tick_when_expiring_entry_is_also_crossed_expires_instead_of_filling() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 990, expires_at=T0 + 5_000)

    outcome = tick(engine, 980, ts=T0 + 6_000)

    assert kinds(outcome) == ["QuoteUpdated", "OrderExpired"]
    assert engine.state.positions == {}


def test_tick_when_of_another_asset_does_not_expire_the_entry() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 900, expires_at=T0 + 5_000)

    assert kinds(tick(engine, 6_000_000, asset="BTC", ts=T0 + 9_000)) == ["QuoteUpdated"]
    assert list(engine.state.pending) == [1]


def test_tick_when_held_past_expiry_does_not_expire_the_entry() -> None:
    # Nothing happens on a held tick; the next accepted tick expires the entry.
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 900, expires_at=T0 + 5_000)

    assert kinds(tick(engine, 2000, ts=T0 + 6_000)) == ["TickHeld"]
    assert list(engine.state.pending) == [1]
    assert kinds(tick(engine, 1000, ts=T0 + 7_000)) == ["QuoteUpdated", "OrderExpired"]


def test_tick_when_entry_has_no_expiry_keeps_it_pending() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 900)

    for minutes in range(1, 4):
        events_of(tick(engine, 1000, ts=T0 + minutes * 86_400_000))
    assert list(engine.state.pending) == [1]


# -- cancel ---------------------------------------------------------------------------------


def test_cancel_order_when_pending_emits_order_cancelled_and_releases_margin() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, SHORT, STOP, 950, 7_000, 10)

    outcome = engine.apply(cancel(1))

    assert events_of(outcome) == (OrderCancelled(1, ACCOUNT, Cents(7_000), T0),)
    assert view(engine).used_margin == 0
    assert engine.state.pending == {}


def test_tick_when_entry_was_cancelled_does_not_fill_it() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 990)
    events_of(engine.apply(cancel(1)))

    assert kinds(tick(engine, 980)) == ["QuoteUpdated"]
    assert engine.state.positions == {}


def test_cancel_order_when_already_cancelled_rejects_order_not_found() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 990)
    events_of(engine.apply(cancel(1)))

    assert code_of(engine.apply(cancel(1))) == RejectCode.ORDER_NOT_FOUND


def test_cancel_order_when_entry_already_filled_rejects_order_not_found() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 990)
    only(tick(engine, 990), PositionOpened)

    assert code_of(engine.apply(cancel(1))) == RejectCode.ORDER_NOT_FOUND
    assert 1 in engine.state.positions


def test_cancel_order_when_id_unknown_rejects_order_not_found() -> None:
    engine = make_engine(bid=1000)

    assert code_of(engine.apply(cancel(42))) == RejectCode.ORDER_NOT_FOUND


def test_cancel_order_when_account_unknown_rejects_unknown_account() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 990)

    assert code_of(engine.apply(cancel(1, account_id=99))) == RejectCode.UNKNOWN_ACCOUNT


def test_close_position_when_id_is_a_pending_entry_rejects_order_not_found() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 990)

    assert code_of(engine.apply(close(1))) == RejectCode.ORDER_NOT_FOUND


def test_quote_updated_when_entry_fills_comes_first_in_the_tick() -> None:
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, LIMIT, 990)

    events = events_of(tick(engine, 990, ts=T0 + 1))

    assert events[0] == QuoteUpdated(
        "TST", PriceTicks(990), PriceTicks(990), PriceTicks(990), T0 + 1
    )
    assert isinstance(events[1], PositionOpened)
    assert events[1].ts == T0 + 1


def test_place_pending_when_stop_loss_at_liquidation_at_its_price_rejects_stop_beyond() -> None:
    # Buy limit at 900, 10,000 x10: 1.11 units, liquidation 900 - 45 = 855 at its price.
    engine = make_engine(bid=1000)

    at = order(LONG, order_type=LIMIT, price=900, stop_loss=855)
    assert code_of(engine.apply(at)) == RejectCode.STOP_LOSS_BEYOND_LIQUIDATION
    assert view(engine).used_margin == 0
    assert place_pending(engine, LONG, LIMIT, 900, stop_loss=856).stop_loss == 856


def test_place_sell_pending_when_stop_loss_at_liquidation_rejects_stop_beyond() -> None:
    # Sell limit at 1100, 10,000 x10: 0.90 units, liquidation 1100 + 5 * 10^13 // (9 * 10^11)
    # = 1100 + 55 = 1155.
    engine = make_engine(bid=1000)

    at = order(SHORT, order_type=LIMIT, price=1100, stop_loss=1155)
    assert code_of(engine.apply(at)) == RejectCode.STOP_LOSS_BEYOND_LIQUIDATION
    assert place_pending(engine, SHORT, LIMIT, 1100, stop_loss=1154).stop_loss == 1154


def test_tick_when_stop_fills_worse_and_stop_loss_is_past_the_new_liquidation_emits_rejected() -> (
    None
):
    # Buy stop at 1010, 10,000 x10: liquidation 1010 - 5 * 10^13 // (9.9 * 10^11) = 960 at its
    # price, so a stop-loss at 965 is placed. The ask gaps to 1100: 0.90 units, liquidation
    # 1100 - 55 = 1045, above the stop-loss, which could then never fire: the fill is refused.
    engine = make_engine(bid=1000)
    place_pending(engine, LONG, STOP, 1010, stop_loss=965)

    outcome = tick(engine, 1100)

    rejected = only(outcome, OrderRejected)
    assert (rejected.code, rejected.margin) == (RejectCode.STOP_LOSS_BEYOND_LIQUIDATION, 10_000)
    assert engine.state.positions == {}
    assert view(engine).used_margin == 0
