"""Asset controls (``docs/engine.md``, "Controls"): close-only, halted, the net exposure limit
and the live accounts' leverage, each checked where it binds."""

from __future__ import annotations

from cryptocfd.core.accounts import LIVE_ACCOUNT_BASE
from cryptocfd.core.money import Cents
from cryptocfd.trading.commands import AssetMode, ResetDemoAccount, SetAssetControls
from cryptocfd.trading.engine import Engine, Outcome
from cryptocfd.trading.events import (
    AssetControlsSet,
    OrderRejected,
    PositionClosed,
    PositionOpened,
)
from cryptocfd.trading.rejections import RejectCode

from .builders import (
    ACCOUNT,
    LIMIT,
    LONG,
    SHORT,
    T0,
    UNIT,
    cancel,
    close,
    code_of,
    events_of,
    make_engine,
    only,
    open_position,
    order,
    place_pending,
    rid,
    tick,
)

LIVE = LIVE_ACCOUNT_BASE + 1
OPEN, CLOSE_ONLY, HALTED = AssetMode.OPEN, AssetMode.CLOSE_ONLY, AssetMode.HALTED


def controls(
    engine: Engine,
    mode: AssetMode = OPEN,
    *,
    exposure: int | None = None,
    leverage: int | None = None,
    asset: str = "TST",
) -> Outcome:
    return engine.apply(
        SetAssetControls(
            rid(), T0, asset, mode, None if exposure is None else Cents(exposure), leverage
        )
    )


def test_set_controls_when_valid_emits_the_new_values_and_keeps_them() -> None:
    engine = make_engine()
    event = only(controls(engine, CLOSE_ONLY, exposure=0, leverage=5), AssetControlsSet)
    assert (event.mode, event.max_net_exposure, event.max_live_leverage) == (CLOSE_ONLY, 0, 5)
    assert engine.state.assets["TST"].controls.mode is CLOSE_ONLY


def test_set_controls_when_out_of_range_refuses_with_a_stable_code() -> None:
    engine = make_engine()
    assert code_of(controls(engine, exposure=-1)) is RejectCode.INVALID_CONTROLS
    assert code_of(controls(engine, leverage=0)) is RejectCode.INVALID_CONTROLS
    assert code_of(controls(engine, leverage=101)) is RejectCode.INVALID_CONTROLS
    assert code_of(controls(engine, asset="NOPE")) is RejectCode.UNKNOWN_ASSET


def test_order_when_the_asset_is_close_only_is_refused_while_closes_and_fills_go_on() -> None:
    engine = make_engine()
    pos = open_position(engine, LONG)
    entry = place_pending(engine, LONG, LIMIT, 990)
    events_of(controls(engine, CLOSE_ONLY))
    assert code_of(engine.apply(order(LONG))) is RejectCode.ASSET_CLOSE_ONLY
    assert code_of(engine.apply(order(SHORT, order_type=LIMIT, price=1010))) is (
        RejectCode.ASSET_CLOSE_ONLY
    )
    filled = only(tick(engine, 990), PositionOpened)  # the entry placed before fills
    assert filled.order_id == entry.order_id
    only(engine.apply(close(pos.order_id)), PositionClosed)


def test_order_when_the_asset_is_halted_refuses_opens_and_closes_but_liquidates() -> None:
    engine = make_engine()
    pos = open_position(engine, LONG, leverage=10)  # liquidation at 950
    entry = place_pending(engine, LONG, LIMIT, 980)
    events_of(controls(engine, HALTED))
    assert code_of(engine.apply(order(LONG))) is RejectCode.ASSET_HALTED
    assert code_of(engine.apply(close(pos.order_id))) is RejectCode.ASSET_HALTED
    rejected = only(tick(engine, 975), OrderRejected)  # crossed: filling it would open
    assert (rejected.order_id, rejected.code) == (entry.order_id, RejectCode.ASSET_HALTED)
    closed = only(tick(engine, 950), PositionClosed)
    assert (closed.order_id, closed.reason) == (pos.order_id, "liquidated")


def test_cancel_and_reset_when_halted_cancels_but_refuses_a_reset_that_would_close() -> None:
    engine = make_engine()
    entry = place_pending(engine, LONG, LIMIT, 980)
    events_of(controls(engine, HALTED))
    events_of(engine.apply(cancel(entry.order_id)))
    open_position_engine = make_engine()
    open_position(open_position_engine, LONG)
    events_of(controls(open_position_engine, HALTED))
    reset = ResetDemoAccount(rid(), T0, ACCOUNT)
    assert code_of(open_position_engine.apply(reset)) is RejectCode.ASSET_HALTED


def test_order_when_it_would_pass_the_net_exposure_limit_is_refused_at_the_mark() -> None:
    engine = make_engine(accounts=(ACCOUNT, 2))
    # 1,000.00 of net exposure at the mark: one unit at 1000 is exactly at it.
    events_of(controls(engine, exposure=100_000))
    open_position(engine, LONG)  # net 1 unit = 1,000.00: not past the limit
    assert code_of(engine.apply(order(LONG, 100, account_id=2))) is RejectCode.EXPOSURE_LIMIT
    only(engine.apply(order(SHORT, 20_000, account_id=2)), PositionOpened)  # back to -1 unit
    assert code_of(engine.apply(order(SHORT, 100))) is RejectCode.EXPOSURE_LIMIT
    # A pending entry is judged when placed, with its quantity at its own price.
    refused = engine.apply(order(SHORT, 200, order_type=LIMIT, price=1010))
    assert code_of(refused) is RejectCode.EXPOSURE_LIMIT


def test_order_when_it_brings_the_net_back_toward_zero_is_allowed_above_the_limit() -> None:
    engine = make_engine(accounts=(ACCOUNT, 2))
    open_position(engine, LONG, 30_000)  # 3 units
    events_of(controls(engine, exposure=100_000))  # the book is already past it
    assert code_of(engine.apply(order(LONG, 100, account_id=2))) is RejectCode.EXPOSURE_LIMIT
    only(engine.apply(order(SHORT, 10_000, account_id=2)), PositionOpened)


def test_fill_when_it_would_pass_the_net_exposure_limit_is_rejected_and_released() -> None:
    engine = make_engine(accounts=(ACCOUNT, 2))
    entry = place_pending(engine, LONG, LIMIT, 990, account_id=2)
    open_position(engine, LONG)  # 1 unit
    events_of(controls(engine, exposure=150_000))
    rejected = only(tick(engine, 990), OrderRejected)  # 1 + 1.01 units at 990 > 1,500.00
    assert (rejected.order_id, rejected.code) == (entry.order_id, RejectCode.EXPOSURE_LIMIT)
    assert engine.state.accounts[2].used_margin == 0


def test_exposure_limit_when_live_and_demo_trade_counts_each_kind_apart() -> None:
    engine = make_engine(accounts=(ACCOUNT, LIVE))
    events_of(controls(engine, exposure=100_000))
    open_position(engine, LONG)  # demo: 1 unit
    open_position(engine, LONG, account_id=LIVE)  # live: 1 unit, its own net
    assert code_of(engine.apply(order(LONG, 100, account_id=LIVE))) is RejectCode.EXPOSURE_LIMIT


def test_order_when_live_leverage_is_above_the_live_limit_is_refused_demo_is_not() -> None:
    engine = make_engine(accounts=(ACCOUNT, LIVE))
    events_of(controls(engine, leverage=5))
    refused = engine.apply(order(LONG, leverage=10, account_id=LIVE))
    assert code_of(refused) is RejectCode.LEVERAGE_OUT_OF_RANGE
    only(engine.apply(order(LONG, leverage=5, account_id=LIVE)), PositionOpened)
    only(engine.apply(order(LONG, leverage=10)), PositionOpened)


def test_set_controls_when_set_back_to_open_trades_as_before() -> None:
    engine = make_engine()
    events_of(controls(engine, HALTED, exposure=0, leverage=1))
    events_of(controls(engine))
    opened = only(engine.apply(order(LONG)), PositionOpened)
    assert opened.quantity == UNIT
