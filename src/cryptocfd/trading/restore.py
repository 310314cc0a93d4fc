"""Rebuild a state from its image: columns back into records, heaps and groups as they were."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain, repeat

from cryptocfd.trading.assets import AssetSpec
from cryptocfd.trading.book import Account, HeldTick, PendingOrder, Position, Quote, TrailGroup
from cryptocfd.trading.columns import unpack_ints, unpack_keys
from cryptocfd.trading.image import (
    ASSET_SHIFT,
    HEAPS,
    IMAGE_VERSION,
    LONG_FLAG,
    STOP_LOSS_FLAG,
    TAKE_PROFIT_FLAG,
    TRAILING_FLAG,
    AccountColumns,
    EngineImage,
    PositionColumns,
    QuoteRow,
    TriggerImage,
)
from cryptocfd.trading.state import State
from cryptocfd.trading.triggers import TriggerBook


def restore_state(image: EngineImage, assets: Iterable[AssetSpec]) -> State:
    """Rebuild a state, indexes included, from an image."""
    if image.version != IMAGE_VERSION:
        raise ValueError(f"engine image version {image.version} is not {IMAGE_VERSION}")
    state = State(assets)
    unknown = {row.asset for row in image.quotes} - set(state.assets)
    if unknown:
        raise ValueError(f"the image holds assets that are not configured: {sorted(unknown)}")
    state.house_balance, state.deposited = image.house_balance, image.deposited
    state.next_order_id = image.next_order_id
    for quote_row in image.quotes:
        _restore_quote(state, quote_row)
    groups = {t.asset: _restore_triggers(state.triggers[t.asset], t) for t in image.triggers}
    accounts = _restore_accounts(state, image.accounts)
    _restore_positions(state, accounts, image.accounts, image.positions, groups)
    for entry in image.pending:
        order = PendingOrder(
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
        )
        state.pending[order.id] = state.accounts[order.account_id].pending[order.id] = order
    return state


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


def _restore_accounts(state: State, columns: AccountColumns) -> list[Account]:
    accounts = list(
        map(Account, unpack_ints(columns.ids), unpack_ints(columns.balances))
    )  # fmt: skip
    for account, used in zip(accounts, unpack_ints(columns.used_margins), strict=True):
        account.used_margin = used
    state.accounts.update((a.id, a) for a in accounts)
    return accounts


def _optional(values: Iterable[int], flags: bytes, flag: int) -> list[int | None]:
    return [v if f & flag else None for v, f in zip(values, flags, strict=True)]


def _restore_positions(
    state: State,
    accounts: list[Account],
    account_columns: AccountColumns,
    columns: PositionColumns,
    groups: dict[str, dict[int, TrailGroup]],
) -> None:
    flags = columns.flags
    symbols = [columns.assets[k >> ASSET_SHIFT] for k in range(len(columns.assets) << ASSET_SHIFT)]
    ids = unpack_ints(columns.ids).tolist()
    counts = unpack_ints(account_columns.position_counts)
    owners = chain.from_iterable(map(repeat, [a.id for a in accounts], counts))
    positions = list(
        map(
            Position,
            ids,
            owners,
            map(symbols.__getitem__, flags),
            [bool(f & LONG_FLAG) for f in flags],
            unpack_ints(columns.margins),
            unpack_ints(columns.leverages),
            unpack_ints(columns.quantities),
            unpack_ints(columns.open_prices),
            unpack_ints(columns.liquidation_prices),
            _optional(unpack_ints(columns.take_profits), flags, TAKE_PROFIT_FLAG),
            _optional(unpack_ints(columns.stop_losses), flags, STOP_LOSS_FLAG),
            _optional(unpack_ints(columns.trailing_distances), flags, TRAILING_FLAG),
            unpack_ints(columns.opened_at),
        )
    )
    for pos, gid in zip(positions, unpack_ints(columns.trail_groups), strict=True):
        if gid:
            pos.trail_group = groups[pos.asset][gid]
    state.positions.update(zip(ids, positions, strict=True))
    start = 0
    for account, count in zip(accounts, counts, strict=True):
        end = start + count
        account.positions.update(zip(ids[start:end], positions[start:end], strict=True))
        start = end
