"""Quotes: the house markup, the sanity band (hold and confirm), tick order and staleness."""

from __future__ import annotations

from cryptocfd.core.money import PriceTicks
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import PositionClosed, QuoteUpdated, TickHeld
from cryptocfd.trading.rejections import RejectCode
from tests.unit.trading.builders import (
    LIMIT,
    LONG,
    SHORT,
    T0,
    close,
    code_of,
    events_of,
    make_engine,
    modify,
    only,
    open_position,
    order,
    tick,
)


def _quote(engine: Engine, asset: str = "TST") -> tuple[int, int, int, int]:
    quote = engine.state.assets[asset].quote
    assert quote is not None
    return quote.bid, quote.ask, quote.mark, quote.ts


# -- markup ---------------------------------------------------------------------------------


def test_tick_when_btc_quote_accepted_adds_half_the_markup_on_each_side_rounded_outward() -> None:
    # BTC markup 4 bps in all, 2 on each side, i.e. price * 4 / 20,000, rounded up:
    #   bid: 5,999,000 * 4 / 20,000 = 1,199.8 -> 1,200;  bid' = 5,999,000 - 1,200 = 5,997,800
    #   ask: 6,001,000 * 4 / 20,000 = 1,200.2 -> 1,201;  ask' = 6,001,000 + 1,201 = 6,002,201
    #   mark = (5,999,000 + 6,001,000) // 2 = 6,000,000 (the raw mid, no markup)
    engine = make_engine(bid=None)

    outcome = tick(engine, 5_999_000, 6_001_000, asset="BTC")

    assert events_of(outcome) == (
        QuoteUpdated(
            "BTC", PriceTicks(5_997_800), PriceTicks(6_002_201), PriceTicks(6_000_000), T0
        ),
    )
    assert _quote(engine, "BTC") == (5_997_800, 6_002_201, 6_000_000, T0)


def test_tick_when_markup_divides_exactly_takes_exactly_half_the_markup() -> None:
    # 5,000,000 * 4 / 20,000 = 1,000 exactly on both sides.
    engine = make_engine(bid=None)

    update = only(tick(engine, 5_000_000, 5_000_000, asset="BTC"), QuoteUpdated)

    assert (update.bid, update.ask, update.mark) == (4_999_000, 5_001_000, 5_000_000)


def test_tick_when_doge_has_eight_bps_markup_uses_four_per_side() -> None:
    # DOGE: 15,000 * 8 / 20,000 = 6 exactly -> bid' 14,994;
    # 15,001 * 8 / 20,000 = 6.0004 -> 7 -> ask' 15,008; mark = 30,001 // 2 = 15,000.
    engine = make_engine(bid=None)

    update = only(tick(engine, 15_000, 15_001, asset="DOGE"), QuoteUpdated)

    assert (update.bid, update.ask, update.mark) == (14_994, 15_008, 15_000)


def test_tick_when_markup_would_take_bid_to_zero_keeps_bid_at_one() -> None:
    # 1 * 4 / 20,000 rounds up to 1: bid' = max(1, 1 - 1) = 1; ask' = 1 + 1 = 2.
    engine = make_engine(bid=None)

    update = only(tick(engine, 1, 1, asset="BTC"), QuoteUpdated)

    assert (update.bid, update.ask, update.mark) == (1, 2, 1)


def test_tick_when_asset_has_no_markup_passes_the_feed_quote_through() -> None:
    engine = make_engine(bid=None)

    update = only(tick(engine, 999, 1003), QuoteUpdated)

    assert (update.bid, update.ask, update.mark) == (999, 1003, 1001)


# -- rejected ticks -------------------------------------------------------------------------


def test_tick_when_asset_unknown_rejects_unknown_asset() -> None:
    engine = make_engine(bid=None)

    assert code_of(tick(engine, 100, 100, asset="NOPE")) == RejectCode.UNKNOWN_ASSET


def test_tick_when_bid_not_positive_rejects_invalid_quote() -> None:
    engine = make_engine(bid=None)

    assert code_of(tick(engine, 0, 10)) == RejectCode.INVALID_QUOTE
    assert code_of(tick(engine, -1, 10)) == RejectCode.INVALID_QUOTE
    assert engine.state.assets["TST"].quote is None


def test_tick_when_bid_above_ask_rejects_invalid_quote() -> None:
    engine = make_engine(bid=None)

    assert code_of(tick(engine, 1001, 1000)) == RejectCode.INVALID_QUOTE


def test_tick_when_bid_equals_ask_is_accepted() -> None:
    engine = make_engine(bid=None)

    events_of(tick(engine, 1000, 1000))

    assert _quote(engine) == (1000, 1000, 1000, T0)


def test_tick_when_older_than_current_quote_rejects_out_of_order_and_changes_nothing() -> None:
    engine = make_engine(bid=1000)
    before = engine.state_hash()

    assert code_of(tick(engine, 1010, ts=T0 - 1)) == RejectCode.TICK_OUT_OF_ORDER
    assert engine.state_hash() == before
    assert _quote(engine) == (1000, 1000, 1000, T0)


def test_tick_when_same_timestamp_as_current_quote_is_accepted() -> None:
    engine = make_engine(bid=1000)

    events_of(tick(engine, 1010, ts=T0))

    assert _quote(engine) == (1010, 1010, 1010, T0)


def test_tick_when_first_for_asset_is_accepted_at_any_price() -> None:
    engine = make_engine(bid=None)

    events_of(tick(engine, 1000))
    events_of(tick(engine, 5, asset="XRP"))

    assert _quote(engine) == (1000, 1000, 1000, T0)


# -- sanity band ----------------------------------------------------------------------------


def test_tick_when_mid_moves_exactly_the_band_is_accepted() -> None:
    # band 1000 bps of mark 1000 is 100 points: |1100 - 1000| * 10,000 = 1,000,000 is not
    # more than 1000 * 1000 = 1,000,000.
    engine = make_engine(bid=1000)

    assert only(tick(engine, 1100, ts=T0 + 1), QuoteUpdated).mark == 1100
    engine = make_engine(bid=1000)
    assert only(tick(engine, 900, ts=T0 + 1), QuoteUpdated).mark == 900


def test_tick_when_mid_moves_past_the_band_is_held_and_quote_unchanged() -> None:
    # raw mid = (1100 + 1103) // 2 = 1101: 101 * 10,000 > 1000 * 1000 -> held.
    engine = make_engine(bid=1000)

    outcome = tick(engine, 1100, 1103, ts=T0 + 1)

    assert events_of(outcome) == (TickHeld("TST", PriceTicks(1100), PriceTicks(1103), T0 + 1),)
    assert _quote(engine) == (1000, 1000, 1000, T0)
    engine = make_engine(bid=1000)
    assert events_of(tick(engine, 899, ts=T0 + 1)) == (
        TickHeld("TST", PriceTicks(899), PriceTicks(899), T0 + 1),
    )


def test_tick_when_band_uses_the_floored_raw_mid_accepts_mid_on_the_edge() -> None:
    # raw mid = (1100 + 1101) // 2 = 1100, exactly on the band edge.
    engine = make_engine(bid=1000)

    assert only(tick(engine, 1100, 1101, ts=T0 + 1), QuoteUpdated).mark == 1100


def test_tick_when_next_tick_confirms_held_move_is_accepted() -> None:
    # Held at mid 1200; 1250 is outside the band of mark 1000 but within 10% of 1200.
    engine = make_engine(bid=1000)
    events_of(tick(engine, 1200, ts=T0 + 1))

    outcome = tick(engine, 1250, ts=T0 + 2)

    assert events_of(outcome) == (
        QuoteUpdated("TST", PriceTicks(1250), PriceTicks(1250), PriceTicks(1250), T0 + 2),
    )
    assert engine.state.assets["TST"].held is None


def test_tick_when_outside_both_mark_and_held_band_replaces_the_held_tick() -> None:
    # 1000 accepted, 1200 held. 1500 is outside 10% of the mark 1000 and of the held 1200:
    # held in its place. 1300 would have confirmed 1200 (|100| <= 120) but not 1500
    # (|200| > 150): held. 1550 is outside 10% of 1300 (|250| > 130): held. 1560 is within
    # 10% of 1550: accepted.
    engine = make_engine(bid=1000)
    events_of(tick(engine, 1200, ts=T0 + 1))

    assert events_of(tick(engine, 1500, ts=T0 + 2)) == (
        TickHeld("TST", PriceTicks(1500), PriceTicks(1500), T0 + 2),
    )
    assert events_of(tick(engine, 1300, ts=T0 + 3)) == (
        TickHeld("TST", PriceTicks(1300), PriceTicks(1300), T0 + 3),
    )
    assert events_of(tick(engine, 1550, ts=T0 + 4)) == (
        TickHeld("TST", PriceTicks(1550), PriceTicks(1550), T0 + 4),
    )
    assert only(tick(engine, 1560, ts=T0 + 5), QuoteUpdated).mark == 1560


def test_tick_when_accepted_within_band_of_mark_clears_the_held_tick() -> None:
    # 1200 held; 1050 is within the band of mark 1000 and is accepted, clearing the hold.
    # 1250 is outside 10% of 1050 (200 > 105); had 1200 still been held it would confirm it.
    engine = make_engine(bid=1000)
    events_of(tick(engine, 1200, ts=T0 + 1))
    only(tick(engine, 1050, ts=T0 + 2), QuoteUpdated)

    assert engine.state.assets["TST"].held is None
    assert events_of(tick(engine, 1250, ts=T0 + 3)) == (
        TickHeld("TST", PriceTicks(1250), PriceTicks(1250), T0 + 3),
    )


def test_tick_when_held_does_not_fire_triggers_until_confirmed() -> None:
    # Long 0.2 unit at 1000 (margin 10,000, leverage 2): liquidation at 1000 - 250 = 750,
    # stop-loss 960. The tick to 850 jumps 15%: held, nothing closes. 860 confirms it:
    # the stop-loss fires at the bid 860 with pnl (860 - 1000) * 2 * 10^7 // 10^6 = -2,800.
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG, 10_000, 2, stop_loss=960)
    assert opened.liquidation_price == 750

    assert events_of(tick(engine, 850, ts=T0 + 1)) == (
        TickHeld("TST", PriceTicks(850), PriceTicks(850), T0 + 1),
    )
    assert opened.order_id in engine.state.positions

    closed = only(tick(engine, 860, ts=T0 + 2), PositionClosed)
    assert (closed.reason, closed.close_price, closed.pnl) == ("stop_loss", 860, -2_800)


# -- staleness ------------------------------------------------------------------------------


def test_place_order_when_no_quote_yet_rejects_price_unavailable() -> None:
    engine = make_engine(bid=None)

    assert code_of(engine.apply(order(LONG))) == RejectCode.PRICE_UNAVAILABLE


def test_place_order_when_quote_exactly_staleness_old_is_accepted() -> None:
    engine = make_engine(bid=1000)

    open_position(engine, LONG, ts=T0 + 10_000)


def test_place_order_when_quote_older_than_staleness_rejects_price_stale() -> None:
    engine = make_engine(bid=1000)

    assert code_of(engine.apply(order(LONG, ts=T0 + 10_001))) == RejectCode.PRICE_STALE
    assert code_of(engine.apply(order(SHORT, ts=T0 + 10_001))) == RejectCode.PRICE_STALE
    pending = order(LONG, order_type=LIMIT, price=900, ts=T0 + 10_001)
    assert code_of(engine.apply(pending)) == RejectCode.PRICE_STALE


def test_place_order_when_only_a_held_tick_is_recent_rejects_price_stale() -> None:
    # The held tick at T0 + 9,000 does not refresh the quote of T0.
    engine = make_engine(bid=1000)
    events_of(tick(engine, 2000, ts=T0 + 9_000))

    assert code_of(engine.apply(order(LONG, ts=T0 + 10_001))) == RejectCode.PRICE_STALE


def test_close_position_when_quote_stale_rejects_price_stale() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG)

    assert code_of(engine.apply(close(opened.order_id, ts=T0 + 10_001))) == RejectCode.PRICE_STALE
    assert opened.order_id in engine.state.positions
    events_of(engine.apply(close(opened.order_id, ts=T0 + 10_000)))


def test_modify_position_when_quote_stale_is_still_accepted() -> None:
    # The documented checks of ModifyPosition do not include staleness.
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG)

    events_of(engine.apply(modify(opened.order_id, take_profit=1100, ts=T0 + 60_000)))


def test_tick_when_other_asset_ticks_does_not_refresh_staleness() -> None:
    engine = make_engine(bid=1000)
    events_of(tick(engine, 6_000_000, asset="BTC", ts=T0 + 10_001))

    assert code_of(engine.apply(order(LONG, ts=T0 + 10_001))) == RejectCode.PRICE_STALE
