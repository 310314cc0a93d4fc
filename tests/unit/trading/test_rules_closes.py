"""Closing positions: in full, in part (rounded to the step), the remainder's new liquidation
price, rounding toward the house and the checks a close makes."""

from __future__ import annotations

import pytest

from cryptocfd.core.money import Cents, PriceTicks, QtyUnits
from cryptocfd.trading.events import CloseReason, PositionClosed
from cryptocfd.trading.rejections import RejectCode
from tests.unit.trading.builders import (
    ACCOUNT,
    LONG,
    OTHER,
    SHORT,
    T0,
    UNIT,
    close,
    code_of,
    events_of,
    kinds,
    make_engine,
    money_is_conserved,
    only,
    open_position,
    tick,
    view,
)


def test_close_position_when_full_closes_everything_at_the_bid_for_a_long() -> None:
    # One unit long at 1000, bid 1020: pnl = (1020 - 1000) * 10^8 // 10^6 = 2,000.
    engine = make_engine(bid=1000, balance=50_000)
    opened = open_position(engine, LONG, take_profit=1100, stop_loss=960, trailing_distance=30)
    events_of(tick(engine, 1020, ts=T0 + 1))

    outcome = engine.apply(close(opened.order_id, ts=T0 + 2))

    assert events_of(outcome) == (
        PositionClosed(
            opened.order_id,
            ACCOUNT,
            "TST",
            LONG,
            CloseReason.CLOSED,
            QtyUnits(UNIT),
            Cents(10_000),
            PriceTicks(1000),
            PriceTicks(1020),
            Cents(2_000),
            QtyUnits(0),
            Cents(0),
            None,
            T0 + 2,
            10,  # the position's leverage
            T0,  # and when it opened
        ),
    )
    assert view(engine).balance == 52_000
    assert view(engine).used_margin == 0
    assert engine.state.positions == {}
    assert engine.state.house_balance == -2_000
    assert money_is_conserved(engine)
    # Its exits are gone with it: nothing fires afterwards.
    for price in (1100, 1000, 900):
        assert kinds(tick(engine, price, ts=T0 + 3)) == ["QuoteUpdated"]


def test_close_position_when_short_in_loss_closes_at_the_ask_and_debits_the_loss() -> None:
    # One unit short at the bid 1000; feed 1010 / 1030: closes at the ask 1030,
    # pnl = (1000 - 1030) * 10^8 // 10^6 = -3,000.
    engine = make_engine(bid=1000, balance=50_000)
    opened = open_position(engine, SHORT)
    events_of(tick(engine, 1010, 1030))

    closed = only(engine.apply(close(opened.order_id)), PositionClosed)

    assert (closed.side, closed.close_price, closed.pnl) == (SHORT, 1030, -3_000)
    assert view(engine).balance == 47_000
    assert engine.state.house_balance == 3_000


def test_close_position_when_loss_has_a_fraction_of_a_cent_rounds_toward_the_house() -> None:
    # BTC feed 6,000,000 both sides: house bid 5,998,800, ask 6,001,200 (2 bps each side).
    # Long 10,000 x10 at 6,001,200: q = 100,000 * 10^8 // 6,001,200 = 1,666,333 -> 1,666,300.
    # Closing at 5,998,800: -2,400 * 1,666,300 / 10^8 = -39.9912 -> floored to -40.
    engine = make_engine(bid=6_000_000, asset="BTC")
    opened = open_position(engine, LONG, 10_000, 10, asset="BTC")
    assert (opened.open_price, opened.quantity) == (6_001_200, 1_666_300)

    assert only(engine.apply(close(opened.order_id)), PositionClosed).pnl == -40


def test_close_position_when_profit_has_a_fraction_of_a_cent_rounds_toward_the_house() -> None:
    # As above; feed 6,010,000: house bid 6,010,000 - 1,202 = 6,008,798.
    # (6,008,798 - 6,001,200) * 1,666,300 / 10^8 = 126.6055 -> floored to 126.
    engine = make_engine(bid=6_000_000, asset="BTC")
    opened = open_position(engine, LONG, 10_000, 10, asset="BTC")
    events_of(tick(engine, 6_010_000, asset="BTC"))

    closed = only(engine.apply(close(opened.order_id)), PositionClosed)

    assert (closed.close_price, closed.pnl) == (6_008_798, 126)


def test_close_position_when_partial_rounds_quantity_down_to_the_step_and_reprices_remainder() -> (
    None
):
    # One unit (10^8) long at 1000, margin 10,000; bid 1020; close 33.33%:
    #   qty    = 10^8 * 3,333 // 10,000 = 33,330,000 -> step 10^6 -> 33,000,000
    #   margin = 10,000 * 3,333 // 10,000 = 3,333
    #   pnl    = (1020 - 1000) * 33,000,000 // 10^6 = 660
    # The remainder, 67,000,000 with margin 6,667, keeps its open price 1000:
    #   dist = 6,667 * 5,000 * 10^6 // (67,000,000 * 10,000) = 49 (49.75 floored): liq 951.
    engine = make_engine(bid=1000, balance=50_000)
    opened = open_position(engine, LONG)
    assert opened.liquidation_price == 950
    events_of(tick(engine, 1020))

    outcome = engine.apply(close(opened.order_id, 3_333))

    assert events_of(outcome) == (
        PositionClosed(
            opened.order_id,
            ACCOUNT,
            "TST",
            LONG,
            CloseReason.CLOSED,
            QtyUnits(33_000_000),
            Cents(3_333),
            PriceTicks(1000),
            PriceTicks(1020),
            Cents(660),
            QtyUnits(67_000_000),
            Cents(6_667),
            PriceTicks(951),
            T0,
            10,  # the position's leverage
            T0,  # and when it opened
        ),
    )
    position = engine.state.positions[opened.order_id]
    assert (position.quantity, position.margin, position.open_price) == (67_000_000, 6_667, 1000)
    assert position.liquidation_price == 951
    assert view(engine).used_margin == 6_667
    assert view(engine).balance == 50_660


def test_tick_when_partially_closed_remainder_reaches_its_new_liquidation_price_liquidates() -> (
    None
):
    # The remainder above liquidates at 951, not at the original 950:
    # pnl = (951 - 1000) * 67,000,000 // 10^6 = -3,283.
    engine = make_engine(bid=1000, balance=50_000)
    opened = open_position(engine, LONG)
    events_of(tick(engine, 1020))
    events_of(engine.apply(close(opened.order_id, 3_333)))

    assert kinds(tick(engine, 952)) == ["QuoteUpdated", "MarginCalled"]
    closed = only(tick(engine, 951), PositionClosed)

    assert (closed.reason, closed.quantity, closed.margin, closed.pnl) == (
        "liquidated",
        67_000_000,
        6_667,
        -3_283,
    )
    assert view(engine).used_margin == 0


def test_close_position_when_short_partial_moves_liquidation_price() -> None:
    # One unit short at 1000 (liq 1050); close 25.5%: qty 25,500,000 -> 25,000,000,
    # margin 10,000 * 2,550 // 10,000 = 2,550. Remainder 75,000,000 with 7,450:
    # dist = 7,450 * 5,000 * 10^6 // (75,000,000 * 10^4) = 49 (49.67 floored): liq 1049.
    engine = make_engine(bid=1000)
    opened = open_position(engine, SHORT)

    closed = only(engine.apply(close(opened.order_id, 2_550)), PositionClosed)

    assert (closed.quantity, closed.margin, closed.pnl) == (25_000_000, 2_550, 0)
    assert (closed.remaining_quantity, closed.remaining_margin) == (75_000_000, 7_450)
    assert closed.liquidation_price == 1049
    assert kinds(tick(engine, 1048)) == ["QuoteUpdated", "MarginCalled"]
    assert only(tick(engine, 1049), PositionClosed).reason == "liquidated"


def test_close_position_when_partial_keeps_the_remainders_exits() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG, take_profit=1030)
    events_of(engine.apply(close(opened.order_id, 5_000)))

    closed = only(tick(engine, 1030), PositionClosed)

    # pnl = 30 * 50,000,000 // 10^6 = 1,500
    assert (closed.reason, closed.quantity, closed.margin, closed.pnl) == (
        "take_profit",
        50_000_000,
        5_000,
        1_500,
    )


def test_close_position_when_partial_then_rest_closes_whole_quantity_and_margin() -> None:
    engine = make_engine(bid=1000, balance=20_000)
    opened = open_position(engine, LONG)
    events_of(engine.apply(close(opened.order_id, 5_000)))
    events_of(engine.apply(close(opened.order_id, 5_000)))  # half of what is left

    last = only(engine.apply(close(opened.order_id)), PositionClosed)

    assert (last.quantity, last.margin, last.remaining_quantity) == (25_000_000, 2_500, 0)
    assert view(engine).used_margin == 0
    assert view(engine).balance == 20_000


def test_close_position_when_quantity_share_rounds_to_zero_rejects_close_too_small() -> None:
    # 10^8 * 99 // 10,000 = 990,000: less than one 10^6 step. 100 bps is exactly one step.
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG)

    assert code_of(engine.apply(close(opened.order_id, 99))) == RejectCode.CLOSE_TOO_SMALL
    assert engine.state.positions[opened.order_id].quantity == 100_000_000
    closed = only(engine.apply(close(opened.order_id, 100)), PositionClosed)
    assert (closed.quantity, closed.margin) == (1_000_000, 100)


def test_close_position_when_margin_share_rounds_to_zero_rejects_close_too_small() -> None:
    # BTC long with margin 1 cent x100 at the house ask 6,001,200:
    # q = 100 * 10^8 // 6,001,200 = 1,666 -> 1,600 (step 100). Half: 800 units but
    # 1 * 5,000 // 10,000 = 0 cents of margin.
    engine = make_engine(bid=6_000_000, asset="BTC")
    opened = open_position(engine, LONG, 1, 100, asset="BTC")
    assert opened.quantity == 1_600

    assert code_of(engine.apply(close(opened.order_id, 5_000))) == RejectCode.CLOSE_TOO_SMALL


@pytest.mark.parametrize("fraction_bps", [0, -1, 10_001])
def test_close_position_when_fraction_out_of_range_rejects_invalid_fraction(
    fraction_bps: int,
) -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG)

    outcome = engine.apply(close(opened.order_id, fraction_bps))

    assert code_of(outcome) == RejectCode.INVALID_FRACTION


def test_close_position_when_everything_is_wrong_rejects_in_the_documented_order() -> None:
    engine = make_engine(bid=1000, accounts=(ACCOUNT, OTHER))
    opened = open_position(engine, LONG)
    stale = T0 + 10_001

    bad = [
        (close(opened.order_id, 0, account_id=99, ts=stale), RejectCode.UNKNOWN_ACCOUNT),
        (close(opened.order_id, 0, account_id=OTHER, ts=stale), RejectCode.ORDER_NOT_FOUND),
        (close(55, 0, ts=stale), RejectCode.ORDER_NOT_FOUND),
        (close(opened.order_id, 0, ts=stale), RejectCode.INVALID_FRACTION),
        (close(opened.order_id, 1, ts=stale), RejectCode.PRICE_STALE),
        (close(opened.order_id, 1), RejectCode.CLOSE_TOO_SMALL),
    ]
    for command, expected in bad:
        assert code_of(engine.apply(command)) == expected
    only(engine.apply(close(opened.order_id, 10_000)), PositionClosed)


def test_close_position_when_already_closed_rejects_order_not_found() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG)
    events_of(engine.apply(close(opened.order_id)))

    assert code_of(engine.apply(close(opened.order_id))) == RejectCode.ORDER_NOT_FOUND


def test_close_position_when_loss_exceeds_margin_caps_pnl_at_minus_margin() -> None:
    # Feed 850 / 1100: mark 975 is above the liquidation price 950, so the position lives,
    # but a long closes at the bid 850: (850 - 1000) * 10^8 // 10^6 = -15,000, capped at the
    # margin: -10,000.
    engine = make_engine(bid=1000, balance=30_000)
    opened = open_position(engine, LONG)
    events_of(tick(engine, 850, 1100))
    assert view(engine).unrealized_pnl == -10_000

    closed = only(engine.apply(close(opened.order_id)), PositionClosed)

    assert closed.pnl == -10_000
    assert view(engine).balance == 20_000
    assert engine.state.house_balance == 10_000


def test_close_position_when_partial_loss_exceeds_its_margin_share_caps_at_that_share() -> None:
    # Same quote; closing half: (850 - 1000) * 50,000,000 // 10^6 = -7,500, capped at the
    # released margin 5,000.
    engine = make_engine(bid=1000, balance=30_000)
    opened = open_position(engine, LONG)
    events_of(tick(engine, 850, 1100))

    closed = only(engine.apply(close(opened.order_id, 5_000)), PositionClosed)

    assert (closed.pnl, closed.margin, closed.liquidation_price) == (-5_000, 5_000, 950)
