"""The ledger's rules: every event's lines sum to zero, and name the accounts whose sums are the
engine's figures."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cryptocfd.core.accounts import AccountKind, account_id_of
from cryptocfd.core.money import Cents, PriceTicks, QtyUnits
from cryptocfd.store.ledger import (
    FUNDING,
    HOUSE_CASH,
    cash_account,
    funding_account,
    house_account,
    ledger_lines,
    margin_account,
    reserve_account,
    withdrawal_account,
    withdrawal_reserve_account,
)
from cryptocfd.trading.commands import OrderType, Side
from cryptocfd.trading.events import (
    AccountOpened,
    CloseReason,
    Event,
    FundsDeposited,
    FundsWithdrawn,
    OrderCancelled,
    OrderExpired,
    OrderPlaced,
    OrderRejected,
    PositionClosed,
    PositionModified,
    PositionOpened,
    QuoteUpdated,
    TickHeld,
    WithdrawalHeld,
    WithdrawalPaid,
    WithdrawalReleased,
)

T0 = 1_700_000_000_000
cents = st.integers(0, 10**14)


def _money_events(account: int, amount: int, margin: int, pnl: int) -> list[Event]:
    long, market, limit = Side.LONG, OrderType.MARKET, OrderType.LIMIT
    return [
        AccountOpened(account, Cents(amount), T0),
        FundsDeposited(account, Cents(amount), T0),
        FundsWithdrawn(account, Cents(amount), T0),
        WithdrawalHeld(5, account, Cents(amount), T0),
        WithdrawalReleased(5, account, Cents(amount), T0),
        WithdrawalPaid(5, account, Cents(amount), T0),
        OrderPlaced(
            9, account, "BTC", long, limit, PriceTicks(1), Cents(margin), 2, None, None, None, None,
            T0,
        ),
        OrderCancelled(9, account, Cents(margin), T0),
        OrderExpired(9, account, Cents(margin), T0),
        OrderRejected(9, account, Cents(margin), "PRICE_STALE", T0),
        PositionOpened(
            9, account, "BTC", long, market, Cents(margin), 2, QtyUnits(5), PriceTicks(10),
            PriceTicks(6), None, None,
            None, T0,
        ),
        PositionClosed(
            9, account, "BTC", long, CloseReason.CLOSED, QtyUnits(5), Cents(margin), PriceTicks(10),
            PriceTicks(11), Cents(pnl), QtyUnits(0), Cents(0), None,
            T0,
        ),
    ]  # fmt: skip


@given(st.integers(1, 10**9), cents, cents, st.integers(-(10**14), 10**14), cents)
def test_ledger_lines_when_any_event_moves_money_sum_to_zero(
    account: int, amount: int, margin: int, pnl: int, reserved: int
) -> None:
    for event in _money_events(account, amount, margin, pnl):
        assert sum((amount for _account, amount in ledger_lines(event, reserved)), Cents(0)) == 0


def test_ledger_lines_when_a_position_closes_credit_pnl_from_the_house_and_release_margin() -> None:
    closed = _money_events(7, 0, 5_000, -1_234)[-1]

    assert ledger_lines(closed) == [
        (cash_account(7), -1_234),
        (HOUSE_CASH, 1_234),
        (margin_account(7), -5_000),
        (reserve_account(7), 5_000),
    ]


def test_ledger_lines_when_a_pending_entry_fills_reserve_nothing_more() -> None:
    opened = _money_events(7, 0, 5_000, 0)[-2]

    assert ledger_lines(opened, reserved=5_000) == []
    assert ledger_lines(opened) == [(margin_account(7), 5_000), (reserve_account(7), -5_000)]


def test_ledger_lines_when_money_comes_in_or_goes_out_use_the_funding_account() -> None:
    opened, deposited, withdrawn = _money_events(7, 100, 0, 0)[:3]

    assert (
        ledger_lines(opened) == ledger_lines(deposited) == [(cash_account(7), 100), (FUNDING, -100)]
    )
    assert ledger_lines(withdrawn) == [(cash_account(7), -100), (FUNDING, 100)]


def test_ledger_lines_when_the_event_moves_no_money_are_none() -> None:
    quiet: list[Event] = [
        QuoteUpdated("BTC", PriceTicks(1), PriceTicks(2), PriceTicks(1), T0),
        TickHeld("BTC", PriceTicks(1), PriceTicks(2), T0),
        PositionModified(9, 7, None, PriceTicks(5), None, False, T0),
        AccountOpened(7, Cents(0), T0),
        PositionClosed(
            9,
            7,
            "BTC",
            Side.LONG,
            CloseReason.CLOSED,
            QtyUnits(5),
            Cents(0),
            PriceTicks(10),
            PriceTicks(10),
            Cents(0),
            QtyUnits(0),
            Cents(0),
            None,
            T0,
        ),
    ]

    assert [ledger_lines(event) for event in quiet] == [[]] * len(quiet)


def test_ledger_lines_when_a_withdrawal_is_held_then_paid_move_cash_only_on_payment() -> None:
    held, released, paid = _money_events(7, 300, 0, 0)[3:6]

    assert ledger_lines(held) == [
        (withdrawal_account(7), 300),
        (withdrawal_reserve_account(7), -300),
    ]
    assert ledger_lines(released) == [
        (withdrawal_account(7), -300),
        (withdrawal_reserve_account(7), 300),
    ]
    assert ledger_lines(paid) == [
        (cash_account(7), -300),
        (FUNDING, 300),
        (withdrawal_account(7), -300),
        (withdrawal_reserve_account(7), 300),
    ]


def test_ledger_lines_when_the_account_is_live_use_the_live_house_and_funding_accounts() -> None:
    live = account_id_of(7, AccountKind.LIVE)
    opened, deposited, withdrawn = _money_events(live, 100, 0, 0)[:3]
    closed = _money_events(live, 0, 5_000, 250)[-1]
    paid = _money_events(live, 300, 0, 0)[5]

    assert (
        ledger_lines(opened)
        == ledger_lines(deposited)
        == [
            (f"account:{live}:cash", 100),
            ("funding:live", -100),
        ]
    )
    assert ledger_lines(withdrawn) == [(cash_account(live), -100), ("funding:live", 100)]
    assert ledger_lines(closed)[:2] == [(cash_account(live), 250), ("house:live:cash", -250)]
    assert ledger_lines(paid)[:2] == [(cash_account(live), -300), ("funding:live", 300)]
    assert {funding_account(kind) for kind in AccountKind} == {FUNDING, "funding:live"}
    assert {house_account(kind) for kind in AccountKind} == {HOUSE_CASH, "house:live:cash"}
