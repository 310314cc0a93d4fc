"""Rebuild a state from its image: heaps and groups as they were, accounts left cold.

Accounts and positions stay in the image's columns until read (see ``cold``); quotes, pending
entries and the trigger books are restored whole.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptocfd.core.accounts import kind_of
from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import Cents, PriceQty, PriceTicks, QtyUnits
from cryptocfd.trading.book import (
    AssetControls,
    HeldTick,
    PendingOrder,
    Quote,
    TrailGroup,
    WithdrawalHold,
)
from cryptocfd.trading.margin import liquidation_price
from cryptocfd.trading.risk import KINDS
from cryptocfd.trading.snapshot.cold import LONG_ROWS, ColdBook, PositionColumnsView, ThawingMap
from cryptocfd.trading.snapshot.columns import unpack_ints, unpack_keys
from cryptocfd.trading.snapshot.image import (
    ASSET_SHIFT,
    HEAPS,
    LONG_FLAG,
    READABLE_VERSIONS,
    EngineImage,
    PendingRow,
    QuoteRow,
    TriggerImage,
)
from cryptocfd.trading.state import State
from cryptocfd.trading.triggers import TriggerBook


def restore_state(image: EngineImage, assets: Iterable[AssetSpec]) -> State:
    """Rebuild a state, indexes included, from an image."""
    if image.version not in READABLE_VERSIONS:
        raise ValueError(f"engine image version {image.version} is not one of {READABLE_VERSIONS}")
    state = State(assets)
    unknown = {row.asset for row in image.quotes} - set(state.assets)
    unknown |= {t.asset for t in image.triggers if t.asset not in state.assets and _holds(t)}
    unknown |= {row.asset for row in image.controls} - set(state.assets)
    if unknown:
        raise ValueError(f"the image holds assets that are not configured: {sorted(unknown)}")
    state.house_balance, state.deposited = image.house_balance, image.deposited
    state.next_order_id = image.next_order_id
    for quote_row in image.quotes:
        _restore_quote(state, quote_row)
    groups = {
        t.asset: _restore_triggers(state.triggers[t.asset], t)
        for t in image.triggers
        if t.asset in state.triggers
    }
    pending = [_pending_order(row) for row in image.pending]
    state.pending.update((order.id, order) for order in pending)
    for row in image.withdrawals:
        state.withdrawals[row.withdrawal_id] = WithdrawalHold(row.account_id, row.amount)
    _restore_risk(state, image)
    book = _install_cold(state, image, pending, groups)
    _index_margin_calls(state, book.columns)
    return state


def _restore_risk(state: State, image: EngineImage) -> None:
    """Put the controls and the house's risk sums back; recount the sums from the positions'
    columns for an image written before it kept them."""
    for row in image.controls:
        controls = AssetControls(row.mode, row.max_net_exposure, row.max_live_leverage)
        state.assets[row.asset].controls = controls
    risk, found = state.risk, image.risk
    if found is None:
        _recount_exposure(state, image)
        return
    risk.day = found.day
    for kind, (total, today) in zip(KINDS, found.realized, strict=True):
        risk.realized[kind].total, risk.realized[kind].today = total, today
    sums = unpack_keys(found.exposure)
    for n, (symbol, kind) in enumerate((s, k) for s in found.symbols for k in KINDS):
        if symbol in risk.exposure:  # an asset no longer configured holds no position
            exposure = risk.exposure[symbol][kind]
            long_qty, short_qty, long_entry, short_entry = sums[4 * n : 4 * n + 4]
            exposure.long_quantity = QtyUnits(long_qty)
            exposure.short_quantity = QtyUnits(short_qty)
            exposure.long_entry = PriceQty(long_entry)
            exposure.short_entry = PriceQty(short_entry)


def _recount_exposure(state: State, image: EngineImage) -> None:
    """Count every position of the image's columns into its asset's and kind's sums."""
    columns = image.positions
    flags, symbols = columns.flags, columns.assets
    quantities, prices = unpack_ints(columns.quantities), unpack_ints(columns.open_prices)
    counts = unpack_ints(image.accounts.position_counts)
    row = 0
    for account_id, count in zip(unpack_ints(image.accounts.ids), counts, strict=True):
        kind = kind_of(account_id)
        for index in range(row, row + count):
            flag = flags[index]
            exposure = state.risk.exposure[symbols[flag >> ASSET_SHIFT]][kind]
            long = bool(flag & LONG_FLAG)
            exposure.add(long, QtyUnits(quantities[index]), PriceTicks(prices[index]))
        row += count


def _index_margin_calls(state: State, columns: PositionColumnsView) -> None:
    """Index every position's margin call from the image's columns, as its asset's mark finds
    it: the image holds no margin-call state, since a position is called exactly while the mark
    is at or past its call price."""
    triggers, assets = state.triggers, state.assets
    for row, flag in enumerate(columns.flags):
        symbol = columns.symbols[flag]
        book, asset = triggers[symbol], assets[symbol]
        quote = asset.quote
        assert quote is not None  # a position exists only once its asset has a quote
        long = LONG_ROWS[flag]
        level = liquidation_price(
            long,
            PriceTicks(columns.open_prices[row]),
            QtyUnits(columns.quantities[row]),
            Cents(columns.margins[row]),
            book.call_bps,
            asset.divisor,
        )
        book.index_margin_call(columns.ids[row], long, level, quote.mark)


def _pending_order(entry: PendingRow) -> PendingOrder:
    return PendingOrder(
        entry.id,
        entry.account_id,
        entry.asset,
        entry.long,
        entry.order_type,
        entry.price,
        entry.margin,
        entry.leverage,
        entry.take_profit,
        entry.stop_loss,
        entry.trailing_distance,
        entry.expires_at,
        entry.placed_at,
        entry.quantity,
    )


def _holds(image: TriggerImage) -> bool:
    """Whether a trigger book holds anything (an empty one of an asset since dropped does not)."""
    return bool(image.groups) or any(unpack_keys(heap) for heap in image.heaps)


def _restore_quote(state: State, row: QuoteRow) -> None:
    asset = state.assets[row.asset]
    if row.bid is not None and row.ask is not None and row.mark is not None:
        asset.quote = Quote(row.bid, row.ask, row.mark, row.ts or 0)
    if row.held is not None:
        asset.held = HeldTick(*row.held)


def _restore_triggers(book: TriggerBook, image: TriggerImage) -> dict[int, TrailGroup]:
    """Put an asset's heaps and groups back as they sat; return every group by id."""
    for name, data in zip(HEAPS, image.heaps, strict=True):
        setattr(book, name, unpack_keys(data))
    groups = {}
    for row in image.groups:
        group = TrailGroup(row.gid, row.long, row.extreme)
        group.entry_level = row.entry_level
        group.keys = unpack_keys(row.keys)
        groups[row.gid] = group
        if row.listed:
            book.groups[row.gid] = group
    book.long_trail = [groups[gid] for gid in image.long_trail]
    book.short_trail = [groups[gid] for gid in image.short_trail]
    book.next_gid, book.garbage, book.compact_at = image.next_gid, image.garbage, image.compact_at
    return groups


def _install_cold(
    state: State,
    image: EngineImage,
    pending: list[PendingOrder],
    groups: dict[str, dict[int, TrailGroup]],
) -> ColdBook:
    """Leave accounts and positions in their columns, behind maps that thaw them when read."""
    by_account: dict[int, list[PendingOrder]] = {}
    for order in pending:
        by_account.setdefault(order.account_id, []).append(order)
    held: dict[int, Cents] = {}
    for row in image.withdrawals:
        held[row.account_id] = Cents(held.get(row.account_id, 0) + row.amount)
    book = ColdBook(image.accounts, image.positions, by_account, groups, held)
    accounts = ThawingMap(book.accounts, book.thaw_account, book)
    positions = ThawingMap(book.positions, book.thaw_position, book)
    state.accounts, state.positions = accounts, positions
    for triggers in state.triggers.values():
        triggers.positions = positions
    book.on_thawed = lambda: state.settle(book.accounts, book.positions)
    state.cold = book
    book.warm(0)  # an image without accounts settles at once
    return book
