"""Events: facts in the past tense. The engine's state changes only by applying them.

On the wire they are msgpack arrays (``array_like``): the log and snapshots hold millions of
them, and field names would triple their size. New fields go at the end, with defaults.

A close carries everything the journal needs to book it (quantity, margin released, price, PnL),
so history and the ledger are built from events alone.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from cryptocfd.core.money import Bps, Cents, PriceTicks, QtyUnits
from cryptocfd.trading.commands import AssetMode, OrderType, Side


class CloseReason(StrEnum):
    """Why a position (or part of it) closed."""

    CLOSED = "closed"
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"
    TRAILING_STOP = "trailing_stop"
    LIQUIDATED = "liquidated"


class AccountOpened(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """An account was opened with a starting balance."""

    account_id: int
    balance: Cents
    ts: int


class FundsDeposited(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """Cents were credited to an account."""

    account_id: int
    amount: Cents
    ts: int


class FundsWithdrawn(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """Cents were debited from an account."""

    account_id: int
    amount: Cents
    ts: int


class WithdrawalHeld(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """Cents of an account were set aside for a withdrawal: its free margin fell by them."""

    withdrawal_id: int
    account_id: int
    amount: Cents
    ts: int


class WithdrawalReleased(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """A held withdrawal was given back to the account's free margin."""

    withdrawal_id: int
    account_id: int
    amount: Cents
    ts: int


class WithdrawalPaid(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """A held withdrawal left the account: its balance fell by the held cents."""

    withdrawal_id: int
    account_id: int
    amount: Cents
    ts: int


class QuoteUpdated(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """The house quote moved: ``bid``/``ask`` include the markup, ``mark`` is the feed's mid."""

    asset: str
    bid: PriceTicks
    ask: PriceTicks
    mark: PriceTicks
    ts: int


class TickHeld(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """A feed tick jumped beyond the sanity band and waits for a confirming tick."""

    asset: str
    bid: PriceTicks
    ask: PriceTicks
    ts: int


class OrderPlaced(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """A limit or stop entry is pending; its margin is reserved.

    ``quantity`` is what it will open, for an entry sized by quantity (None: sized by margin,
    its quantity set by the fill's price). Last, so records written before it still decode.
    """

    order_id: int
    account_id: int
    asset: str
    side: Side
    order_type: OrderType
    price: PriceTicks
    margin: Cents
    leverage: int
    take_profit: PriceTicks | None
    stop_loss: PriceTicks | None
    trailing_distance: PriceTicks | None
    expires_at: int | None
    ts: int
    quantity: QtyUnits | None = None


class OrderCancelled(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """A pending entry was cancelled by its owner; its margin is released."""

    order_id: int
    account_id: int
    margin: Cents
    ts: int


class OrderExpired(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """A pending entry reached its expiry unfilled; its margin is released."""

    order_id: int
    account_id: int
    margin: Cents
    ts: int


class OrderRejected(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """A pending entry triggered but could not fill (``code`` says why); its margin is released."""

    order_id: int
    account_id: int
    margin: Cents
    code: str
    ts: int


class PositionOpened(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """A position opened, at market or from a pending entry (same ``order_id``)."""

    order_id: int
    account_id: int
    asset: str
    side: Side
    order_type: OrderType
    margin: Cents
    leverage: int
    quantity: QtyUnits
    open_price: PriceTicks
    liquidation_price: PriceTicks
    take_profit: PriceTicks | None
    stop_loss: PriceTicks | None
    trailing_distance: PriceTicks | None
    ts: int


class PositionModified(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """A position's exits changed; the fields are the new values (``None`` = none)."""

    order_id: int
    account_id: int
    take_profit: PriceTicks | None
    stop_loss: PriceTicks | None
    trailing_distance: PriceTicks | None
    rearm_trailing: bool
    ts: int


class PositionClosed(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """A position closed, fully or in part (``remaining_quantity > 0``).

    ``pnl`` is credited to the account's balance and debited from the house; ``margin`` is the
    margin released. ``liquidation_price`` is that of the remainder, if any. ``leverage`` and
    ``opened_at`` are the position's, so the close can be shown from the event alone (when a
    retried close is answered from the remembered outcome, the position is gone); closes
    logged before they were added read 0 and ``None``.
    """

    order_id: int
    account_id: int
    asset: str
    side: Side
    reason: CloseReason
    quantity: QtyUnits
    margin: Cents
    open_price: PriceTicks
    close_price: PriceTicks
    pnl: Cents
    remaining_quantity: QtyUnits
    remaining_margin: Cents
    liquidation_price: PriceTicks | None
    ts: int
    leverage: int = 0
    opened_at: int | None = None


class AssetControlsSet(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """An asset's controls were set to these values (``None``: no limit); the ``was_``
    fields are the controls they replaced, so the event alone tells what changed (the back
    office's audit trail records both, the same on a retried request)."""

    asset: str
    mode: AssetMode
    max_net_exposure: Cents | None
    max_live_leverage: int | None
    ts: int
    was_mode: AssetMode = AssetMode.OPEN
    was_max_net_exposure: Cents | None = None
    was_max_live_leverage: int | None = None


class MarginCalled(msgspec.Struct, frozen=True, tag=True, gc=False, array_like=True):
    """A tick's mark reached a position's margin-call price from above it (one notice per
    crossing); ``margin_level_bps`` is the position's equity at ``mark`` over its margin."""

    order_id: int
    account_id: int
    asset: str
    mark: PriceTicks
    margin_level_bps: Bps
    ts: int


Event = (
    AccountOpened
    | FundsDeposited
    | FundsWithdrawn
    | WithdrawalHeld
    | WithdrawalReleased
    | WithdrawalPaid
    | QuoteUpdated
    | TickHeld
    | OrderPlaced
    | OrderCancelled
    | OrderExpired
    | OrderRejected
    | PositionOpened
    | PositionModified
    | PositionClosed
    | AssetControlsSet
    | MarginCalled
)


# The events of an account's orders: what the websocket's ``orders`` channel shows, and what
# ``Account.seq`` counts (each is one step of the account's ``seq``, without gaps).
OrderEvent = (
    OrderPlaced
    | OrderCancelled
    | OrderExpired
    | OrderRejected
    | PositionOpened
    | PositionModified
    | PositionClosed
    | MarginCalled
)
ORDER_EVENTS: tuple[type[OrderEvent], ...] = (
    OrderPlaced,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    PositionOpened,
    PositionModified,
    PositionClosed,
    MarginCalled,
)


class Accepted(msgspec.Struct, frozen=True, tag="accepted", gc=False, array_like=True):
    """A command that was carried out, with the events it produced in order."""

    events: tuple[Event, ...]
