"""Withdrawals in two steps: money is held when a trader asks, then paid or released.

Between the two, an operator checks the request; the held cents back no margin and no other
withdrawal, so what is approved can always be paid. Holding never lets the balance fall below
what open margin needs: a hold is judged against free margin, and each position's loss is
capped at its margin, so ``balance - used_margin - held`` never goes negative.
"""

from __future__ import annotations

from cryptocfd.core.money import Cents
from cryptocfd.trading.commands import HoldWithdrawal, PayWithdrawal, ReleaseWithdrawal
from cryptocfd.trading.decide import UNKNOWN_ACCOUNT, Decision, reject
from cryptocfd.trading.events import WithdrawalHeld, WithdrawalPaid, WithdrawalReleased
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.state import State


def hold_withdrawal(state: State, cmd: HoldWithdrawal) -> Decision:
    """Set the cents aside, if they are free."""
    account = state.accounts.get(cmd.account_id)
    if account is None:
        return UNKNOWN_ACCOUNT
    if cmd.amount <= 0:
        return reject(RejectCode.INVALID_AMOUNT, "the amount must be positive")
    if cmd.withdrawal_id in state.withdrawals:
        return reject(RejectCode.WITHDRAWAL_EXISTS, "that withdrawal is already held")
    if cmd.amount > state.free_margin(account):
        return reject(RejectCode.INSUFFICIENT_BALANCE, "the amount exceeds the free margin")
    return (WithdrawalHeld(cmd.withdrawal_id, cmd.account_id, cmd.amount, cmd.ts),)


def release_withdrawal(state: State, cmd: ReleaseWithdrawal) -> Decision:
    """Give the held cents back."""
    amount = _held(state, cmd.account_id, cmd.withdrawal_id)
    if isinstance(amount, Rejection):
        return amount
    return (WithdrawalReleased(cmd.withdrawal_id, cmd.account_id, amount, cmd.ts),)


def pay_withdrawal(state: State, cmd: PayWithdrawal) -> Decision:
    """Take the held cents out of the balance."""
    amount = _held(state, cmd.account_id, cmd.withdrawal_id)
    if isinstance(amount, Rejection):
        return amount
    return (WithdrawalPaid(cmd.withdrawal_id, cmd.account_id, amount, cmd.ts),)


def _held(state: State, account_id: int, withdrawal_id: int) -> Cents | Rejection:
    """What ``account_id`` holds for ``withdrawal_id``; another account's hold is not found."""
    if account_id not in state.accounts:
        return UNKNOWN_ACCOUNT
    hold = state.withdrawals.get(withdrawal_id)
    if hold is None or hold.account_id != account_id:
        return reject(RejectCode.WITHDRAWAL_NOT_FOUND, "no such withdrawal is held")
    return hold.amount
