"""The house's risk, kept as events apply: what the risk console reads without a scan.

Per asset and per kind of account (live or demo, never one total of both), the open
positions' long and short quantities and their entry notionals (``quantity * open_price``,
exact); per kind, the house's realized PnL in total and on the newest close's UTC day. Reading
them costs O(assets); every open and close costs O(1). ``docs/engine.md`` ("The house's risk")
defines each figure; ``views.risk`` derives the console's figures at the mark from them.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptocfd.core.accounts import AccountKind, kind_of
from cryptocfd.core.money import Cents, PriceQty, PriceTicks, QtyUnits
from cryptocfd.trading.commands import LONG
from cryptocfd.trading.events import PositionClosed, PositionOpened

DAY_MS = 86_400_000  # a UTC day in unix milliseconds: ``ts // DAY_MS`` is the day's number
KINDS = (AccountKind.DEMO, AccountKind.LIVE)


class Exposure:
    """One asset's open positions of one kind of account, summed by side.

    The entry notionals are ``PriceQty`` ints of any size: a big book of a cheap coin passes
    64 bits, so snapshots keep them as big ints (``columns.pack_keys``), never as a fixed width.
    """

    __slots__ = ("long_entry", "long_quantity", "short_entry", "short_quantity")

    def __init__(self) -> None:
        self.long_quantity = QtyUnits(0)
        self.short_quantity = QtyUnits(0)
        self.long_entry = PriceQty(0)
        self.short_entry = PriceQty(0)

    def add(self, long: bool, quantity: QtyUnits, price: PriceTicks) -> None:  # noqa: FBT001
        """Count ``quantity`` more at ``price`` (an open)."""
        if long:
            self.long_quantity += quantity
            self.long_entry += price * quantity
        else:
            self.short_quantity += quantity
            self.short_entry += price * quantity

    def remove(self, long: bool, quantity: QtyUnits, price: PriceTicks) -> None:  # noqa: FBT001
        """Count ``quantity`` less at ``price`` (a close, whole or in part, at its open price)."""
        self.add(long, -quantity, price)

    @property
    def net_quantity(self) -> QtyUnits:
        """Long less short: positive when the traders are net long."""
        return self.long_quantity - self.short_quantity

    def as_ints(self) -> tuple[int, int, int, int]:
        """The four sums, long first (for snapshots and tests)."""
        return (self.long_quantity, self.short_quantity, self.long_entry, self.short_entry)


class Realized:
    """The house's realized PnL of one kind of account: in total, and on ``HouseRisk.day``."""

    __slots__ = ("today", "total")

    def __init__(self) -> None:
        self.total = Cents(0)
        self.today = Cents(0)


class HouseRisk:
    """Every asset's exposures and the house's realized PnL, by kind of account."""

    def __init__(self, symbols: Iterable[str]) -> None:
        self.exposure: dict[str, dict[AccountKind, Exposure]] = {
            symbol: {kind: Exposure() for kind in KINDS} for symbol in symbols
        }
        self.realized: dict[AccountKind, Realized] = {kind: Realized() for kind in KINDS}
        self.day = -1  # the UTC day of the newest close (-1: none yet)

    def exposure_of(self, asset: str, account_id: int) -> Exposure:
        """The exposure an account's position in ``asset`` counts in."""
        return self.exposure[asset][kind_of(account_id)]

    def opened(self, e: PositionOpened) -> None:
        """Count a new position."""
        self.exposure_of(e.asset, e.account_id).add(e.side is LONG, e.quantity, e.open_price)

    def closed(self, e: PositionClosed) -> None:
        """Take off what a close closed, and book its PnL to the house (minus the trader's)."""
        kind = kind_of(e.account_id)
        self.exposure[e.asset][kind].remove(e.side is LONG, e.quantity, e.open_price)
        realized = self.realized[kind]
        realized.total -= e.pnl
        day = e.ts // DAY_MS
        if day > self.day:  # the first close of a later day starts that day afresh
            self.day = day
            for each in self.realized.values():
                each.today = Cents(0)
        if day == self.day:
            realized.today -= e.pnl

    def today(self, kind: AccountKind, ts: int | None) -> Cents:
        """The kind's realized PnL today: 0 when ``ts`` is on a later day than the newest
        close (nothing closed since the day turned)."""
        if ts is not None and ts // DAY_MS > self.day:
            return Cents(0)
        return self.realized[kind].today
