"""The demo account: the balance it starts with, and starting it afresh.

A reset is one command, so it is decided against one state and logged as one record: it never
stops half-way (some positions closed, the balance not yet corrected), and two resets of the
same account cannot both top it up, because the engine applies them one after the other.
"""

from __future__ import annotations

from cryptocfd.core.money import Cents
from cryptocfd.trading.commands import ResetDemoAccount
from cryptocfd.trading.controls import halted_problem
from cryptocfd.trading.decide import UNKNOWN_ACCOUNT, Decision, close_event, quote_problem
from cryptocfd.trading.events import (
    CloseReason,
    Event,
    FundsDeposited,
    FundsWithdrawn,
    OrderCancelled,
    WithdrawalReleased,
)
from cryptocfd.trading.state import State

DEMO_BALANCE_CENTS = Cents(1_000_000)  # 10,000.00 USD: a new demo account's balance, and a reset's


def reset_demo_account(state: State, cmd: ResetDemoAccount) -> Decision:
    """Close every position as a full ``ClosePosition`` would, cancel every pending entry,
    release every withdrawal hold, then deposit or withdraw the difference to the demo
    balance; refused whole if any close is."""
    account = state.accounts.get(cmd.account_id)
    if account is None:
        return UNKNOWN_ACCOUNT
    events: list[Event] = []
    balance = account.balance
    for order_id in sorted(account.positions):
        pos = account.positions[order_id]
        asset = state.assets[pos.asset]
        problem = halted_problem(asset)
        if problem is not None:
            return problem
        quote = asset.quote
        if quote is None or cmd.ts - quote.ts > asset.spec.staleness_ms:
            return quote_problem(asset)
        closed = close_event(
            state, asset, order_id, CloseReason.CLOSED, pos.quantity, pos.margin, cmd.ts
        )
        balance += closed.pnl
        events.append(closed)
    for order_id in sorted(account.pending):
        order = account.pending[order_id]
        events.append(OrderCancelled(order_id, order.account_id, order.margin, cmd.ts))
    for withdrawal_id, hold in sorted(state.withdrawals.items()):
        if hold.account_id == account.id:  # never on the hot path: demo accounts hold none
            events.append(WithdrawalReleased(withdrawal_id, account.id, hold.amount, cmd.ts))
    if balance < DEMO_BALANCE_CENTS:
        events.append(FundsDeposited(account.id, DEMO_BALANCE_CENTS - balance, cmd.ts))
    elif balance > DEMO_BALANCE_CENTS:
        events.append(FundsWithdrawn(account.id, balance - DEMO_BALANCE_CENTS, cmd.ts))
    return tuple(events)
