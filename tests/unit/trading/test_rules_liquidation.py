"""Liquidation: on the mark, at the closing price, with negative balance protection; the house
balance moves opposite to the trader's."""

from __future__ import annotations

from cryptocfd.core.money import Cents, PriceTicks, QtyUnits
from cryptocfd.trading.events import CloseReason, PositionClosed
from tests.unit.trading.builders import (
    ACCOUNT,
    LONG,
    OTHER,
    SHORT,
    T0,
    UNIT,
    events_of,
    kinds,
    make_engine,
    money_is_conserved,
    only,
    open_position,
    tick,
    view,
)


def test_tick_when_mark_falls_to_long_liquidation_price_liquidates_at_the_bid() -> None:
    # One unit long at 1000 with margin 10,000: dist = 10,000 * 5,000 * 10^6 // (10^8 * 10^4)
    # = 50, liquidation 950. At 950: pnl = (950 - 1000) * 10^8 // 10^6 = -5,000.
    engine = make_engine(bid=1000, balance=50_000)
    opened = open_position(engine, LONG)
    assert opened.liquidation_price == 950

    assert kinds(tick(engine, 951)) == ["QuoteUpdated", "MarginCalled"]
    outcome = tick(engine, 950)

    assert only(outcome, PositionClosed) == PositionClosed(
        opened.order_id,
        ACCOUNT,
        "TST",
        LONG,
        CloseReason.LIQUIDATED,
        QtyUnits(UNIT),
        Cents(10_000),
        PriceTicks(1000),
        PriceTicks(950),
        Cents(-5_000),
        QtyUnits(0),
        Cents(0),
        None,
        T0,
        10,  # the position's leverage
        T0,  # and when it opened
    )
    assert view(engine).balance == 45_000
    assert view(engine).used_margin == 0
    assert engine.state.house_balance == 5_000
    assert money_is_conserved(engine)


def test_tick_when_mark_rises_to_short_liquidation_price_liquidates_at_the_ask() -> None:
    engine = make_engine(bid=1000, balance=50_000)
    opened = open_position(engine, SHORT)
    assert opened.liquidation_price == 1050

    assert kinds(tick(engine, 1049)) == ["QuoteUpdated", "MarginCalled"]
    closed = only(tick(engine, 1050), PositionClosed)

    assert (closed.reason, closed.close_price, closed.pnl) == (CloseReason.LIQUIDATED, 1050, -5_000)
    assert engine.state.house_balance == 5_000


def test_tick_when_bid_passes_long_liquidation_but_mark_does_not_keeps_the_position() -> None:
    # Feed 940 / 962: the bid is below 950 but the mark (940 + 962) // 2 = 951 is not.
    engine = make_engine(bid=1000)
    open_position(engine, LONG)

    assert kinds(tick(engine, 940, 962)) == ["QuoteUpdated", "MarginCalled"]
    closed = only(tick(engine, 940, 960), PositionClosed)  # mark 950

    # Closed at the bid 940: pnl = -60 * 100 = -6,000.
    assert (closed.reason, closed.close_price, closed.pnl) == (CloseReason.LIQUIDATED, 940, -6_000)


def test_tick_when_ask_passes_short_liquidation_but_mark_does_not_keeps_the_position() -> None:
    # Feed 1040 / 1058: ask above 1050, mark 1049.
    engine = make_engine(bid=1000)
    open_position(engine, SHORT)

    assert kinds(tick(engine, 1040, 1058)) == ["QuoteUpdated", "MarginCalled"]
    assert only(tick(engine, 1042, 1058), PositionClosed).close_price == 1058  # mark 1050


def test_tick_when_price_gaps_through_liquidation_caps_the_loss_at_the_margin() -> None:
    # One unit long with margin 5,000 x20: q = 5,000 * 20 * 10^6 // 1000 = 10^8,
    # dist = 5,000 * 5,000 * 10^6 // (10^8 * 10^4) = 25: liquidation 975.
    # The price gaps to 900: (900 - 1000) * 10^8 // 10^6 = -10,000, capped at -5,000.
    engine = make_engine(bid=1000, balance=5_000)
    opened = open_position(engine, LONG, 5_000, 20)
    assert opened.liquidation_price == 975

    closed = only(tick(engine, 900), PositionClosed)

    assert (closed.reason, closed.close_price, closed.pnl) == (CloseReason.LIQUIDATED, 900, -5_000)
    assert view(engine).balance == 0
    assert engine.state.house_balance == 5_000
    assert money_is_conserved(engine)


def test_tick_when_short_gaps_through_liquidation_caps_the_loss_at_the_margin() -> None:
    # Short one unit with 5,000 x20 at 1000: liquidation 1025. Gap to 1100: raw -10,000.
    engine = make_engine(bid=1000, balance=5_000)
    open_position(engine, SHORT, 5_000, 20)

    closed = only(tick(engine, 1100), PositionClosed)

    assert closed.pnl == -5_000
    assert view(engine).balance == 0


def test_account_view_when_position_is_past_the_cap_counts_only_the_margin_as_loss() -> None:
    # Feed 850 / 1100 keeps the mark at 975 (above 950): the long lives, its raw loss at the
    # bid is -15,000 but only -10,000 (its margin) counts.
    engine = make_engine(bid=1000, balance=10_000)
    open_position(engine, LONG)
    events_of(tick(engine, 850, 1100))

    figures = view(engine)

    assert (figures.unrealized_pnl, figures.equity, figures.margin_level_bps) == (-10_000, 0, 0)


def test_tick_when_two_traders_are_liquidated_house_collects_both_margins() -> None:
    # ACCOUNT long and OTHER short, each one unit at 1000 x10. Down to 950 liquidates the long
    # (-5,000); back through 1000 (a jump from 950 to 1050 would be held by the 10% band) and
    # up to 1050 liquidates the short (-5,000).
    engine = make_engine(bid=1000, accounts=(ACCOUNT, OTHER), balance=10_000)
    open_position(engine, LONG)
    open_position(engine, SHORT, account_id=OTHER)

    only(tick(engine, 950), PositionClosed)
    assert engine.state.house_balance == 5_000
    events_of(tick(engine, 1000))
    only(tick(engine, 1050), PositionClosed)

    assert engine.state.house_balance == 10_000
    assert (view(engine).balance, view(engine, OTHER).balance) == (5_000, 5_000)
    assert money_is_conserved(engine)


def test_tick_when_trader_profits_house_balance_goes_down_by_the_same_amount() -> None:
    engine = make_engine(bid=1000)
    open_position(engine, LONG, take_profit=1080)

    closed = only(tick(engine, 1080), PositionClosed)

    assert closed.pnl == 8_000
    assert engine.state.house_balance == -8_000
    assert money_is_conserved(engine)


def test_tick_when_one_position_liquidates_the_accounts_other_positions_stay_isolated() -> None:
    # A x20 long (liquidation 975) and a x2 long (0.2 unit, liquidation 1000 - 250 = 750).
    engine = make_engine(bid=1000, balance=100_000)
    risky = open_position(engine, LONG, 5_000, 20).order_id
    safe = open_position(engine, LONG, 10_000, 2).order_id

    closed = only(tick(engine, 975), PositionClosed)

    assert closed.order_id == risky
    assert list(engine.state.positions) == [safe]
    # (975 - 1000) * 2 * 10^7 // 10^6 = -500 unrealized on the survivor.
    assert view(engine).unrealized_pnl == -500
