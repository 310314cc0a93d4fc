"""Commands: what callers ask the engine to do, in the imperative.

Every command but a tick carries a ``request_id`` (a repeated id returns the first outcome and
changes nothing) and ``ts``, the caller's clock in unix milliseconds: the engine never reads one.
A command may also carry its ``fingerprint`` (``trading.fingerprint``): a repeated id with
another fingerprint is another request under a spent id, and is refused.
Amounts are integers at their named scale: cents, 1e-8 quantity units, price ticks.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec
from msgspec import UNSET, UnsetType

from cryptocfd.core.money import BPS
from cryptocfd.core.wire import Int, WireBps, WireCents, WirePrice, WireQty


class Side(StrEnum):
    """Direction of a position: a long profits when the price rises, a short when it falls."""

    LONG = "long"
    SHORT = "short"


class OrderType(StrEnum):
    """How an entry executes: now at the quote, or pending until the quote crosses ``price``."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"


class AssetMode(StrEnum):
    """What an asset's controls let traders do (``docs/engine.md``, "Controls")."""

    OPEN = "open"
    CLOSE_ONLY = "close_only"
    HALTED = "halted"


# Enum members read through their class cost ~60 ns each on Python 3.11; the hot paths compare
# against these module constants instead.
LONG = Side.LONG
SHORT = Side.SHORT
MARKET = OrderType.MARKET
LIMIT = OrderType.LIMIT


class OpenAccount(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Open a trading account with a starting (demo) balance in cents."""

    request_id: str
    ts: Int
    account_id: Int
    balance: WireCents
    fingerprint: Int | None = None


class Deposit(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Credit cents to an account's balance."""

    request_id: str
    ts: Int
    account_id: Int
    amount: WireCents
    fingerprint: Int | None = None


class Withdraw(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Debit cents from an account's balance, at most its free margin."""

    request_id: str
    ts: Int
    account_id: Int
    amount: WireCents
    fingerprint: Int | None = None


class HoldWithdrawal(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Set ``amount`` cents of an account aside for withdrawal ``withdrawal_id``, at most its
    free margin: held money backs no margin and no other withdrawal until it is released or
    paid. The id is the caller's (the funding request's), unique across accounts."""

    request_id: str
    ts: Int
    account_id: Int
    withdrawal_id: Int
    amount: WireCents
    fingerprint: Int | None = None


class ReleaseWithdrawal(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Give a held withdrawal's cents back to the account's free margin (it was refused)."""

    request_id: str
    ts: Int
    account_id: Int
    withdrawal_id: Int
    fingerprint: Int | None = None


class PayWithdrawal(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Debit a held withdrawal's cents from the balance: the money has been sent."""

    request_id: str
    ts: Int
    account_id: Int
    withdrawal_id: Int
    fingerprint: Int | None = None


class PlaceOrder(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Open a position now (market) or leave a limit or stop entry pending.

    ``expected_price`` with ``slippage_bps`` bounds a market fill against the price the client
    saw. ``expires_at`` (unix ms) ends a pending entry that has not filled by then.

    An order is sized by ``margin``, or by ``quantity`` with ``margin`` 0: then the engine
    works out the margin at the fill's price (a pending entry's: at its own price). ``quantity``
    is UNSET, never None, when not given: UNSET fields are left out of the encoding, so a
    margin-sized order encodes (and fingerprints) exactly as it did before quantities existed.
    """

    request_id: str
    ts: Int
    account_id: Int
    asset: str
    side: Side
    margin: WireCents
    leverage: Int
    order_type: OrderType = OrderType.MARKET
    price: WirePrice | None = None
    take_profit: WirePrice | None = None
    stop_loss: WirePrice | None = None
    trailing_distance: WirePrice | None = None
    expected_price: WirePrice | None = None
    slippage_bps: WireBps | None = None
    expires_at: Int | None = None
    fingerprint: Int | None = None
    quantity: WireQty | UnsetType = UNSET


class ModifyPosition(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Change a position's take-profit, stop-loss or trailing distance.

    A field left UNSET keeps its value; ``None`` removes it. Setting a trailing distance (re)arms
    the trailing stop at the current closing price.
    """

    request_id: str
    ts: Int
    account_id: Int
    order_id: Int
    take_profit: WirePrice | UnsetType | None = UNSET
    stop_loss: WirePrice | UnsetType | None = UNSET
    trailing_distance: WirePrice | UnsetType | None = UNSET
    fingerprint: Int | None = None


class ClosePosition(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Close a position, or the share ``fraction_bps`` (1..10000) of it, at the closing price."""

    request_id: str
    ts: Int
    account_id: Int
    order_id: Int
    fraction_bps: WireBps = BPS
    fingerprint: Int | None = None


class CancelOrder(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Cancel a pending entry and release the margin it reserved."""

    request_id: str
    ts: Int
    account_id: Int
    order_id: Int
    fingerprint: Int | None = None


class ResetDemoAccount(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Start a demo account afresh, all at once or not at all: close every position at its
    closing price, cancel every pending entry, and bring the balance to the demo balance."""

    request_id: str
    ts: Int
    account_id: Int
    fingerprint: Int | None = None


class SetAssetControls(msgspec.Struct, frozen=True, tag=True, gc=False):
    """Set an asset's controls whole: its mode, the largest net exposure in cents one kind of
    account (live or demo) may hold in it, and the highest leverage a live account may use
    (``None``: no limit)."""

    request_id: str
    ts: Int
    asset: str
    mode: AssetMode
    max_net_exposure: WireCents | None = None
    max_live_leverage: Int | None = None
    fingerprint: Int | None = None


Command = (
    OpenAccount
    | Deposit
    | Withdraw
    | HoldWithdrawal
    | ReleaseWithdrawal
    | PayWithdrawal
    | PlaceOrder
    | ModifyPosition
    | ClosePosition
    | CancelOrder
    | ResetDemoAccount
    | SetAssetControls
)
