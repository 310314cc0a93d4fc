"""Worked examples on BTC, with every number worked out by hand in the comments.

BTC: price_decimals 2 (a price of 6,000,000 ticks is 60,000.00 USD), quantity_decimals 6,
maintenance 5000 bps, spread markup 4 bps in all (2 bps a side).

    D    = 10^(price_decimals + 6) = 10^8        price * quantity // D is cents
    step = 10^(8 - quantity_decimals) = 100      quantities are multiples of 100 (1e-6 BTC)

The account holds 1,000,000 cents (10,000.00 USD). Each trade puts up margin 100,000 cents
(1,000.00 USD) at leverage 10, so its notional is 1,000,000 cents.

Opening quote, feed bid 5,999,000 / ask 6,001,000:

    markup on the bid = ceil(5,999,000 * 4 / 20,000) = ceil(1,199.8) = 1,200
    markup on the ask = ceil(6,001,000 * 4 / 20,000) = ceil(1,200.2) = 1,201
    house bid = 5,999,000 - 1,200 = 5,997,800     (59,978.00)
    house ask = 6,001,000 + 1,201 = 6,002,201     (60,022.01)
    mark      = (5,999,000 + 6,001,000) // 2 = 6,000,000

The long
    opens at the ask 6,002,201 and closes at the bid.
    q    = 1,000,000 * 10^8 // 6,002,201 = 16,660,555      (10^14 = 6,002,201 * 16,660,555
                                                            + 118,445)
    qty  = 16,660,555 - 16,660,555 % 100 = 16,660,500       (0.166605 BTC)
    dist = 100,000 * (10,000 - 5,000) * 10^8 // (16,660,500 * 10,000)
         = 5 * 10^16 // 166,605,000,000 = 300,111          (300,111.04 floored)
    liq  = 6,002,201 - 300,111 = 5,702,090                  (fires when mark <= 5,702,090)

The short
    opens at the bid 5,997,800 and closes at the ask.
    q    = 1,000,000 * 10^8 // 5,997,800 = 16,672,780      (remainder 116,000)
    qty  = 16,672,700                                       (0.166727 BTC)
    dist = 5 * 10^16 // (16,672,700 * 10,000) = 299,891    (299,891.44 floored)
    liq  = 5,997,800 + 299,891 = 6,297,691                  (fires when mark >= 6,297,691)
"""

from __future__ import annotations

from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import CloseReason, PositionClosed, PositionOpened
from tests.unit.trading.builders import (
    ACCOUNT,
    LONG,
    SHORT,
    T0,
    close,
    events_of,
    kinds,
    make_engine,
    money_is_conserved,
    only,
    open_position,
    tick,
    view,
)

BALANCE = 1_000_000
MARGIN = 100_000
LEVERAGE = 10


def _btc_engine() -> Engine:
    """The account and the opening quote (house 5,997,800 / 6,002,201, mark 6,000,000)."""
    engine = make_engine(bid=5_999_000, ask=6_001_000, asset="BTC", balance=BALANCE)
    quote = engine.state.assets["BTC"].quote
    assert quote is not None
    assert (quote.bid, quote.ask, quote.mark) == (5_997_800, 6_002_201, 6_000_000)
    return engine


def _open(engine: Engine, side: str) -> PositionOpened:
    return open_position(engine, LONG if side == "long" else SHORT, MARGIN, LEVERAGE, asset="BTC")


def test_btc_spec_when_used_for_the_worked_examples_has_the_stated_parameters() -> None:
    btc = next(spec for spec in DEFAULT_ASSETS if spec.symbol == "BTC")

    assert (btc.price_decimals, btc.quantity_decimals) == (2, 6)
    assert (btc.maintenance_bps, btc.spread_markup_bps) == (5000, 4)
    assert (btc.value_divisor, btc.quantity_step) == (10**8, 100)


# -- the long -------------------------------------------------------------------------------


def test_btc_long_when_opened_fills_at_the_ask_with_the_worked_quantity_and_liquidation() -> None:
    engine = _btc_engine()

    opened = _open(engine, "long")

    assert (opened.open_price, opened.quantity, opened.liquidation_price) == (
        6_002_201,
        16_660_500,
        5_702_090,
    )
    # Right after opening the long is marked at the bid:
    #   pnl = (5,997,800 - 6,002,201) * 16,660,500 // 10^8
    #       = -4,401 * 16,660,500 // 10^8 = -73,322,860,500 // 10^8 = -734   (-733.23 floored)
    #   equity = 1,000,000 - 734 = 999,266
    #   margin level = 999,266 * 10,000 // 100,000 = 99,926 bps              (99,926.6 floored)
    figures = view(engine)
    assert (figures.unrealized_pnl, figures.equity, figures.used_margin) == (-734, 999_266, MARGIN)
    assert figures.free_margin == 899_266
    assert figures.margin_level_bps == 99_926


def test_btc_long_when_closed_in_profit_credits_the_floored_pnl() -> None:
    # Feed 6,100,000 / 6,102,000 (a 1.7% move, inside the 10% band):
    #   bid markup = ceil(6,100,000 * 4 / 20,000) = ceil(1,220.0) = 1,220
    #   house bid  = 6,100,000 - 1,220 = 6,098,780
    #   pnl = (6,098,780 - 6,002,201) * 16,660,500 // 10^8
    #       = 96,579 * 16,660,500 // 10^8 = 1,609,054,429,500 // 10^8 = 16,090   (16,090.54)
    #   equity = 1,016,090; margin level = 1,016,090 * 10,000 // 100,000 = 101,609 bps
    engine = _btc_engine()
    opened = _open(engine, "long")
    events_of(tick(engine, 6_100_000, 6_102_000, asset="BTC", ts=T0 + 1_000))
    assert view(engine).unrealized_pnl == 16_090
    assert view(engine).margin_level_bps == 101_609

    closed = only(engine.apply(close(opened.order_id, ts=T0 + 1_000)), PositionClosed)

    assert (closed.reason, closed.close_price, closed.pnl) == (
        CloseReason.CLOSED,
        6_098_780,
        16_090,
    )
    assert view(engine).balance == 1_016_090
    assert engine.state.house_balance == -16_090
    assert money_is_conserved(engine)


def test_btc_long_when_closed_in_loss_debits_the_loss_rounded_away_from_the_trader() -> None:
    # Feed 5,900,000 / 5,902,000:
    #   bid markup = ceil(5,900,000 * 4 / 20,000) = 1,180 exactly; house bid = 5,898,820
    #   pnl = (5,898,820 - 6,002,201) * 16,660,500 // 10^8
    #       = -103,381 * 16,660,500 // 10^8 = -1,722,379,150,500 // 10^8
    #       = -17,224                      (-17,223.79 floored: the loss rounds up)
    #   equity = 982,776; margin level = 982,776 * 10,000 // 100,000 = 98,277 bps (98,277.6)
    engine = _btc_engine()
    opened = _open(engine, "long")
    events_of(tick(engine, 5_900_000, 5_902_000, asset="BTC", ts=T0 + 1_000))
    assert view(engine).margin_level_bps == 98_277

    closed = only(engine.apply(close(opened.order_id, ts=T0 + 1_000)), PositionClosed)

    assert (closed.close_price, closed.pnl) == (5_898_820, -17_224)
    assert view(engine).balance == 982_776
    assert engine.state.house_balance == 17_224


def test_btc_long_when_mark_reaches_the_liquidation_price_is_liquidated() -> None:
    # Feed 5,701,092 / 5,703,094: mark = 11,404,186 // 2 = 5,702,093 > 5,702,090: still open.
    # Feed 5,701,090 / 5,703,090: mark = 5,702,090 = the liquidation price: liquidated.
    #   bid markup = ceil(5,701,090 * 4 / 20,000) = ceil(1,140.218) = 1,141
    #   closes at the house bid 5,701,090 - 1,141 = 5,699,949
    #   pnl = (5,699,949 - 6,002,201) * 16,660,500 // 10^8
    #       = -302,252 * 16,660,500 // 10^8 = -5,035,669,446,000 // 10^8 = -50,357 (-50,356.69)
    # -50,357 is above -100,000 (the margin), so no cap applies. What is left of the margin,
    # 100,000 - 50,357 = 49,643, is a little under the 5000 bps maintenance: liquidation
    # watches the mark, the close pays the bid.
    engine = _btc_engine()
    _open(engine, "long")
    assert kinds(tick(engine, 5_701_092, 5_703_094, asset="BTC", ts=T0 + 1)) == [
        "QuoteUpdated",
        "MarginCalled",
    ]

    outcome = tick(engine, 5_701_090, 5_703_090, asset="BTC", ts=T0 + 2)

    closed = only(outcome, PositionClosed)
    assert (closed.reason, closed.close_price, closed.pnl) == (
        CloseReason.LIQUIDATED,
        5_699_949,
        -50_357,
    )
    assert view(engine).balance == 949_643
    assert view(engine).margin_level_bps is None
    assert engine.state.house_balance == 50_357


# -- the short ------------------------------------------------------------------------------


def test_btc_short_when_opened_fills_at_the_bid_with_the_worked_quantity_and_liquidation() -> None:
    engine = _btc_engine()

    opened = _open(engine, "short")

    assert (opened.open_price, opened.quantity, opened.liquidation_price) == (
        5_997_800,
        16_672_700,
        6_297_691,
    )
    # Marked at the ask:
    #   pnl = (5,997,800 - 6,002,201) * 16,672,700 // 10^8
    #       = -4,401 * 16,672,700 // 10^8 = -73,376,552,700 // 10^8 = -734   (-733.77 floored)
    #   equity = 999,266; margin level = 99,926 bps
    figures = view(engine)
    assert (figures.unrealized_pnl, figures.equity, figures.margin_level_bps) == (
        -734,
        999_266,
        99_926,
    )


def test_btc_short_when_closed_in_profit_credits_the_floored_pnl() -> None:
    # Feed 5,900,000 / 5,902,000:
    #   ask markup = ceil(5,902,000 * 4 / 20,000) = ceil(1,180.4) = 1,181
    #   house ask  = 5,902,000 + 1,181 = 5,903,181
    #   pnl = (5,997,800 - 5,903,181) * 16,672,700 // 10^8
    #       = 94,619 * 16,672,700 // 10^8 = 1,577,554,201,300 // 10^8 = 15,775   (15,775.54)
    #   equity = 1,015,775; margin level = 1,015,775 * 10,000 // 100,000 = 101,577 (101,577.5)
    engine = _btc_engine()
    opened = _open(engine, "short")
    events_of(tick(engine, 5_900_000, 5_902_000, asset="BTC", ts=T0 + 1_000))
    assert view(engine).margin_level_bps == 101_577

    closed = only(engine.apply(close(opened.order_id, ts=T0 + 1_000)), PositionClosed)

    assert (closed.side, closed.close_price, closed.pnl) == (SHORT, 5_903_181, 15_775)
    assert view(engine).balance == 1_015_775
    assert engine.state.house_balance == -15_775


def test_btc_short_when_closed_in_loss_debits_the_loss_rounded_away_from_the_trader() -> None:
    # Feed 6,100,000 / 6,102,000:
    #   ask markup = ceil(6,102,000 * 4 / 20,000) = ceil(1,220.4) = 1,221
    #   house ask  = 6,103,221
    #   pnl = (5,997,800 - 6,103,221) * 16,672,700 // 10^8
    #       = -105,421 * 16,672,700 // 10^8 = -1,757,652,706,700 // 10^8
    #       = -17,577                     (-17,576.53 floored)
    #   equity = 982,423; margin level = 982,423 * 10,000 // 100,000 = 98,242 (98,242.3)
    engine = _btc_engine()
    opened = _open(engine, "short")
    events_of(tick(engine, 6_100_000, 6_102_000, asset="BTC", ts=T0 + 1_000))
    assert view(engine).margin_level_bps == 98_242

    closed = only(engine.apply(close(opened.order_id, ts=T0 + 1_000)), PositionClosed)

    assert (closed.close_price, closed.pnl) == (6_103_221, -17_577)
    assert view(engine).balance == 982_423
    assert money_is_conserved(engine)


def test_btc_short_when_mark_reaches_the_liquidation_price_is_liquidated() -> None:
    # Feed 6,296,689 / 6,298,691: mark = 12,595,380 // 2 = 6,297,690 < 6,297,691: still open.
    # Feed 6,296,691 / 6,298,691: mark = 6,297,691 = the liquidation price: liquidated.
    #   ask markup = ceil(6,298,691 * 4 / 20,000) = ceil(1,259.7382) = 1,260
    #   closes at the house ask 6,298,691 + 1,260 = 6,299,951
    #   pnl = (5,997,800 - 6,299,951) * 16,672,700 // 10^8
    #       = -302,151 * 16,672,700 // 10^8 = -5,037,672,977,700 // 10^8 = -50,377 (-50,376.73)
    engine = _btc_engine()
    _open(engine, "short")
    assert kinds(tick(engine, 6_296_689, 6_298_691, asset="BTC", ts=T0 + 1)) == [
        "QuoteUpdated",
        "MarginCalled",
    ]

    closed = only(tick(engine, 6_296_691, 6_298_691, asset="BTC", ts=T0 + 2), PositionClosed)

    assert (closed.reason, closed.close_price, closed.pnl) == (
        CloseReason.LIQUIDATED,
        6_299_951,
        -50_377,
    )
    assert view(engine).balance == 949_623
    assert view(engine, ACCOUNT).used_margin == 0
