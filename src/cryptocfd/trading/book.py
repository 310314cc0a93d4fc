"""The engine's live records: positions, pending entries, accounts and quotes.

They are mutable on purpose and change only inside ``State.evolve``. Positions and pending
entries are ``gc=False`` structs: a million of them must stay under the memory budget, and
none of them takes part in a reference cycle.
"""

from __future__ import annotations

import msgspec

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import Cents, PriceTicks, QtyUnits, ValueDivisor
from cryptocfd.trading.commands import AssetMode, OrderType


class TrailGroup:
    """Trailing stops of one side that share a peak (longs) or trough (shorts).

    ``keys`` is a heap of ``distance << 40 | order_id``: the smallest distance stops out first.
    """

    __slots__ = ("entry_level", "extreme", "gid", "keys", "long")

    def __init__(self, gid: int, long: bool, extreme: PriceTicks) -> None:  # noqa: FBT001
        self.gid = gid
        self.long = long
        self.extreme = extreme
        self.keys: list[int] = []
        self.entry_level: PriceTicks | None = None


class Position(msgspec.Struct, gc=False):
    """An open position. ``trail_group`` is set while its trailing stop is armed."""

    id: int
    account_id: int
    asset: str
    long: bool
    margin: Cents
    leverage: int
    quantity: QtyUnits
    open_price: PriceTicks
    liquidation_price: PriceTicks
    take_profit: PriceTicks | None
    stop_loss: PriceTicks | None
    trailing_distance: PriceTicks | None
    opened_at: int
    trail_group: TrailGroup | None = None


class PendingOrder(msgspec.Struct, gc=False):
    """A limit or stop entry waiting for the quote to cross ``price``; its margin is reserved.

    ``quantity`` is set when the entry was sized by quantity: the fill opens exactly that.
    """

    id: int
    account_id: int
    asset: str
    long: bool
    order_type: OrderType
    price: PriceTicks
    margin: Cents
    leverage: int
    take_profit: PriceTicks | None
    stop_loss: PriceTicks | None
    trailing_distance: PriceTicks | None
    expires_at: int | None
    placed_at: int
    quantity: QtyUnits | None = None


class WithdrawalHold(msgspec.Struct, frozen=True, gc=False):
    """Cents of an account set aside for a withdrawal until it is paid or released."""

    account_id: int
    amount: Cents


class Account:
    """Cash balance, margin in use (positions and pending entries), and what backs them.

    ``held`` is the sum of the account's withdrawal holds: part of the balance that backs
    nothing else, so free margin leaves it out.

    ``pnl`` caches the positions' unrealized PnL as of quote epoch ``epoch``; any accepted quote
    moves the epoch on, and opens and closes keep the cached sum current in between.

    ``seq`` counts the account's order events (``events.ORDER_EVENTS``): the n-th of them is
    number n on the websocket's ``orders`` channel. It is state like the balance, so it is the
    same on every engine that applied the same events, and survives snapshots and failover.
    """

    __slots__ = (
        "balance",
        "epoch",
        "held",
        "id",
        "pending",
        "pnl",
        "positions",
        "seq",
        "used_margin",
    )

    def __init__(self, account_id: int, balance: Cents) -> None:
        self.id = account_id
        self.balance = balance
        self.used_margin = Cents(0)
        self.held = Cents(0)
        self.positions: dict[int, Position] = {}
        self.pending: dict[int, PendingOrder] = {}
        self.pnl = Cents(0)
        self.epoch = -1
        self.seq = 0


class Quote:
    """The house quote for an asset: ``bid``/``ask`` with markup, ``mark`` the feed's mid."""

    __slots__ = ("ask", "bid", "mark", "ts")

    def __init__(self, bid: PriceTicks, ask: PriceTicks, mark: PriceTicks, ts: int) -> None:
        self.bid = bid
        self.ask = ask
        self.mark = mark
        self.ts = ts


class HeldTick:
    """A feed tick beyond the sanity band, waiting for a confirming one."""

    __slots__ = ("ask", "bid", "ts")

    def __init__(self, bid: PriceTicks, ask: PriceTicks, ts: int) -> None:
        self.bid = bid
        self.ask = ask
        self.ts = ts


class AssetControls(msgspec.Struct, frozen=True, gc=False):
    """What the house lets traders do in an asset (``docs/engine.md``, "Controls")."""

    mode: AssetMode = AssetMode.OPEN
    max_net_exposure: Cents | None = None
    max_live_leverage: int | None = None


OPEN_CONTROLS = AssetControls()
"""An asset's controls until an operator sets them: the hot paths compare against this one."""


class AssetState:
    """Everything the engine holds per asset, with the spec's derived constants at hand."""

    __slots__ = ("controls", "divisor", "held", "quote", "spec", "step")

    def __init__(self, spec: AssetSpec) -> None:
        self.spec = spec
        self.divisor: ValueDivisor = spec.value_divisor
        self.step = spec.quantity_step
        self.quote: Quote | None = None
        self.held: HeldTick | None = None
        self.controls = OPEN_CONTROLS
