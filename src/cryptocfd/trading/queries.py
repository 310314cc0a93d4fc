"""Queries, and the view a command may ask for: answered from the state without changing it.

A query travels with the commands (so it sees the effect of every command sent before it) but
changes nothing and is never logged; answering one is a function of the state alone.
"""

from __future__ import annotations

import msgspec

from cryptocfd.core.accounts import AccountKind
from cryptocfd.trading.commands import (
    CancelOrder,
    ClosePosition,
    Command,
    ModifyPosition,
    SetAssetControls,
)
from cryptocfd.trading.decide import UNKNOWN_ACCOUNT
from cryptocfd.trading.events import (
    Accepted,
    OrderCancelled,
    OrderExpired,
    OrderPlaced,
    OrderRejected,
    PositionClosed,
    PositionModified,
    PositionOpened,
)
from cryptocfd.trading.rejections import Rejection
from cryptocfd.trading.state import State
from cryptocfd.trading.views import Balances, Portfolio, Risk, balances, portfolio, risk

MAX_BALANCES_PAGE = 10_000  # a bigger page is cut to this: one answer stays a few MB at most


class GetPortfolio(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Ask for one account's figures, open positions and pending entries.

    ``order_id`` narrows the lists to that order; ``orders`` false asks for the figures only.
    """

    request_id: str
    account_id: int
    order_id: int | None = None
    orders: bool = True


class GetBalances(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Ask for a page of every account's balance and used margin, by account id."""

    request_id: str
    after_account_id: int = 0
    limit: int = 1000


class GetRisk(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Ask for the house's exposure to one kind of account, and its realized PnL; ``ts`` (the
    caller's clock) says which UTC day "today" is."""

    request_id: str
    account_kind: AccountKind = AccountKind.LIVE
    ts: int | None = None


Query = GetPortfolio | GetBalances | GetRisk


def answer(state: State, query: Query) -> Portfolio | Balances | Risk | Rejection:
    """What ``query`` asks, or why it cannot be answered (an unknown account)."""
    if isinstance(query, GetRisk):
        return risk(state, query.account_kind, query.ts)
    if isinstance(query, GetBalances):
        return balances(state, query.after_account_id, min(query.limit, MAX_BALANCES_PAGE))
    found = portfolio(state, query.account_id, query.order_id, orders=query.orders)
    return UNKNOWN_ACCOUNT if found is None else found


def touched_order(command: Command, outcome: Accepted | Rejection) -> int | None:
    """The order a command opened or touched: that of its first event, else the one it names.

    A command about an account's cash has none. A reset's first event, if any, is the close or
    cancel of an order that is gone by the time the view is taken, so its view lists nothing.
    """
    if type(outcome) is Accepted and outcome.events:
        match outcome.events[0]:
            case (
                PositionOpened()
                | OrderPlaced()
                | PositionClosed()
                | PositionModified()
                | OrderCancelled()
                | OrderExpired()
                | OrderRejected()
            ) as event:
                return event.order_id
            case _:
                pass
    match command:
        case ClosePosition() | ModifyPosition() | CancelOrder():
            return command.order_id
        case _:
            return None


def view_after(
    state: State, command: Command, outcome: Accepted | Rejection
) -> Portfolio | Rejection:
    """The account's portfolio just after ``command``, narrowed to the order it opened or
    touched (no order: the figures alone), for a caller that asked for it with the command.
    A command about no account (an asset's controls) has no view."""
    if isinstance(command, SetAssetControls):
        return UNKNOWN_ACCOUNT
    order_id = touched_order(command, outcome)
    found = portfolio(state, command.account_id, order_id, orders=order_id is not None)
    return UNKNOWN_ACCOUNT if found is None else found
