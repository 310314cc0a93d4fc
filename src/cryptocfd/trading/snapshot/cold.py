"""Accounts and positions restored from a snapshot but not yet made into objects.

Making a million positions into objects takes longer than the engine may take to start, so a
restore leaves them in the image's columns: ``state.accounts`` and ``state.positions`` are then
``ThawingMap``s, and an account becomes objects (with all its positions and pending entries) the
first time anything looks it up, or looks up one of its positions. The engine's service thaws the
rest a slice at a time between batches; once none is left the state takes the plain dicts back,
and the hot paths run on plain dicts again.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    MutableMapping,
    ValuesView,
)
from itertools import accumulate, repeat
from typing import TypeVar

from cryptocfd.core.money import Cents
from cryptocfd.trading.book import Account, PendingOrder, Position, TrailGroup
from cryptocfd.trading.snapshot.columns import unpack_ints
from cryptocfd.trading.snapshot.image import (
    ASSET_SHIFT,
    LONG_FLAG,
    STOP_LOSS_FLAG,
    TAKE_PROFIT_FLAG,
    TRAILING_FLAG,
    AccountColumns,
    PositionColumns,
)

V = TypeVar("V")


class ColdBook:
    """The accounts (and their positions) of an image not thawed yet, and the plain dicts."""

    def __init__(
        self,
        accounts: AccountColumns,
        positions: PositionColumns,
        pending: dict[int, list[PendingOrder]],
        groups: dict[str, dict[int, TrailGroup]],
        held: dict[int, Cents],
    ) -> None:
        self.account_ids = unpack_ints(accounts.ids)  # ascending
        self.balances = unpack_ints(accounts.balances)
        self.used_margins = unpack_ints(accounts.used_margins)
        seqs = accounts.seqs
        self.seqs = None if seqs is None else unpack_ints(seqs)  # None: a version-2 image
        self.starts = array("q", accumulate(unpack_ints(accounts.position_counts), initial=0))
        self.columns = PositionColumnsView(positions)
        self.pending = pending
        self.groups = groups
        self.held = held  # each account's withdrawal holds, summed
        self.thawed = bytearray(len(self.account_ids))
        self.left = len(self.account_ids)
        self.cursor = 0  # every account before it is thawed
        self.accounts: dict[int, Account] = {}
        self.positions: dict[int, Position] = {}
        self.on_thawed: Callable[[], None] = lambda: None

    def thaw_account(self, account_id: int) -> bool:
        """Thaw an account if it is cold; whether it was."""
        ids = self.account_ids
        index = bisect_left(ids, account_id)
        if index == len(ids) or ids[index] != account_id or self.thawed[index]:
            return False
        self._thaw(index)
        return True

    def thaw_position(self, order_id: int) -> bool:
        """Thaw the account of a position if it is cold; whether it was."""
        columns = self.columns
        by_id, ids = columns.by_id, columns.ids
        at = bisect_left(by_id, order_id, key=ids.__getitem__)
        if at == len(by_id) or ids[row := by_id[at]] != order_id:
            return False
        index = bisect_right(self.starts, row) - 1
        if self.thawed[index]:
            return False
        self._thaw(index)
        return True

    def warm(self, count: int) -> bool:
        """Thaw up to ``count`` more accounts; whether none is left cold."""
        thawed, cursor, end = self.thawed, self.cursor, len(self.thawed)
        while count > 0 and cursor < end:
            if not thawed[cursor]:
                self._thaw(cursor)
                count -= 1
            cursor += 1
        self.cursor = cursor
        if self.left == 0:
            self.on_thawed()
            self.on_thawed = lambda: None
            return True
        return False

    def thaw_all(self) -> None:
        """Thaw every account still cold."""
        self.warm(self.left)

    def _thaw(self, index: int) -> None:
        account_id = self.account_ids[index]
        account = Account(account_id, Cents(self.balances[index]))
        account.used_margin = Cents(self.used_margins[index])
        account.held = self.held.get(account_id, Cents(0))
        if self.seqs is not None:
            account.seq = self.seqs[index]
        start, end = self.starts[index], self.starts[index + 1]
        if start < end:
            made = self.columns.positions(start, end, account_id, self.groups)
            account.positions = dict(zip(self.columns.ids[start:end], made, strict=True))
            self.positions.update(account.positions)
        for order in self.pending.pop(account_id, ()):
            account.pending[order.id] = order
        self.accounts[account_id] = account
        self.thawed[index] = 1
        self.left -= 1


def _has(flag: int) -> bytes:
    """A ``bytes.translate`` table: 1 for a flags byte with ``flag`` set, else 0."""
    return bytes(1 if k & flag else 0 for k in range(256))


LONG_ROWS = [bool(k & LONG_FLAG) for k in range(256)]  # a flags byte -> whether it is a long
_HAS_TAKE_PROFIT = _has(TAKE_PROFIT_FLAG)
_HAS_STOP_LOSS = _has(STOP_LOSS_FLAG)
_HAS_TRAILING = _has(TRAILING_FLAG)


class PositionColumnsView:
    """The position columns of an image, unpacked, and positions built from rows of them."""

    def __init__(self, columns: PositionColumns) -> None:
        self.symbols = [
            columns.assets[k >> ASSET_SHIFT] for k in range(len(columns.assets) << ASSET_SHIFT)
        ]
        self.flags = bytes(columns.flags)
        self.ids = unpack_ints(columns.ids)
        self.by_id = unpack_ints(columns.by_id)
        self.margins = unpack_ints(columns.margins)
        self.leverages = unpack_ints(columns.leverages)
        self.quantities = unpack_ints(columns.quantities)
        self.open_prices = unpack_ints(columns.open_prices)
        self.liquidation_prices = unpack_ints(columns.liquidation_prices)
        self.opened_at = unpack_ints(columns.opened_at)
        self.take_profits = unpack_ints(columns.take_profits)
        self.stop_losses = unpack_ints(columns.stop_losses)
        self.trailing_distances = unpack_ints(columns.trailing_distances)
        self.trail_groups = unpack_ints(columns.trail_groups)

    def positions(
        self, start: int, end: int, account_id: int, groups: dict[str, dict[int, TrailGroup]]
    ) -> list[Position]:
        """The positions in rows ``start`` to ``end``, all of account ``account_id``."""
        flags = self.flags[start:end]
        made = list(
            map(
                Position,
                self.ids[start:end],
                repeat(account_id),
                map(self.symbols.__getitem__, flags),
                map(LONG_ROWS.__getitem__, flags),
                self.margins[start:end],
                self.leverages[start:end],
                self.quantities[start:end],
                self.open_prices[start:end],
                self.liquidation_prices[start:end],
                _optional(self.take_profits[start:end], flags.translate(_HAS_TAKE_PROFIT)),
                _optional(self.stop_losses[start:end], flags.translate(_HAS_STOP_LOSS)),
                _optional(self.trailing_distances[start:end], flags.translate(_HAS_TRAILING)),
                self.opened_at[start:end],
            )
        )
        if flags.translate(_HAS_TRAILING).count(1):
            for pos, gid in zip(made, self.trail_groups[start:end], strict=True):
                if gid:
                    pos.trail_group = groups[pos.asset][gid]
        return made


def _optional(values: array[int], present: bytes) -> Iterable[int | None]:
    if not present.count(1):
        return repeat(None, len(values))
    return [v if has else None for v, has in zip(values, present, strict=True)]


class ThawingMap(MutableMapping[int, V]):
    """A plain dict, plus the entries a cold book still holds: reading one thaws it."""

    __slots__ = ("book", "plain", "thaw")

    def __init__(self, plain: dict[int, V], thaw: Callable[[int], bool], book: ColdBook) -> None:
        self.plain = plain
        self.thaw = thaw
        self.book = book

    def __getitem__(self, key: int) -> V:
        plain = self.plain
        if key not in plain:
            self.thaw(key)
        return plain[key]

    def __contains__(self, key: object) -> bool:
        plain = self.plain
        return key in plain or (isinstance(key, int) and self.thaw(key) and key in plain)

    def __setitem__(self, key: int, value: V) -> None:
        self.plain[key] = value

    def __delitem__(self, key: int) -> None:
        if key not in self.plain:
            self.thaw(key)
        del self.plain[key]

    def __iter__(self) -> Iterator[int]:
        self.book.thaw_all()
        return iter(self.plain)

    def __len__(self) -> int:
        self.book.thaw_all()
        return len(self.plain)

    def keys(self) -> KeysView[int]:
        """The keys, every account thawed first."""
        self.book.thaw_all()
        return self.plain.keys()

    def values(self) -> ValuesView[V]:
        """The values, every account thawed first."""
        self.book.thaw_all()
        return self.plain.values()

    def items(self) -> ItemsView[int, V]:
        """The items, every account thawed first."""
        self.book.thaw_all()
        return self.plain.items()
