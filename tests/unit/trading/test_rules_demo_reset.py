"""ResetDemoAccount: every position closed as a manual close would, every entry cancelled, the
balance set to the demo balance, in one command that is refused whole or carried out whole."""

from __future__ import annotations

import msgspec

from cryptocfd.trading.commands import ResetDemoAccount
from cryptocfd.trading.demo import DEMO_BALANCE_CENTS
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import (
    Accepted,
    CloseReason,
    FundsDeposited,
    FundsWithdrawn,
    OrderCancelled,
    PositionClosed,
)
from cryptocfd.trading.rejections import RejectCode
from cryptocfd.trading.snapshot.hashing import state_digest
from cryptocfd.trading.snapshot.image import EngineImage
from tests.unit.trading.builders import (
    ACCOUNT,
    LIMIT,
    LONG,
    OTHER,
    SHORT,
    T0,
    TEST_ASSETS,
    close,
    code_of,
    events_of,
    kinds,
    make_engine,
    money_is_conserved,
    of_type,
    only,
    open_position,
    place_pending,
    rid,
    tick,
    view,
)


def reset(
    account_id: int = ACCOUNT, ts: int = T0, request_id: str | None = None
) -> ResetDemoAccount:
    return ResetDemoAccount(request_id or rid(), ts, account_id)


def trading_engine() -> Engine:
    """Account 1 at the demo balance with a TST long (one unit), a short (0.2 unit) and two
    pending entries, and account 2 with a long of its own; then TST rises 10 points, so account
    1 is 8.00 up (10.00 on the long, 2.00 down on the short)."""
    engine = make_engine(balance=DEMO_BALANCE_CENTS, accounts=(ACCOUNT, OTHER))
    open_position(engine, LONG)
    place_pending(engine, LONG, LIMIT, 900)
    open_position(engine, SHORT, 10_000, 2)
    open_position(engine, LONG, account_id=OTHER)
    place_pending(engine, SHORT, LIMIT, 1_200, 5_000)
    events_of(tick(engine, 1_010, ts=T0 + 1_000))
    return engine


def test_reset_when_positions_and_entries_are_open_closes_cancels_and_restores_the_balance() -> (
    None
):
    engine = trading_engine()

    outcome = engine.apply(reset(ts=T0 + 1_000))

    assert kinds(outcome) == [
        "PositionClosed",
        "PositionClosed",
        "OrderCancelled",
        "OrderCancelled",
        "FundsWithdrawn",
    ]
    assert [e.order_id for e in of_type(outcome, PositionClosed)] == [1, 3]
    assert only(outcome, FundsWithdrawn).amount == 800
    assert [e.order_id for e in of_type(outcome, OrderCancelled)] == [2, 5]
    assert {e.reason for e in of_type(outcome, PositionClosed)} == {CloseReason.CLOSED}
    after = view(engine)
    assert (after.balance, after.equity, after.used_margin) == (
        DEMO_BALANCE_CENTS,
        DEMO_BALANCE_CENTS,
        0,
    )
    assert [p.account_id for p in engine.state.positions.values()] == [OTHER]
    assert money_is_conserved(engine)


def test_reset_when_closing_closes_each_position_exactly_as_close_position_would() -> None:
    by_reset, by_hand = trading_engine(), trading_engine()

    closes = of_type(by_reset.apply(reset(ts=T0 + 1_000)), PositionClosed)
    manual = [only(by_hand.apply(close(i, ts=T0 + 1_000)), PositionClosed) for i in (1, 3)]

    assert closes == manual


def test_reset_when_the_balance_is_below_the_demo_balance_deposits_the_difference() -> None:
    engine = make_engine(balance=DEMO_BALANCE_CENTS)
    open_position(engine, LONG)
    events_of(tick(engine, 990, ts=T0 + 1_000))  # the long is 10.00 down

    outcome = engine.apply(reset(ts=T0 + 1_000))

    assert only(outcome, FundsDeposited).amount == 1_000
    assert view(engine).balance == DEMO_BALANCE_CENTS


def test_reset_when_a_quote_is_stale_is_refused_whole_and_changes_nothing() -> None:
    engine = trading_engine()
    events_of(tick(engine, 6_000_000, 6_001_000, asset="BTC", ts=T0 + 20_000))
    before = state_digest(engine.state, [])

    outcome = engine.apply(reset(ts=T0 + 20_000))  # TST's quote is 19 s old

    assert code_of(outcome) is RejectCode.PRICE_STALE
    assert state_digest(engine.state, []) == before


def test_reset_when_nothing_is_open_and_the_balance_is_right_is_accepted_with_no_events() -> None:
    engine = make_engine(balance=DEMO_BALANCE_CENTS)

    assert engine.apply(reset()) == Accepted(())


def test_reset_when_the_account_is_unknown_is_refused_unknown_account() -> None:
    assert code_of(make_engine().apply(reset(account_id=404))) is RejectCode.UNKNOWN_ACCOUNT


def test_reset_when_its_request_id_repeats_returns_the_first_outcome_and_changes_nothing() -> None:
    engine = trading_engine()
    first = engine.apply(reset(ts=T0 + 1_000, request_id="reset-1"))
    open_position(engine, LONG, ts=T0 + 1_000)
    before = state_digest(engine.state, [])

    again = engine.apply(reset(ts=T0 + 2_000, request_id="reset-1"))

    assert again == first
    assert state_digest(engine.state, []) == before


def test_reset_when_replayed_from_its_events_or_restored_from_an_image_reaches_the_same_hash() -> (
    None
):
    engine = trading_engine()
    image = msgspec.msgpack.encode(engine.image())
    outcome = engine.apply(reset(ts=T0 + 1_000, request_id="reset-1"))

    restored = Engine.from_image(msgspec.msgpack.decode(image, type=EngineImage), TEST_ASSETS)
    restored.replay(events_of(outcome))
    restored.remember("reset-1", T0 + 1_000, outcome)

    assert only(outcome, FundsWithdrawn).amount == 800
    assert restored.state_hash() == engine.state_hash()
