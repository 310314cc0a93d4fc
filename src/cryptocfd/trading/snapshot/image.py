"""The engine's whole state as columns, and what a snapshot stores.

Byte fields are ``memoryview``s: decoding a snapshot then copies none of them out of the
decrypted buffer (a restore copies what it keeps).

An image is laid out for loading, not for reading: accounts and positions are integer columns
(``columns.pack_ints``), positions grouped by account, so a restore copies arrays instead of
decoding a million rows; trigger heaps and trailing-stop groups are kept exactly as they sit, so
a restore lists them back instead of pushing every entry again. Remembered request outcomes stay
encoded, one after another, and are decoded only when a repeated request asks for one.
"""

from __future__ import annotations

from operator import attrgetter

import msgspec

from cryptocfd.core.money import Cents, PriceTicks, QtyUnits
from cryptocfd.trading.book import OPEN_CONTROLS, Account, PendingOrder, TrailGroup
from cryptocfd.trading.commands import AssetMode, OrderType
from cryptocfd.trading.risk import KINDS
from cryptocfd.trading.snapshot.columns import pack_ints, pack_keys
from cryptocfd.trading.state import State
from cryptocfd.trading.triggers import TriggerBook

IMAGE_VERSION = 4  # 3 added the accounts' ``seqs``, 4 the withdrawal holds
READABLE_VERSIONS = (2, 3, 4)  # a version-2 image restores every account's seq as 0

# A position's flags byte: side and which optional fields it has, then its asset's index.
LONG_FLAG = 1
TAKE_PROFIT_FLAG = 2
STOP_LOSS_FLAG = 4
TRAILING_FLAG = 8
ASSET_SHIFT = 4

HEAPS = ("bid_down", "bid_up", "ask_down", "ask_up", "mark_down", "mark_up", "expiry")


class QuoteRow(msgspec.Struct, array_like=True, gc=False):
    """An asset's quote and held tick."""

    asset: str
    bid: PriceTicks | None
    ask: PriceTicks | None
    mark: PriceTicks | None
    ts: int | None
    held: tuple[PriceTicks, PriceTicks, int] | None


class AccountColumns(msgspec.Struct, array_like=True, gc=False):
    """Every account in order of id, and how many of the positions (in that order) are its.

    ``seqs`` (each account's order events so far) is last and optional: a version-2 image,
    written before it, decodes without it.
    """

    ids: memoryview
    balances: memoryview
    used_margins: memoryview
    position_counts: memoryview
    seqs: memoryview | None = None


class PositionColumns(msgspec.Struct, array_like=True, gc=False):
    """Every position, grouped by account; an absent optional field is a 0 and a clear flag.

    ``trail_groups`` is the id of the trailing group a position's stop is armed in (0: none).
    """

    assets: list[str]
    flags: memoryview  # one byte per position, see the *_FLAG constants
    ids: memoryview
    by_id: memoryview  # the rows in order of position id
    margins: memoryview
    leverages: memoryview
    quantities: memoryview
    open_prices: memoryview
    liquidation_prices: memoryview
    opened_at: memoryview
    take_profits: memoryview
    stop_losses: memoryview
    trailing_distances: memoryview
    trail_groups: memoryview


class PendingRow(msgspec.Struct, array_like=True, gc=False):
    """A pending entry."""

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
    quantity: QtyUnits | None = None  # last: images written before it still decode


class TrailGroupRow(msgspec.Struct, array_like=True, gc=False):
    """A trailing-stop group: its peak (trough), indexed level and heap of stops.

    ``listed`` is false for a group merged away that a position still points to.
    """

    gid: int
    long: bool
    extreme: PriceTicks
    entry_level: PriceTicks | None
    keys: memoryview
    listed: bool


class TriggerImage(msgspec.Struct, array_like=True, gc=False):
    """One asset's trigger book as it sits: heaps in heap order, stale entries included."""

    asset: str
    heaps: list[memoryview]  # in the order of HEAPS
    groups: list[TrailGroupRow]
    long_trail: list[int]  # group ids, bottom of the stack first
    short_trail: list[int]
    next_gid: int
    garbage: int
    compact_at: int


class RememberedImage(msgspec.Struct, array_like=True, gc=False):
    """Request ids in the dedupe window in arrival order, their times and encoded outcomes."""

    ids: memoryview  # utf-8, one after another
    id_ends: memoryview  # where each id ends
    ts: memoryview
    outcomes: memoryview  # chunks of outcomes' msgpack, each chunk compressed (see ``remembered``)
    chunk_ends: memoryview  # where each compressed chunk ends
    ends: memoryview  # where each outcome ends in its chunk, decompressed
    table: memoryview  # a hash table of the ids (see ``remembered``)


class WithdrawalRow(msgspec.Struct, array_like=True, gc=False):
    """A held withdrawal."""

    withdrawal_id: int
    account_id: int
    amount: Cents


class RiskImage(msgspec.Struct, array_like=True, gc=False):
    """The house's risk sums (``trading.risk``): the realized PnL and its day, and every
    asset's exposures. ``exposure`` is ``pack_keys`` of, for each asset of ``symbols`` and
    each kind of ``risk.KINDS``, its four sums (``Exposure.as_ints``): entry notionals may
    pass 64 bits."""

    day: int
    realized: list[tuple[Cents, Cents]]  # (total, today) in the order of ``risk.KINDS``
    symbols: list[str]
    exposure: memoryview


class ControlsRow(msgspec.Struct, array_like=True, gc=False):
    """An asset's controls, for an asset that has left the default."""

    asset: str
    mode: AssetMode
    max_net_exposure: Cents | None
    max_live_leverage: int | None


class EngineImage(msgspec.Struct, gc=False):
    """Everything needed to rebuild an engine.

    ``withdrawals`` (version 4), ``risk`` and ``controls`` came after version 3 and default
    to nothing: an image written before them restores no withdrawal holds, its exposures from
    its positions, the realized PnL as 0 and every asset open.
    """

    version: int
    house_balance: Cents
    deposited: Cents
    next_order_id: int
    quotes: list[QuoteRow]
    accounts: AccountColumns
    positions: PositionColumns
    pending: list[PendingRow]
    triggers: list[TriggerImage]
    remembered: RememberedImage
    withdrawals: list[WithdrawalRow] = msgspec.field(default_factory=list)
    risk: RiskImage | None = None
    controls: list[ControlsRow] = msgspec.field(default_factory=list)


def image_state(state: State, remembered: RememberedImage) -> EngineImage:
    """Describe ``state`` (and the remembered requests) as columns."""
    accounts = sorted(state.accounts.values(), key=lambda a: a.id)
    groups = _trail_groups(state)
    return EngineImage(
        IMAGE_VERSION,
        state.house_balance,
        state.deposited,
        state.next_order_id,
        [_quote_row(state, symbol) for symbol in state.assets],
        AccountColumns(
            pack_ints([a.id for a in accounts]),
            pack_ints([a.balance for a in accounts]),
            pack_ints([a.used_margin for a in accounts]),
            pack_ints([len(a.positions) for a in accounts]),
            pack_ints([a.seq for a in accounts]),
        ),
        _position_columns(accounts, list(state.assets)),
        [_pending_row(o) for o in state.pending.values()],
        [_trigger_image(s, book, groups[s]) for s, book in state.triggers.items()],
        remembered,
        [WithdrawalRow(i, h.account_id, h.amount) for i, h in sorted(state.withdrawals.items())],
        _risk_image(state),
        [
            ControlsRow(symbol, c.mode, c.max_net_exposure, c.max_live_leverage)
            for symbol, asset in state.assets.items()
            if (c := asset.controls) is not OPEN_CONTROLS
        ],
    )


def _risk_image(state: State) -> RiskImage:
    risk = state.risk
    symbols = list(risk.exposure)
    sums = [n for s in symbols for kind in KINDS for n in risk.exposure[s][kind].as_ints()]
    realized = [(risk.realized[kind].total, risk.realized[kind].today) for kind in KINDS]
    return RiskImage(risk.day, realized, symbols, pack_keys(sums))


def _quote_row(state: State, symbol: str) -> QuoteRow:
    asset = state.assets[symbol]
    q, h = asset.quote, asset.held
    return QuoteRow(
        symbol,
        None if q is None else q.bid,
        None if q is None else q.ask,
        None if q is None else q.mark,
        None if q is None else q.ts,
        None if h is None else (h.bid, h.ask, h.ts),
    )


def _position_columns(accounts: list[Account], symbols: list[str]) -> PositionColumns:
    index = {symbol: n << ASSET_SHIFT for n, symbol in enumerate(symbols)}
    positions = [p for a in accounts for p in a.positions.values()]
    flags = memoryview(
        bytes(
            [
                index[p.asset]
                | p.long
                | (p.take_profit is not None) << 1
                | (p.stop_loss is not None) << 2
                | (p.trailing_distance is not None) << 3
                for p in positions
            ]
        )
    )
    ids = list(map(attrgetter("id"), positions))
    return PositionColumns(
        symbols,
        flags,
        pack_ints(ids),
        pack_ints(sorted(range(len(ids)), key=ids.__getitem__)),
        pack_ints(list(map(attrgetter("margin"), positions))),
        pack_ints(list(map(attrgetter("leverage"), positions))),
        pack_ints(list(map(attrgetter("quantity"), positions))),
        pack_ints(list(map(attrgetter("open_price"), positions))),
        pack_ints(list(map(attrgetter("liquidation_price"), positions))),
        pack_ints(list(map(attrgetter("opened_at"), positions))),
        pack_ints([p.take_profit or 0 for p in positions]),
        pack_ints([p.stop_loss or 0 for p in positions]),
        pack_ints([p.trailing_distance or 0 for p in positions]),
        pack_ints([0 if p.trail_group is None else p.trail_group.gid for p in positions]),
    )


def _pending_row(o: PendingOrder) -> PendingRow:
    return PendingRow(
        o.id,
        o.account_id,
        o.asset,
        o.long,
        o.order_type,
        o.price,
        o.margin,
        o.leverage,
        o.take_profit,
        o.stop_loss,
        o.trailing_distance,
        o.expires_at,
        o.placed_at,
        o.quantity,
    )


def _trail_groups(state: State) -> dict[str, list[TrailGroup]]:
    """Each asset's trailing groups, with any merged-away group a position still points to."""
    found = {s: {id(g): g for g in book.groups.values()} for s, book in state.triggers.items()}
    for pos in state.positions.values():
        group = pos.trail_group
        if group is not None:
            found[pos.asset].setdefault(id(group), group)
    return {symbol: list(groups.values()) for symbol, groups in found.items()}


def _trigger_image(symbol: str, book: TriggerBook, groups: list[TrailGroup]) -> TriggerImage:
    return TriggerImage(
        symbol,
        [pack_keys(getattr(book, name)) for name in HEAPS],
        [
            TrailGroupRow(
                g.gid,
                g.long,
                g.extreme,
                g.entry_level,
                pack_keys(g.keys),
                book.groups.get(g.gid) is g,
            )
            for g in groups
        ],
        [g.gid for g in book.long_trail],
        [g.gid for g in book.short_trail],
        book.next_gid,
        book.garbage,
        book.compact_at,
    )
