"""Market orders: the documented check order, slippage, leverage bounds, fill and size."""

from __future__ import annotations

import msgspec
import pytest

from cryptocfd.core.assets import DEFAULT_ASSETS, AssetSpec
from cryptocfd.core.money import Cents, PriceTicks, QtyUnits
from cryptocfd.trading.commands import PlaceOrder
from cryptocfd.trading.events import OrderPlaced, PositionOpened
from cryptocfd.trading.rejections import RejectCode
from tests.unit.trading.builders import (
    ACCOUNT,
    LIMIT,
    LONG,
    MARKET,
    SHORT,
    T0,
    code_of,
    deposit,
    events_of,
    make_engine,
    only,
    open_position,
    order,
    place_pending,
    rid,
    tick,
    view,
)

YEAR_MS = 366 * 86_400_000  # the furthest ahead a pending entry may expire


def _retry(command: PlaceOrder, **changes: object) -> PlaceOrder:
    """The same command with ``changes`` under a fresh request id (a repeated id would only
    replay the first outcome)."""
    return msgspec.structs.replace(command, request_id=rid(), **changes)


# -- the check order ------------------------------------------------------------------------


def test_place_market_order_when_everything_is_wrong_rejects_in_the_documented_order() -> None:
    # Start from a command that breaks every rule, then mend one rule at a time: each step's
    # code must be the next one of docs/engine.md's list.
    engine = make_engine(bid=None, balance=0)
    command = order(
        LONG,
        margin=0,
        leverage=0,
        account_id=99,
        asset="NOPE",
        price=1000,
        trailing_distance=0,
        expires_at=T0,
        expected_price=0,
        slippage_bps=20_000,
        take_profit=800,
        stop_loss=800,
    )
    steps: list[tuple[RejectCode, dict[str, object]]] = [
        (RejectCode.UNKNOWN_ACCOUNT, {"account_id": ACCOUNT}),
        (RejectCode.UNKNOWN_ASSET, {"asset": "TST"}),
        (RejectCode.LEVERAGE_OUT_OF_RANGE, {"leverage": 1}),
        (RejectCode.INVALID_MARGIN, {"margin": 1}),
        (RejectCode.INVALID_ORDER_PRICE, {"price": None}),  # a market order takes no price
        (RejectCode.INVALID_TRAILING_DISTANCE, {"trailing_distance": 5}),
        (RejectCode.INVALID_EXPIRY, {"expires_at": None}),
        (RejectCode.INVALID_SLIPPAGE, {"expected_price": None, "slippage_bps": 100}),
        # A slippage bound with no expected price to measure from.
        (RejectCode.INVALID_SLIPPAGE, {"expected_price": 900}),
    ]
    for expected, fix in steps:
        assert code_of(engine.apply(command)) == expected
        command = _retry(command, **fix)

    assert code_of(engine.apply(command)) == RejectCode.PRICE_UNAVAILABLE
    # Feed bid 800 / ask 1000: mark 900; a long fills at 1000 and closes at 800.
    events_of(tick(engine, 800, 1000, ts=T0 - 10_001))
    command = _retry(command)
    assert code_of(engine.apply(command)) == RejectCode.PRICE_STALE
    events_of(tick(engine, 800, 1000, ts=T0))
    command = _retry(command)
    # 1000 * 10,000 > 900 * 10,100
    assert code_of(engine.apply(command)) == RejectCode.SLIPPAGE_EXCEEDED
    command = _retry(command, expected_price=1000, slippage_bps=0)
    # take-profit 800 is not above the closing bid 800; nor is the stop-loss below it.
    assert code_of(engine.apply(command)) == RejectCode.INVALID_TAKE_PROFIT
    command = _retry(command, take_profit=1100)
    assert code_of(engine.apply(command)) == RejectCode.INVALID_STOP_LOSS
    command = _retry(command, stop_loss=700)
    # balance 0 cannot back margin 1.
    assert code_of(engine.apply(command)) == RejectCode.INSUFFICIENT_BALANCE
    events_of(engine.apply(deposit(1_000_000)))
    command = _retry(command)
    # 1 * 1 * 10^6 // 1000 = 1,000 units, less than the 10^6 step.
    assert code_of(engine.apply(command)) == RejectCode.POSITION_TOO_SMALL
    # 10,000 * 5 * 10^6 // 1000 = 5 * 10^7; dist = 10,000 * 5,000 * 10^6 // (5 * 10^7 * 10^4)
    # = 100; liquidation 1000 - 100 = 900 = the mark.
    command = _retry(command, margin=10_000, leverage=5)
    assert code_of(engine.apply(command)) == RejectCode.WOULD_LIQUIDATE
    command = _retry(command, leverage=4)
    # Liquidation at 1000 - 10,000 * 5,000 * 10^6 // (4 * 10^7 * 10^4) = 875 comes before the
    # stop-loss 700: it could never fire.
    assert code_of(engine.apply(command)) == RejectCode.STOP_LOSS_BEYOND_LIQUIDATION
    command = _retry(command, stop_loss=None)
    opened = only(engine.apply(command), PositionOpened)
    assert (opened.order_id, opened.open_price, opened.liquidation_price) == (1, 1000, 875)


def test_place_pending_order_when_everything_is_wrong_rejects_in_the_documented_order() -> None:
    engine = make_engine(bid=None, balance=0)
    command = order(
        LONG,
        margin=-5,
        leverage=101,
        order_type=LIMIT,
        price=None,
        account_id=99,
        asset="NOPE",
        trailing_distance=-1,
        expires_at=T0,
        expected_price=-1,
        take_profit=500,
        stop_loss=2000,
    )
    steps: list[tuple[RejectCode, dict[str, object]]] = [
        (RejectCode.UNKNOWN_ACCOUNT, {"account_id": ACCOUNT}),
        (RejectCode.UNKNOWN_ASSET, {"asset": "TST"}),
        (RejectCode.LEVERAGE_OUT_OF_RANGE, {"leverage": 1}),
        (RejectCode.INVALID_MARGIN, {"margin": 1}),
        (RejectCode.INVALID_ORDER_PRICE, {"price": 0}),
        (RejectCode.INVALID_ORDER_PRICE, {"price": 1000}),
        (RejectCode.INVALID_TRAILING_DISTANCE, {"trailing_distance": None}),
        (RejectCode.INVALID_EXPIRY, {"expires_at": T0 + YEAR_MS + 1}),
        (RejectCode.INVALID_EXPIRY, {"expires_at": T0 + 1}),  # more than a year ahead
        (RejectCode.INVALID_SLIPPAGE, {"expected_price": None, "slippage_bps": 5}),
        (RejectCode.INVALID_SLIPPAGE, {"slippage_bps": None}),  # a bound with no expected price
        (RejectCode.PRICE_UNAVAILABLE, {}),
    ]
    for expected, fix in steps:
        assert code_of(engine.apply(command)) == expected
        command = _retry(command, **fix)

    events_of(tick(engine, 1000, ts=T0 - 10_001))
    assert code_of(engine.apply(command)) == RejectCode.PRICE_STALE
    events_of(tick(engine, 1000, ts=T0))
    command = _retry(command)
    # A buy limit at 1000 with the ask at 1000 would fill at once.
    assert code_of(engine.apply(command)) == RejectCode.INVALID_ORDER_PRICE
    command = _retry(command, price=900)
    # Against the order's price 900: take-profit 500 is not above it, stop-loss 2000 not below.
    assert code_of(engine.apply(command)) == RejectCode.INVALID_TAKE_PROFIT
    command = _retry(command, take_profit=1100)
    assert code_of(engine.apply(command)) == RejectCode.INVALID_STOP_LOSS
    command = _retry(command, stop_loss=800)
    assert code_of(engine.apply(command)) == RejectCode.INSUFFICIENT_BALANCE
    events_of(engine.apply(deposit(1_000_000)))
    command = _retry(command)
    # 1 * 1 * 10^6 // 900 = 1,111 units: below one step at the order's price.
    assert code_of(engine.apply(command)) == RejectCode.POSITION_TOO_SMALL
    command = _retry(command, margin=10_000, leverage=10)
    # At the order's price 900: 1.11 units, liquidation 900 - 5 * 10^13 // (1.11 * 10^12) = 855,
    # which comes before the stop-loss 800, or one at 855.
    assert code_of(engine.apply(command)) == RejectCode.STOP_LOSS_BEYOND_LIQUIDATION
    command = _retry(command, stop_loss=855)
    assert code_of(engine.apply(command)) == RejectCode.STOP_LOSS_BEYOND_LIQUIDATION
    command = _retry(command, stop_loss=856)
    placed = only(engine.apply(command), OrderPlaced)
    assert (placed.order_id, placed.price, placed.expires_at) == (1, 900, T0 + 1)


def test_place_order_when_rejected_changes_no_balance_margin_or_order_id() -> None:
    engine = make_engine(bid=1000, balance=5_000)

    assert code_of(engine.apply(order(LONG, margin=5_001))) == RejectCode.INSUFFICIENT_BALANCE

    assert view(engine).used_margin == 0
    assert engine.state.positions == {}
    assert open_position(engine, LONG, 5_000, 10).order_id == 1


def test_place_market_order_when_expires_at_given_rejects_invalid_expiry() -> None:
    engine = make_engine(bid=1000)

    command = order(LONG, expires_at=T0 + 60_000)

    assert code_of(engine.apply(command)) == RejectCode.INVALID_EXPIRY


def test_place_market_order_when_margin_not_positive_rejects_invalid_margin() -> None:
    engine = make_engine(bid=1000)

    assert code_of(engine.apply(order(LONG, margin=0))) == RejectCode.INVALID_MARGIN
    assert code_of(engine.apply(order(LONG, margin=-1))) == RejectCode.INVALID_MARGIN


@pytest.mark.parametrize(
    ("expected_price", "slippage_bps"),
    [(0, 10), (-1, 10), (1000, -1), (1000, 10_001), (0, None), (None, -1)],
)
def test_place_market_order_when_slippage_fields_out_of_range_rejects_invalid_slippage(
    expected_price: int | None, slippage_bps: int | None
) -> None:
    engine = make_engine(bid=1000)

    command = order(LONG, expected_price=expected_price, slippage_bps=slippage_bps)

    assert code_of(engine.apply(command)) == RejectCode.INVALID_SLIPPAGE


# -- leverage -------------------------------------------------------------------------------

# A plain feed price per default asset, in its own ticks.
_PRICES = {
    "BTC": 6_000_000,
    "ETH": 300_000,
    "SOL": 150_000,
    "BNB": 60_000,
    "XRP": 5_000,
    "DOGE": 15_000,
}


@pytest.mark.parametrize("spec", DEFAULT_ASSETS, ids=lambda spec: spec.symbol)
def test_place_market_order_when_leverage_outside_asset_bounds_rejects_leverage_out_of_range(
    spec: AssetSpec,
) -> None:
    engine = make_engine(bid=_PRICES[spec.symbol], asset=spec.symbol)

    for leverage in (0, -1, spec.max_leverage + 1):
        command = order(LONG, 100_000, leverage, asset=spec.symbol)
        assert code_of(engine.apply(command)) == RejectCode.LEVERAGE_OUT_OF_RANGE


@pytest.mark.parametrize("spec", DEFAULT_ASSETS, ids=lambda spec: spec.symbol)
def test_place_market_order_when_leverage_at_asset_bounds_opens(spec: AssetSpec) -> None:
    engine = make_engine(bid=_PRICES[spec.symbol], asset=spec.symbol)

    for leverage in (1, spec.max_leverage):
        for side in (LONG, SHORT):
            opened = open_position(engine, side, 100_000, leverage, asset=spec.symbol)
            assert opened.leverage == leverage


def test_default_assets_when_listed_have_the_documented_maximum_leverage() -> None:
    assert {spec.symbol: spec.max_leverage for spec in DEFAULT_ASSETS} == {
        "BTC": 100,
        "ETH": 100,
        "SOL": 50,
        "BNB": 50,
        "XRP": 50,
        "DOGE": 20,
    }


# -- fill -----------------------------------------------------------------------------------


def test_place_market_long_when_accepted_fills_at_ask_with_quantity_floored_to_step() -> None:
    # Feed 990 / 1010, no markup. Long: notional 10,000 * 10 = 100,000 cents at the ask 1010:
    # q = 100,000 * 10^6 // 1010 = 99,009,900 -> floored to the 10^6 step: 99,000,000.
    # dist = 10,000 * 5,000 * 10^6 // (99,000,000 * 10,000) = 50 (50.50 floored): liq 960.
    engine = make_engine(bid=990, ask=1010)

    outcome = engine.apply(order(LONG, 10_000, 10))

    assert events_of(outcome) == (
        PositionOpened(
            1,
            ACCOUNT,
            "TST",
            LONG,
            MARKET,
            Cents(10_000),
            10,
            QtyUnits(99_000_000),
            PriceTicks(1010),
            PriceTicks(960),
            None,
            None,
            None,
            T0,
        ),
    )
    assert view(engine).used_margin == 10_000
    assert view(engine).balance == 100_000_000


def test_place_market_short_when_accepted_fills_at_bid() -> None:
    # Short at the bid 990: q = 100,000 * 10^6 // 990 = 101,010,101 -> 101,000,000.
    # dist = 5 * 10^13 // (101,000,000 * 10,000) = 49 (49.50 floored): liq 990 + 49 = 1039.
    engine = make_engine(bid=990, ask=1010)

    opened = open_position(engine, SHORT, 10_000, 10)

    assert (opened.open_price, opened.quantity, opened.liquidation_price) == (
        990,
        101_000_000,
        1039,
    )


def test_place_market_order_when_just_opened_shows_the_spread_as_unrealized_loss() -> None:
    # Long 99,000,000 at 1010 marked at the bid 990: (990 - 1010) * 99,000,000 // 10^6
    # = -1,980 cents.
    engine = make_engine(bid=990, ask=1010)
    open_position(engine, LONG, 10_000, 10)

    assert view(engine).unrealized_pnl == -1_980


def test_order_ids_when_positions_and_pending_entries_mix_count_up_from_one() -> None:
    engine = make_engine(bid=1000)

    first = open_position(engine, LONG).order_id
    code_of(engine.apply(order(LONG, margin=0)))
    second = place_pending(engine, SHORT, LIMIT, 1050).order_id
    third = open_position(engine, SHORT).order_id

    assert (first, second, third) == (1, 2, 3)


# -- slippage -------------------------------------------------------------------------------


def test_place_market_long_when_ask_within_slippage_bound_opens() -> None:
    # 1010 * 10,000 = 10,100,000 is not above 1000 * 10,100 = 10,100,000.
    engine = make_engine(bid=990, ask=1010)

    command = order(LONG, expected_price=1000, slippage_bps=100)

    assert only(engine.apply(command), PositionOpened).open_price == 1010


def test_place_market_long_when_ask_beyond_slippage_bound_rejects_slippage_exceeded() -> None:
    # 1010 * 10,000 = 10,100,000 > 1000 * 10,099 = 10,099,000.
    engine = make_engine(bid=990, ask=1010)

    command = order(LONG, expected_price=1000, slippage_bps=99)

    assert code_of(engine.apply(command)) == RejectCode.SLIPPAGE_EXCEEDED


def test_place_market_short_when_bid_within_slippage_bound_opens() -> None:
    # 990 * 10,000 = 9,900,000 is not below 1000 * 9,900 = 9,900,000.
    engine = make_engine(bid=990, ask=1010)

    command = order(SHORT, expected_price=1000, slippage_bps=100)

    assert only(engine.apply(command), PositionOpened).open_price == 990


def test_place_market_short_when_bid_beyond_slippage_bound_rejects_slippage_exceeded() -> None:
    # 990 * 10,000 = 9,900,000 < 1000 * 9,901 = 9,901,000.
    engine = make_engine(bid=990, ask=1010)

    command = order(SHORT, expected_price=1000, slippage_bps=99)

    assert code_of(engine.apply(command)) == RejectCode.SLIPPAGE_EXCEEDED


def test_place_market_order_when_price_moved_in_traders_favour_ignores_slippage() -> None:
    engine = make_engine(bid=990, ask=1010)

    only(engine.apply(order(LONG, expected_price=2000, slippage_bps=0)), PositionOpened)
    only(engine.apply(order(SHORT, expected_price=500, slippage_bps=0)), PositionOpened)


def test_place_market_order_when_zero_slippage_requires_the_exact_price() -> None:
    engine = make_engine(bid=990, ask=1010)

    only(engine.apply(order(LONG, expected_price=1010, slippage_bps=0)), PositionOpened)
    command = order(LONG, expected_price=1009, slippage_bps=0)
    assert code_of(engine.apply(command)) == RejectCode.SLIPPAGE_EXCEEDED


def test_place_market_order_when_only_expected_price_given_does_not_bound_the_fill() -> None:
    engine = make_engine(bid=990, ask=1010)

    only(engine.apply(order(LONG, expected_price=1)), PositionOpened)


def test_place_market_order_when_slippage_without_expected_price_rejects_invalid_slippage() -> None:
    # A bound with nothing to measure from would open with no bound at all.
    engine = make_engine(bid=990, ask=1010)

    assert code_of(engine.apply(order(SHORT, slippage_bps=0))) == RejectCode.INVALID_SLIPPAGE
    assert code_of(engine.apply(order(LONG, slippage_bps=100))) == RejectCode.INVALID_SLIPPAGE
    assert view(engine).used_margin == 0


def test_place_order_when_expiry_is_a_year_ahead_places_and_a_moment_later_rejects() -> None:
    engine = make_engine(bid=1000)

    late = order(LONG, order_type=LIMIT, price=900, expires_at=T0 + YEAR_MS + 1)
    assert code_of(engine.apply(late)) == RejectCode.INVALID_EXPIRY
    last = order(LONG, order_type=LIMIT, price=900, expires_at=T0 + YEAR_MS)
    assert only(engine.apply(last), OrderPlaced).expires_at == T0 + YEAR_MS


def test_place_market_order_when_a_price_is_given_rejects_invalid_order_price() -> None:
    engine = make_engine(bid=1000)

    assert code_of(engine.apply(order(LONG, price=1000))) == RejectCode.INVALID_ORDER_PRICE


def test_place_market_short_when_slippage_is_the_full_10000_bps_accepts_any_bid() -> None:
    engine = make_engine(bid=990, ask=1010)

    only(engine.apply(order(SHORT, expected_price=10**9, slippage_bps=10_000)), PositionOpened)


# -- exits at entry -------------------------------------------------------------------------


def test_place_market_long_when_take_profit_not_above_bid_rejects_invalid_take_profit() -> None:
    # A long closes at the bid 990: take-profit must be above it (even 1000 < ask is fine).
    engine = make_engine(bid=990, ask=1010)

    assert code_of(engine.apply(order(LONG, take_profit=990))) == RejectCode.INVALID_TAKE_PROFIT
    assert only(engine.apply(order(LONG, take_profit=991)), PositionOpened).take_profit == 991


def test_place_market_long_when_stop_loss_not_between_zero_and_bid_rejects_invalid_stop_loss() -> (
    None
):
    engine = make_engine(bid=990, ask=1010)

    for stop_loss in (990, 0, -5):
        command = order(LONG, stop_loss=stop_loss)
        assert code_of(engine.apply(command)) == RejectCode.INVALID_STOP_LOSS
    assert only(engine.apply(order(LONG, stop_loss=989)), PositionOpened).stop_loss == 989


def test_place_market_short_when_take_profit_not_between_zero_and_ask_rejects_invalid_tp() -> None:
    # A short closes at the ask 1010: take-profit must be below it, and positive.
    engine = make_engine(bid=990, ask=1010)

    for take_profit in (1010, 0, -1):
        command = order(SHORT, take_profit=take_profit)
        assert code_of(engine.apply(command)) == RejectCode.INVALID_TAKE_PROFIT
    assert only(engine.apply(order(SHORT, take_profit=1009)), PositionOpened).take_profit == 1009


def test_place_market_short_when_stop_loss_not_above_ask_rejects_invalid_stop_loss() -> None:
    engine = make_engine(bid=990, ask=1010)

    assert code_of(engine.apply(order(SHORT, stop_loss=1010))) == RejectCode.INVALID_STOP_LOSS
    assert only(engine.apply(order(SHORT, stop_loss=1011)), PositionOpened).stop_loss == 1011


def test_place_market_order_when_take_profit_and_stop_loss_both_invalid_rejects_take_profit() -> (
    None
):
    engine = make_engine(bid=1000)

    command = order(LONG, take_profit=900, stop_loss=1100)

    assert code_of(engine.apply(command)) == RejectCode.INVALID_TAKE_PROFIT


def test_place_market_order_when_trailing_distance_not_positive_rejects_invalid_trailing() -> None:
    engine = make_engine(bid=1000)

    for distance in (0, -3):
        command = order(LONG, trailing_distance=distance)
        assert code_of(engine.apply(command)) == RejectCode.INVALID_TRAILING_DISTANCE


# -- balance, size, liquidation -------------------------------------------------------------


def test_place_market_order_when_margin_equals_free_margin_opens() -> None:
    engine = make_engine(bid=1000, balance=10_000)

    open_position(engine, LONG, 10_000, 10)

    assert view(engine).free_margin == 0
    assert code_of(engine.apply(order(LONG, 1, 100))) == RejectCode.INSUFFICIENT_BALANCE


def test_place_market_order_when_margin_exceeds_free_margin_after_a_loss_rejects() -> None:
    # Balance 20,000; one unit long at 1000; bid 999: pnl -100; free = 20,000 - 100 - 10,000.
    engine = make_engine(bid=1000, balance=20_000)
    open_position(engine, LONG, 10_000, 10)
    events_of(tick(engine, 999))

    assert view(engine).free_margin == 9_900
    assert code_of(engine.apply(order(LONG, 9_901, 10))) == RejectCode.INSUFFICIENT_BALANCE
    open_position(engine, LONG, 9_900, 10)


def test_place_market_order_when_quantity_is_exactly_one_step_opens() -> None:
    # 100 * 10 * 10^6 // 1000 = 10^6: one step. dist = 100 * 5,000 * 10^6 // (10^6 * 10^4) = 50.
    engine = make_engine(bid=1000)

    opened = open_position(engine, LONG, 100, 10)

    assert (opened.quantity, opened.liquidation_price) == (1_000_000, 950)


def test_place_market_order_when_quantity_below_one_step_rejects_position_too_small() -> None:
    # 999 * 1 * 10^6 // 1000 = 999,000 < 10^6.
    engine = make_engine(bid=1000)

    assert code_of(engine.apply(order(LONG, 999, 1))) == RejectCode.POSITION_TOO_SMALL
    assert code_of(engine.apply(order(SHORT, 999, 1))) == RejectCode.POSITION_TOO_SMALL


def test_place_market_long_when_mark_at_liquidation_price_rejects_would_liquidate() -> None:
    # Feed 800 / 1000: mark 900. Long at 1000, margin 10,000 x5: q = 5 * 10^7,
    # dist = 5 * 10^13 // (5 * 10^7 * 10^4) = 100: liquidation 900 = mark.
    engine = make_engine(bid=800, ask=1000)

    assert code_of(engine.apply(order(LONG, 10_000, 5))) == RejectCode.WOULD_LIQUIDATE
    assert engine.state.positions == {}


def test_place_market_long_when_mark_just_above_liquidation_price_opens() -> None:
    # Feed 802 / 1000: mark 901 > liquidation 900.
    engine = make_engine(bid=802, ask=1000)

    assert open_position(engine, LONG, 10_000, 5).liquidation_price == 900


def test_place_market_short_when_mark_at_liquidation_price_rejects_would_liquidate() -> None:
    # Feed 1000 / 1200: mark 1100. Short at 1000, q = 5 * 10^7, dist 100: liquidation 1100.
    engine = make_engine(bid=1000, ask=1200)

    assert code_of(engine.apply(order(SHORT, 10_000, 5))) == RejectCode.WOULD_LIQUIDATE


def test_place_market_short_when_mark_just_below_liquidation_price_opens() -> None:
    # Feed 1000 / 1198: mark 1099 < liquidation 1100.
    engine = make_engine(bid=1000, ask=1198)

    assert open_position(engine, SHORT, 10_000, 5).liquidation_price == 1100


def test_place_market_order_when_leverage_high_and_spread_wide_rejects_would_liquidate() -> None:
    # Feed 900 / 1100 (mark 1000), long x100 at 1100: q = 10^12 // 1100 -> 909,000,000;
    # dist = 5 * 10^13 // (909,000,000 * 10^4) = 5; liquidation 1095 > mark 1000.
    engine = make_engine(bid=900, ask=1100)

    assert code_of(engine.apply(order(LONG, 10_000, 100))) == RejectCode.WOULD_LIQUIDATE


def test_place_market_order_when_stop_loss_at_or_past_liquidation_rejects_and_opens_nothing() -> (
    None
):
    # 10,000 x10 at 1000: liquidation 950 for a long, 1050 for a short. A stop at or past it
    # would never fire: the position is liquidated first.
    engine = make_engine(bid=1000)

    for side, stop in ((LONG, 950), (LONG, 900), (SHORT, 1050), (SHORT, 1100)):
        command = order(side, stop_loss=stop)
        assert code_of(engine.apply(command)) == RejectCode.STOP_LOSS_BEYOND_LIQUIDATION
    assert view(engine).used_margin == 0
    assert only(engine.apply(order(LONG, stop_loss=951)), PositionOpened).stop_loss == 951
    assert only(engine.apply(order(SHORT, stop_loss=1049)), PositionOpened).stop_loss == 1049
