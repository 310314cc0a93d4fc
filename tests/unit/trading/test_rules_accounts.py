"""Accounts: opening, deposits, withdrawals, the account figures and the house's books."""

from __future__ import annotations

from cryptocfd.core.money import Bps, Cents
from cryptocfd.trading.commands import OpenAccount
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import AccountOpened, FundsDeposited, FundsWithdrawn
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.state import AccountView
from tests.unit.trading.builders import (
    ACCOUNT,
    LIMIT,
    LONG,
    OTHER,
    T0,
    TEST_ASSETS,
    close,
    code_of,
    deposit,
    events_of,
    make_engine,
    money_is_conserved,
    open_position,
    place_pending,
    rid,
    tick,
    view,
    withdraw,
)


def test_open_account_when_new_emits_account_opened_with_balance() -> None:
    engine = Engine(assets=TEST_ASSETS)

    outcome = engine.apply(OpenAccount(rid(), T0, 7, Cents(50_000)))

    assert events_of(outcome) == (AccountOpened(7, Cents(50_000), T0),)
    assert view(engine, 7) == AccountView(
        account_id=7,
        balance=Cents(50_000),
        equity=Cents(50_000),
        used_margin=Cents(0),
        free_margin=Cents(50_000),
        margin_level_bps=None,
        unrealized_pnl=Cents(0),
    )
    assert engine.state.deposited == 50_000


def test_open_account_when_balance_is_zero_is_accepted() -> None:
    engine = Engine(assets=TEST_ASSETS)

    events_of(engine.apply(OpenAccount(rid(), T0, 7, Cents(0))))

    assert view(engine, 7).balance == 0


def test_open_account_when_id_exists_rejects_account_exists() -> None:
    engine = make_engine(bid=None, balance=1_000)

    outcome = engine.apply(OpenAccount(rid(), T0, ACCOUNT, Cents(5_000)))

    assert code_of(outcome) == RejectCode.ACCOUNT_EXISTS
    assert view(engine).balance == 1_000


def test_open_account_when_balance_negative_rejects_invalid_amount() -> None:
    engine = Engine(assets=TEST_ASSETS)

    assert code_of(engine.apply(OpenAccount(rid(), T0, 7, Cents(-1)))) == RejectCode.INVALID_AMOUNT
    assert 7 not in engine.state.accounts


def test_open_account_when_exists_and_balance_negative_rejects_account_exists_first() -> None:
    engine = make_engine(bid=None)

    outcome = engine.apply(OpenAccount(rid(), T0, ACCOUNT, Cents(-1)))

    assert code_of(outcome) == RejectCode.ACCOUNT_EXISTS


def test_account_view_when_account_unknown_is_unknown_account() -> None:
    engine = make_engine(bid=None)

    result = engine.account(99)

    assert isinstance(result, Rejection)
    assert result.code == RejectCode.UNKNOWN_ACCOUNT


def test_deposit_when_positive_credits_balance() -> None:
    engine = make_engine(bid=None, balance=1_000)

    outcome = engine.apply(deposit(250))

    assert events_of(outcome) == (FundsDeposited(ACCOUNT, Cents(250), T0),)
    assert view(engine).balance == 1_250
    assert engine.state.deposited == 1_250


def test_deposit_when_account_unknown_rejects_unknown_account() -> None:
    engine = make_engine(bid=None)

    assert code_of(engine.apply(deposit(100, account_id=99))) == RejectCode.UNKNOWN_ACCOUNT


def test_deposit_when_amount_not_positive_rejects_invalid_amount() -> None:
    engine = make_engine(bid=None, balance=1_000)

    assert code_of(engine.apply(deposit(0))) == RejectCode.INVALID_AMOUNT
    assert code_of(engine.apply(deposit(-5))) == RejectCode.INVALID_AMOUNT
    assert view(engine).balance == 1_000


def test_deposit_when_account_unknown_and_amount_invalid_rejects_unknown_account_first() -> None:
    engine = make_engine(bid=None)

    assert code_of(engine.apply(deposit(0, account_id=99))) == RejectCode.UNKNOWN_ACCOUNT


def test_withdraw_when_within_balance_debits_balance() -> None:
    engine = make_engine(bid=None, balance=1_000)

    outcome = engine.apply(withdraw(400))

    assert events_of(outcome) == (FundsWithdrawn(ACCOUNT, Cents(400), T0),)
    assert view(engine).balance == 600
    assert engine.state.deposited == 600


def test_withdraw_when_whole_balance_leaves_zero() -> None:
    engine = make_engine(bid=None, balance=1_000)

    events_of(engine.apply(withdraw(1_000)))

    assert view(engine).balance == 0


def test_withdraw_when_account_unknown_rejects_unknown_account() -> None:
    engine = make_engine(bid=None)

    assert code_of(engine.apply(withdraw(1, account_id=99))) == RejectCode.UNKNOWN_ACCOUNT


def test_withdraw_when_amount_not_positive_rejects_invalid_amount() -> None:
    engine = make_engine(bid=None, balance=1_000)

    assert code_of(engine.apply(withdraw(0))) == RejectCode.INVALID_AMOUNT
    assert code_of(engine.apply(withdraw(-1))) == RejectCode.INVALID_AMOUNT


def test_withdraw_when_amount_exceeds_balance_rejects_insufficient_balance() -> None:
    engine = make_engine(bid=None, balance=1_000)

    assert code_of(engine.apply(withdraw(1_001))) == RejectCode.INSUFFICIENT_BALANCE
    assert view(engine).balance == 1_000


def test_withdraw_when_amount_exceeds_free_margin_rejects_insufficient_balance() -> None:
    # Balance 30,000; a long of margin 10,000 at 1000 leaves free margin 20,000.
    engine = make_engine(balance=30_000)
    open_position(engine, LONG, 10_000, 10)

    assert view(engine).free_margin == 20_000
    assert code_of(engine.apply(withdraw(20_001))) == RejectCode.INSUFFICIENT_BALANCE
    events_of(engine.apply(withdraw(20_000)))
    assert view(engine).balance == 10_000


def test_withdraw_when_position_has_unrealized_loss_is_bounded_by_free_margin() -> None:
    # One unit long at 1000 (margin 10,000); bid 980 is a loss of 20 * 100 = 2,000 cents.
    # free margin = 30,000 - 2,000 - 10,000 = 18,000.
    engine = make_engine(balance=30_000)
    open_position(engine, LONG, 10_000, 10)
    events_of(tick(engine, 980))

    assert view(engine).free_margin == 18_000
    assert code_of(engine.apply(withdraw(18_001))) == RejectCode.INSUFFICIENT_BALANCE
    events_of(engine.apply(withdraw(18_000)))


def test_withdraw_when_position_is_in_unrealized_profit_cannot_take_the_profit() -> None:
    # Long margin 1,000 at leverage 100: q = 1,000 * 100 * 10^6 // 1000 = 10^8 (one unit).
    # Bid 1040 is +40 * 100 = 4,000 cents unrealized, but profit is not free until realized:
    # free margin = 1,000 + min(0, 4,000) - 1,000 = 0.
    engine = make_engine(balance=1_000)
    open_position(engine, LONG, 1_000, 100)
    events_of(tick(engine, 1040))

    assert view(engine).equity == 5_000
    assert view(engine).free_margin == 0
    assert code_of(engine.apply(withdraw(1))) == RejectCode.INSUFFICIENT_BALANCE
    assert view(engine).balance == 1_000


def test_withdraw_when_pending_order_reserves_margin_is_bounded_by_free_margin() -> None:
    engine = make_engine(balance=30_000)
    place_pending(engine, LONG, LIMIT, 900, 10_000, 10)

    assert view(engine).used_margin == 10_000
    assert code_of(engine.apply(withdraw(20_001))) == RejectCode.INSUFFICIENT_BALANCE
    events_of(engine.apply(withdraw(20_000)))


def test_account_view_when_positions_open_reports_equity_and_margin_level() -> None:
    # Long one unit at 1000 with margin 10,000 and a pending buy limit reserving 5,000.
    # At bid 990: unrealized = (990 - 1000) * 10^8 // 10^6 = -1,000.
    # equity = 100,000 - 1,000 = 99,000; used = 15,000; free = 84,000;
    # margin level = 99,000 * 10,000 // 15,000 = 66,000 bps.
    engine = make_engine(balance=100_000)
    open_position(engine, LONG, 10_000, 10)
    place_pending(engine, LONG, LIMIT, 900, 5_000, 10)
    events_of(tick(engine, 990))

    assert view(engine) == AccountView(
        account_id=ACCOUNT,
        balance=Cents(100_000),
        equity=Cents(99_000),
        used_margin=Cents(15_000),
        free_margin=Cents(84_000),
        margin_level_bps=Bps(66_000),
        unrealized_pnl=Cents(-1_000),
        seq=2,  # the open and the pending entry
    )


def test_account_view_when_margin_level_is_fractional_rounds_down() -> None:
    # Three longs of one unit each (margin 10,000) at 1000; bid 1001: pnl = 3 * 100 = 300.
    # equity = 40,300; level = 40,300 * 10,000 // 30,000 = 13,433 (13,433.33 floored).
    engine = make_engine(balance=40_000)
    for _ in range(3):
        open_position(engine, LONG, 10_000, 10)
    events_of(tick(engine, 1001))

    assert view(engine).equity == 40_300
    assert view(engine).margin_level_bps == 13_433


def test_close_when_pnl_settles_house_balance_moves_opposite_and_money_is_conserved() -> None:
    # Two traders: ACCOUNT long one unit, OTHER short one unit, both at 1000; close at 1010.
    # The long earns +1,000, the short loses -1,000: the house nets zero.
    engine = make_engine(accounts=(ACCOUNT, OTHER), balance=50_000)
    long_id = open_position(engine, LONG, 10_000, 10).order_id
    events_of(tick(engine, 1010))
    events_of(engine.apply(close(long_id)))

    assert view(engine).balance == 51_000
    assert engine.state.house_balance == -1_000
    assert money_is_conserved(engine)
    events_of(engine.apply(deposit(5_000, account_id=OTHER)))
    events_of(engine.apply(withdraw(2_500)))
    assert engine.state.deposited == 100_000 + 5_000 - 2_500
    assert money_is_conserved(engine)


def test_account_view_when_positions_open_and_close_across_assets_keeps_unrealized_pnl_exact() -> (
    None
):
    # TST feed 990 / 1010 and BTC feed 6,000,000 (house 5,998,800 / 6,001,200).
    # Each step asks for the figures first, so the engine's cached sum must be kept current
    # by every open and close in between.
    engine = make_engine(bid=990, ask=1010, balance=100_000)
    events_of(tick(engine, 6_000_000, asset="BTC"))
    assert view(engine).unrealized_pnl == 0

    # TST long 10,000 x10 at 1010: q = 10^11 // 1010 -> 99,000,000;
    # at the bid 990: (990 - 1010) * 99,000,000 // 10^6 = -1,980.
    tst = open_position(engine, LONG, 10_000, 10).order_id
    assert view(engine).unrealized_pnl == -1_980

    # BTC long 10,000 x10 at 6,001,200: q = 10^13 // 6,001,200 -> 1,666,300;
    # at 5,998,800: -2,400 * 1,666,300 // 10^8 = -40 (-39.99 floored).
    open_position(engine, LONG, 10_000, 10, asset="BTC")
    assert view(engine).unrealized_pnl == -2_020

    # Close half the TST long: 49,500,000 -> 49,000,000 at 990 realizes -20 * 49 = -980;
    # the 50,000,000 left shows -1,000.
    events_of(engine.apply(close(tst, 5_000)))
    figures = view(engine)
    assert (figures.balance, figures.unrealized_pnl, figures.used_margin) == (
        99_020,
        -1_040,
        15_000,
    )

    # BTC feed 6,010,000: house bid 6,008,798; (6,008,798 - 6,001,200) * 1,666,300 // 10^8
    # = 126 (126.61 floored). TST is unchanged at -1,000.
    events_of(tick(engine, 6_010_000, asset="BTC"))
    assert view(engine).unrealized_pnl == -874
    events_of(engine.apply(close(tst)))
    assert view(engine).unrealized_pnl == 126
    assert view(engine).balance == 98_020
