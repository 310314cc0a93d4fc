"""Commands: what callers ask the engine to do, in the imperative.

Every command but a tick carries a ``request_id`` (a repeated id returns the first outcome and
changes nothing) and ``ts``, the caller's clock in unix milliseconds: the engine never reads one.
Amounts are integers at their named scale: cents, 1e-8 quantity units, price ticks.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec
from msgspec import UNSET, UnsetType


class Side(StrEnum):
    """Direction of a position: a long profits when the price rises, a short when it falls."""

    LONG = "long"
    SHORT = "short"


class OrderType(StrEnum):
    """How an entry executes: now at the quote, or pending until the quote crosses ``price``."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"


# Enum members read through their class cost ~60 ns each on Python 3.11; the hot paths compare
# against these module constants instead.
LONG = Side.LONG
SHORT = Side.SHORT
MARKET = OrderType.MARKET
LIMIT = OrderType.LIMIT


class OpenAccount(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Open a trading account with a starting (demo) balance in cents."""

    request_id: str
    ts: int
    account_id: int
    balance: int


class Deposit(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Credit cents to an account's balance."""

    request_id: str
    ts: int
    account_id: int
    amount: int


class Withdraw(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Debit cents from an account's balance, at most its free margin."""

    request_id: str
    ts: int
    account_id: int
    amount: int


class PlaceOrder(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Open a position now (market) or leave a limit or stop entry pending.

    ``expected_price`` with ``slippage_bps`` bounds a market fill against the price the client
    saw. ``expires_at`` (unix ms) ends a pending entry that has not filled by then.
    """

    request_id: str
    ts: int
    account_id: int
    asset: str
    side: Side
    margin: int
    leverage: int
    order_type: OrderType = OrderType.MARKET
    price: int | None = None
    take_profit: int | None = None
    stop_loss: int | None = None
    trailing_distance: int | None = None
    expected_price: int | None = None
    slippage_bps: int | None = None
    expires_at: int | None = None


class ModifyPosition(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Change a position's take-profit, stop-loss or trailing distance.

    A field left UNSET keeps its value; ``None`` removes it. Setting a trailing distance (re)arms
    the trailing stop at the current closing price.
    """

    request_id: str
    ts: int
    account_id: int
    order_id: int
    take_profit: int | UnsetType | None = UNSET
    stop_loss: int | UnsetType | None = UNSET
    trailing_distance: int | UnsetType | None = UNSET


class ClosePosition(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Close a position, or the share ``fraction_bps`` (1..10000) of it, at the closing price."""

    request_id: str
    ts: int
    account_id: int
    order_id: int
    fraction_bps: int = 10_000


class CancelOrder(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Cancel a pending entry and release the margin it reserved."""

    request_id: str
    ts: int
    account_id: int
    order_id: int


class Tick(msgspec.Struct, frozen=True, tag=True, gc=False):
    """A feed quote for one asset, in price ticks, before the house spread is added."""

    asset: str
    bid: int
    ask: int
    ts: int


Command = (
    OpenAccount | Deposit | Withdraw | PlaceOrder | ModifyPosition | ClosePosition | CancelOrder
)
