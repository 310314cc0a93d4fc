"""Exits: take-profit, stop-loss and trailing stops, and changing them with ModifyPosition.

Unless a test says otherwise a position is one TST unit (margin 10,000 x10 at 1000, so every
price point is 100 cents) and its liquidation price is 1000 -/+ 50.
"""

from __future__ import annotations

from cryptocfd.core.money import Cents, PriceTicks, QtyUnits
from cryptocfd.trading.events import CloseReason, PositionClosed, PositionModified
from cryptocfd.trading.rejections import RejectCode
from tests.unit.trading.builders import (
    ACCOUNT,
    LIMIT,
    LONG,
    SHORT,
    T0,
    UNIT,
    code_of,
    events_of,
    kinds,
    make_engine,
    modify,
    money_is_conserved,
    of_type,
    only,
    open_position,
    place_pending,
    tick,
    view,
)

# -- take-profit and stop-loss --------------------------------------------------------------


def test_tick_when_bid_reaches_long_take_profit_closes_at_the_bid_and_credits_pnl() -> None:
    engine = make_engine(bid=1000, balance=50_000)
    opened = open_position(engine, LONG, take_profit=1050)

    assert kinds(tick(engine, 1049)) == ["QuoteUpdated"]
    outcome = tick(engine, 1050)

    # pnl = (1050 - 1000) * 10^8 // 10^6 = 5,000
    assert only(outcome, PositionClosed) == PositionClosed(
        opened.order_id,
        ACCOUNT,
        "TST",
        LONG,
        CloseReason.TAKE_PROFIT,
        QtyUnits(UNIT),
        Cents(10_000),
        PriceTicks(1000),
        PriceTicks(1050),
        Cents(5_000),
        QtyUnits(0),
        Cents(0),
        None,
        T0,
        10,  # the position's leverage
        T0,  # and when it opened
    )
    assert view(engine).balance == 55_000
    assert view(engine).used_margin == 0
    assert engine.state.house_balance == -5_000
    assert engine.state.positions == {}
    assert money_is_conserved(engine)


def test_tick_when_bid_gaps_past_long_take_profit_closes_at_the_bid_not_the_level() -> None:
    engine = make_engine(bid=1000)
    open_position(engine, LONG, take_profit=1050)

    closed = only(tick(engine, 1060), PositionClosed)

    assert (closed.close_price, closed.pnl) == (1060, 6_000)


def test_tick_when_only_the_ask_reaches_long_take_profit_keeps_the_position() -> None:
    # A long closes at the bid: feed 1045 / 1055 has not reached take-profit 1050.
    engine = make_engine(bid=1000)
    open_position(engine, LONG, take_profit=1050)

    assert kinds(tick(engine, 1045, 1055)) == ["QuoteUpdated"]


def test_tick_when_bid_falls_to_long_stop_loss_closes_with_the_loss() -> None:
    engine = make_engine(bid=1000, balance=50_000)
    open_position(engine, LONG, stop_loss=970)

    assert kinds(tick(engine, 971)) == ["QuoteUpdated", "MarginCalled"]
    closed = only(tick(engine, 970), PositionClosed)

    # pnl = (970 - 1000) * 10^8 // 10^6 = -3,000
    assert (closed.reason, closed.close_price, closed.pnl) == ("stop_loss", 970, -3_000)
    assert view(engine).balance == 47_000
    assert engine.state.house_balance == 3_000


def test_tick_when_ask_falls_to_short_take_profit_closes_at_the_ask() -> None:
    engine = make_engine(bid=1000)
    open_position(engine, SHORT, take_profit=950)

    assert kinds(tick(engine, 945, 955)) == ["QuoteUpdated"]  # the bid does not count
    closed = only(tick(engine, 950), PositionClosed)

    # pnl = (1000 - 950) * 10^8 // 10^6 = 5,000
    assert (closed.reason, closed.side, closed.close_price, closed.pnl) == (
        "take_profit",
        SHORT,
        950,
        5_000,
    )


def test_tick_when_ask_rises_to_short_stop_loss_closes_with_the_loss() -> None:
    engine = make_engine(bid=1000)
    open_position(engine, SHORT, stop_loss=1030)

    assert kinds(tick(engine, 1029)) == ["QuoteUpdated", "MarginCalled"]
    closed = only(tick(engine, 1025, 1035), PositionClosed)

    # closes at the ask 1035: pnl = (1000 - 1035) * 10^8 // 10^6 = -3,500
    assert (closed.reason, closed.close_price, closed.pnl) == ("stop_loss", 1035, -3_500)


# -- trailing stops -------------------------------------------------------------------------


def test_tick_when_long_trailing_stop_follows_peak_then_bid_falls_fires_trailing_stop() -> None:
    # Armed at the bid 1000 with distance 20. Peak 1010, then 1030: stop 1010.
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG, trailing_distance=20)

    for bid in (1010, 1030, 1011):
        assert kinds(tick(engine, bid)) == ["QuoteUpdated"]
    closed = only(tick(engine, 1010), PositionClosed)

    # pnl = (1010 - 1000) * 10^8 // 10^6 = 1,000
    assert (closed.order_id, closed.reason, closed.close_price, closed.pnl) == (
        opened.order_id,
        "trailing_stop",
        1010,
        1_000,
    )


def test_tick_when_long_trailing_stop_armed_and_bid_falls_distance_fires_from_arming_bid() -> None:
    # The bid at arming counts as the first peak: 1000 - 20 = 980.
    engine = make_engine(bid=1000)
    open_position(engine, LONG, trailing_distance=20)

    assert kinds(tick(engine, 981)) == ["QuoteUpdated"]
    assert only(tick(engine, 980), PositionClosed).reason == "trailing_stop"


def test_tick_when_long_trailing_stop_watches_the_bid_not_the_mark() -> None:
    # Feed 980 / 1020: mark 1000 unchanged, but the bid 980 is the peak 1000 less 20.
    engine = make_engine(bid=1000)
    open_position(engine, LONG, trailing_distance=20)

    closed = only(tick(engine, 980, 1020), PositionClosed)

    assert (closed.reason, closed.close_price) == ("trailing_stop", 980)


def test_tick_when_short_trailing_stop_follows_trough_then_ask_rises_fires_trailing_stop() -> None:
    # Armed at the ask 1000, distance 20. Trough 990, then 970: stop 990.
    engine = make_engine(bid=1000)
    open_position(engine, SHORT, trailing_distance=20)

    for ask in (990, 970, 989):
        assert kinds(tick(engine, ask)) == ["QuoteUpdated"]
    closed = only(tick(engine, 990), PositionClosed)

    # pnl = (1000 - 990) * 10^8 // 10^6 = 1,000
    assert (closed.reason, closed.close_price, closed.pnl) == ("trailing_stop", 990, 1_000)


def test_tick_when_trailing_stops_armed_at_different_peaks_each_keep_their_own_peak() -> None:
    # A (distance 30) armed at 1000, peak 1020, bid back at 1000: A's stop is 990.
    # B (distance 10) armed at 1000. Bid 1015: B's peak is 1015 (stop 1005), A's stays 1020.
    engine = make_engine(bid=1000)
    a = open_position(engine, LONG, trailing_distance=30).order_id
    events_of(tick(engine, 1020))
    events_of(tick(engine, 1000))
    b = open_position(engine, LONG, trailing_distance=10).order_id
    events_of(tick(engine, 1015))

    closed_b = only(tick(engine, 1005), PositionClosed)
    assert (closed_b.order_id, closed_b.reason) == (b, "trailing_stop")
    assert kinds(tick(engine, 991)) == ["QuoteUpdated"]
    closed_a = only(tick(engine, 990), PositionClosed)
    assert (closed_a.order_id, closed_a.reason) == (a, "trailing_stop")


def test_tick_when_bid_rises_above_every_peak_trailing_stops_share_the_new_peak() -> None:
    # As above, then the bid reaches 1030, above both peaks: A's stop 1000, B's 1020.
    engine = make_engine(bid=1000)
    a = open_position(engine, LONG, trailing_distance=30).order_id
    events_of(tick(engine, 1020))
    events_of(tick(engine, 1000))
    b = open_position(engine, LONG, trailing_distance=10).order_id
    events_of(tick(engine, 1030))

    assert kinds(tick(engine, 1021)) == ["QuoteUpdated"]
    assert only(tick(engine, 1020), PositionClosed).order_id == b
    assert kinds(tick(engine, 1001)) == ["QuoteUpdated"]
    assert only(tick(engine, 1000), PositionClosed).order_id == a


def test_tick_when_two_trailing_stops_share_a_peak_the_shorter_distance_fires_first() -> None:
    engine = make_engine(bid=1000)
    wide = open_position(engine, LONG, trailing_distance=40).order_id
    narrow = open_position(engine, LONG, trailing_distance=15).order_id
    events_of(tick(engine, 1040))

    assert only(tick(engine, 1025), PositionClosed).order_id == narrow
    assert kinds(tick(engine, 1001)) == ["QuoteUpdated"]
    assert only(tick(engine, 1000), PositionClosed).order_id == wide


def test_tick_when_short_trailing_stops_armed_at_different_troughs_keep_their_own() -> None:
    # A (30) armed at 1000, trough 980, ask back at 1000: A's stop 1010.
    # B (10) armed at 1000; ask 985: B's trough 985 (stop 995), A's stays 980.
    engine = make_engine(bid=1000)
    a = open_position(engine, SHORT, trailing_distance=30).order_id
    events_of(tick(engine, 980))
    events_of(tick(engine, 1000))
    b = open_position(engine, SHORT, trailing_distance=10).order_id
    events_of(tick(engine, 985))

    assert only(tick(engine, 995), PositionClosed).order_id == b
    assert kinds(tick(engine, 1009)) == ["QuoteUpdated"]
    assert only(tick(engine, 1010), PositionClosed).order_id == a


# -- ModifyPosition -------------------------------------------------------------------------


def test_modify_position_when_values_given_emits_position_modified_and_moves_the_exits() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG, take_profit=1100, stop_loss=970)

    outcome = engine.apply(modify(opened.order_id, take_profit=1040, stop_loss=960))

    assert events_of(outcome) == (
        PositionModified(
            opened.order_id, ACCOUNT, PriceTicks(1040), PriceTicks(960), None, False, T0
        ),
    )
    assert kinds(tick(engine, 965)) == [
        "QuoteUpdated",
        "MarginCalled",
    ]  # the old stop-loss 970 is gone
    assert kinds(tick(engine, 1039)) == ["QuoteUpdated"]
    assert only(tick(engine, 1040), PositionClosed).reason == "take_profit"


def test_modify_position_when_fields_unset_keeps_them() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG, take_profit=1050, stop_loss=970, trailing_distance=40)

    outcome = engine.apply(modify(opened.order_id, stop_loss=965))

    assert only(outcome, PositionModified) == PositionModified(
        opened.order_id, ACCOUNT, PriceTicks(1050), PriceTicks(965), PriceTicks(40), False, T0
    )
    position = engine.state.positions[opened.order_id]
    assert (position.take_profit, position.stop_loss, position.trailing_distance) == (
        1050,
        965,
        40,
    )
    assert only(tick(engine, 1050), PositionClosed).reason == "take_profit"


def test_modify_position_when_take_profit_none_removes_it() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG, take_profit=1050)

    modified = only(engine.apply(modify(opened.order_id, take_profit=None)), PositionModified)

    assert modified.take_profit is None
    assert kinds(tick(engine, 1060)) == ["QuoteUpdated"]
    assert opened.order_id in engine.state.positions


def test_modify_position_when_stop_loss_none_removes_it() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, SHORT, stop_loss=1030)

    events_of(engine.apply(modify(opened.order_id, stop_loss=None)))

    assert kinds(tick(engine, 1040)) == ["QuoteUpdated", "MarginCalled"]  # liquidation is at 1050


def test_modify_position_when_trailing_none_removes_the_trailing_stop() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG, trailing_distance=20)

    modified = only(engine.apply(modify(opened.order_id, trailing_distance=None)), PositionModified)

    assert (modified.trailing_distance, modified.rearm_trailing) == (None, False)
    assert kinds(tick(engine, 960)) == ["QuoteUpdated", "MarginCalled"]


def test_modify_position_when_take_profit_not_beyond_current_bid_rejects_invalid_take_profit() -> (
    None
):
    # The bid is 1020 now: a long's new take-profit must be above it.
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG)
    events_of(tick(engine, 1020))

    command = modify(opened.order_id, take_profit=1020)

    assert code_of(engine.apply(command)) == RejectCode.INVALID_TAKE_PROFIT
    events_of(engine.apply(modify(opened.order_id, take_profit=1021)))


def test_modify_position_when_stop_loss_above_open_but_below_bid_locks_in_profit() -> None:
    # Bid 1020: a stop-loss at 1020 is refused, 1019 (above the open price) is accepted and
    # fires at 1019 with pnl (1019 - 1000) * 100 = 1,900.
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG)
    events_of(tick(engine, 1020))

    command = modify(opened.order_id, stop_loss=1020)
    assert code_of(engine.apply(command)) == RejectCode.INVALID_STOP_LOSS
    events_of(engine.apply(modify(opened.order_id, stop_loss=1019)))

    closed = only(tick(engine, 1019), PositionClosed)
    assert (closed.reason, closed.pnl) == ("stop_loss", 1_900)


def test_modify_position_when_short_exits_checked_uses_the_current_ask() -> None:
    # Feed 990 / 1010: a short closes at the ask 1010.
    engine = make_engine(bid=1000)
    opened = open_position(engine, SHORT)
    events_of(tick(engine, 990, 1010))

    bad_tp = modify(opened.order_id, take_profit=1010)
    bad_sl = modify(opened.order_id, stop_loss=1010)
    assert code_of(engine.apply(bad_tp)) == RejectCode.INVALID_TAKE_PROFIT
    assert code_of(engine.apply(bad_sl)) == RejectCode.INVALID_STOP_LOSS
    events_of(engine.apply(modify(opened.order_id, take_profit=1009, stop_loss=1011)))


def test_modify_position_when_everything_is_wrong_rejects_in_the_documented_order() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG)
    place_pending(engine, LONG, LIMIT, 900)

    def attempt(order_id: int, account_id: int, distance: int, tp: int, sl: int) -> RejectCode:
        command = modify(
            order_id,
            account_id=account_id,
            trailing_distance=distance,
            take_profit=tp,
            stop_loss=sl,
        )
        return code_of(engine.apply(command))

    assert attempt(opened.order_id, 99, 0, 900, 1100) == RejectCode.UNKNOWN_ACCOUNT
    assert attempt(2, ACCOUNT, 0, 900, 1100) == RejectCode.ORDER_NOT_FOUND  # pending entry
    assert attempt(77, ACCOUNT, 0, 900, 1100) == RejectCode.ORDER_NOT_FOUND
    assert attempt(opened.order_id, ACCOUNT, 0, 900, 1100) == RejectCode.INVALID_TRAILING_DISTANCE
    assert attempt(opened.order_id, ACCOUNT, -5, 900, 1100) == (
        RejectCode.INVALID_TRAILING_DISTANCE
    )
    assert attempt(opened.order_id, ACCOUNT, 5, 900, 1100) == RejectCode.INVALID_TAKE_PROFIT
    assert attempt(opened.order_id, ACCOUNT, 5, 1100, 1100) == RejectCode.INVALID_STOP_LOSS
    # Below the bid, but at or past the liquidation price 950: it could never fire.
    assert attempt(opened.order_id, ACCOUNT, 5, 1100, 900) == (
        RejectCode.STOP_LOSS_BEYOND_LIQUIDATION
    )
    mended = modify(opened.order_id, trailing_distance=5, take_profit=1100, stop_loss=951)
    only(engine.apply(mended), PositionModified)


def test_modify_position_when_position_already_closed_rejects_order_not_found() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG, take_profit=1010)
    only(tick(engine, 1010), PositionClosed)

    assert code_of(engine.apply(modify(opened.order_id, take_profit=1100))) == (
        RejectCode.ORDER_NOT_FOUND
    )


def test_modify_position_when_trailing_distance_given_rearms_at_the_current_bid() -> None:
    # Armed at 1000 (distance 20); peak 1050 (stop 1030); bid 1035. Re-arming with the same
    # distance resets the peak to 1035: stop 1015, so 1030 no longer fires.
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG, trailing_distance=20)
    events_of(tick(engine, 1050))
    events_of(tick(engine, 1035))

    modified = only(engine.apply(modify(opened.order_id, trailing_distance=20)), PositionModified)

    assert (modified.trailing_distance, modified.rearm_trailing) == (20, True)
    assert kinds(tick(engine, 1030)) == ["QuoteUpdated"]
    assert kinds(tick(engine, 1016)) == ["QuoteUpdated"]
    closed = only(tick(engine, 1015), PositionClosed)
    assert (closed.reason, closed.close_price) == ("trailing_stop", 1015)


def test_modify_position_when_trailing_unset_keeps_the_old_peak() -> None:
    # Same path, but only the take-profit changes: the peak 1050 stays and 1030 fires.
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG, trailing_distance=20)
    events_of(tick(engine, 1050))
    events_of(tick(engine, 1035))

    modified = only(engine.apply(modify(opened.order_id, take_profit=1100)), PositionModified)

    assert (modified.trailing_distance, modified.rearm_trailing) == (20, False)
    closed = only(tick(engine, 1030), PositionClosed)
    assert (closed.reason, closed.close_price) == ("trailing_stop", 1030)


def test_modify_position_when_trailing_added_to_a_position_arms_it_at_the_current_bid() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG)
    events_of(tick(engine, 1040))

    events_of(engine.apply(modify(opened.order_id, trailing_distance=25)))

    assert kinds(tick(engine, 1016)) == ["QuoteUpdated"]
    assert only(tick(engine, 1015), PositionClosed).reason == "trailing_stop"


def test_modify_position_when_short_trailing_rearmed_resets_the_trough_to_the_ask() -> None:
    # Armed at 1000 (20); trough 950 (stop 970); ask 965. Re-armed at 965 with 10: stop 975.
    engine = make_engine(bid=1000)
    opened = open_position(engine, SHORT, trailing_distance=20)
    events_of(tick(engine, 950))
    events_of(tick(engine, 965))

    events_of(engine.apply(modify(opened.order_id, trailing_distance=10)))

    assert kinds(tick(engine, 974)) == ["QuoteUpdated"]
    closed = only(tick(engine, 975), PositionClosed)
    assert (closed.reason, closed.close_price, closed.pnl) == ("trailing_stop", 975, 2_500)


def test_modify_position_when_rearmed_twice_on_one_peak_still_closes_once() -> None:
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG, trailing_distance=20)

    events_of(engine.apply(modify(opened.order_id, trailing_distance=20)))
    events_of(engine.apply(modify(opened.order_id, trailing_distance=20)))

    outcome = tick(engine, 970)
    assert len(of_type(outcome, PositionClosed)) == 1
    assert engine.state.positions == {}


# -- a stop-loss liquidation would always beat ------------------------------------------------


def test_modify_position_when_long_stop_loss_at_liquidation_rejects_stop_beyond_liquidation() -> (
    None
):
    # 10,000 x10 at 1000: 10^8 units, liquidation 1000 - 5 * 10^13 // 10^12 = 950.
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG)
    assert opened.liquidation_price == 950

    at = engine.apply(modify(opened.order_id, stop_loss=950))
    inside = engine.apply(modify(opened.order_id, stop_loss=951))

    assert code_of(at) == RejectCode.STOP_LOSS_BEYOND_LIQUIDATION
    assert only(inside, PositionModified).stop_loss == 951
    assert engine.state.positions[opened.order_id].stop_loss == 951


def test_modify_position_when_short_stop_loss_at_liquidation_rejects_stop_beyond_liquidation() -> (
    None
):
    engine = make_engine(bid=1000)
    opened = open_position(engine, SHORT)
    assert opened.liquidation_price == 1050

    assert code_of(engine.apply(modify(opened.order_id, stop_loss=1050))) == (
        RejectCode.STOP_LOSS_BEYOND_LIQUIDATION
    )
    assert engine.state.positions[opened.order_id].stop_loss is None
    assert only(engine.apply(modify(opened.order_id, stop_loss=1049)), PositionModified)


def test_modify_position_when_stop_loss_unset_does_not_judge_the_kept_one() -> None:
    # Only a stop-loss given as a value is judged; changing the take-profit leaves it be.
    engine = make_engine(bid=1000)
    opened = open_position(engine, LONG, stop_loss=960)

    outcome = engine.apply(modify(opened.order_id, take_profit=1100))

    assert only(outcome, PositionModified).stop_loss == 960
