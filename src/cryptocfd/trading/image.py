"""The engine's whole state as plain rows, and back: what a snapshot stores.

An image holds what the state means, not how it is indexed: trigger heaps and trailing groups
are rebuilt on load (trailing stops armed at their saved peaks), so a restored engine hashes
equal to the one imaged and behaves the same from then on.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from cryptocfd.trading.assets import AssetSpec
from cryptocfd.trading.book import Account, HeldTick, PendingOrder, Position, Quote
from cryptocfd.trading.commands import OrderType
from cryptocfd.trading.events import Accepted
from cryptocfd.trading.rejections import Rejection
from cryptocfd.trading.state import State

IMAGE_VERSION = 1


class QuoteRow(msgspec.Struct, array_like=True, gc=False):
    """An asset's quote and held tick."""

    asset: str
    bid: int | None
    ask: int | None
    mark: int | None
    ts: int | None
    held: tuple[int, int, int] | None


class PositionRow(msgspec.Struct, array_like=True, gc=False):
    """A position; ``extreme`` is its trailing stop's peak (long) or trough (short)."""

    id: int
    account_id: int
    asset: str
    long: bool
    margin: int
    leverage: int
    quantity: int
    open_price: int
    liquidation_price: int
    take_profit: int | None
    stop_loss: int | None
    trailing_distance: int | None
    opened_at: int
    extreme: int | None


class PendingRow(msgspec.Struct, array_like=True, gc=False):
    """A pending entry."""

    id: int
    account_id: int
    asset: str
    long: bool
    order_type: OrderType
    price: int
    margin: int
    leverage: int
    take_profit: int | None
    stop_loss: int | None
    trailing_distance: int | None
    expires_at: int | None
    placed_at: int


class RememberedRow(msgspec.Struct, array_like=True, gc=False):
    """A request id within the dedupe window, with its command time and first outcome."""

    request_id: str
    ts: int
    outcome: Accepted | Rejection


class EngineImage(msgspec.Struct, gc=False):
    """Everything needed to rebuild an engine."""

    version: int
    house_balance: int
    deposited: int
    next_order_id: int
    quotes: list[QuoteRow]
    accounts: list[tuple[int, int]]  # (account id, balance)
    positions: list[PositionRow]
    pending: list[PendingRow]
    remembered: list[RememberedRow]


def image_state(state: State, remembered: list[RememberedRow]) -> EngineImage:
    """Describe ``state`` (and the remembered requests) as rows."""
    quotes = []
    for symbol, asset in state.assets.items():
        q, h = asset.quote, asset.held
        quotes.append(
            QuoteRow(
                symbol,
                None if q is None else q.bid,
                None if q is None else q.ask,
                None if q is None else q.mark,
                None if q is None else q.ts,
                None if h is None else (h.bid, h.ask, h.ts),
            )
        )
    positions = [
        PositionRow(
            p.id,
            p.account_id,
            p.asset,
            p.long,
            p.margin,
            p.leverage,
            p.quantity,
            p.open_price,
            p.liquidation_price,
            p.take_profit,
            p.stop_loss,
            p.trailing_distance,
            p.opened_at,
            None if p.trail_group is None else p.trail_group.extreme,
        )
        for p in state.positions.values()
    ]
    pending = [
        PendingRow(
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
        )
        for o in state.pending.values()
    ]
    return EngineImage(
        IMAGE_VERSION,
        state.house_balance,
        state.deposited,
        state.next_order_id,
        quotes,
        [(a.id, a.balance) for a in state.accounts.values()],
        positions,
        pending,
        remembered,
    )


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
        asset = state.assets[quote_row.asset]
        if quote_row.bid is not None and quote_row.ask is not None and quote_row.mark is not None:
            asset.quote = Quote(quote_row.bid, quote_row.ask, quote_row.mark, quote_row.ts or 0)
        if quote_row.held is not None:
            asset.held = HeldTick(*quote_row.held)
    accounts = state.accounts
    for account_id, balance in image.accounts:
        accounts[account_id] = Account(account_id, balance)
    trailing: list[tuple[int, Position]] = []
    for row in image.positions:
        account = accounts[row.account_id]
        pos = Position(
            row.id,
            account.id,
            row.asset,
            row.long,
            row.margin,
            row.leverage,
            row.quantity,
            row.open_price,
            row.liquidation_price,
            row.take_profit,
            row.stop_loss,
            row.trailing_distance,
            row.opened_at,
        )
        state.positions[pos.id] = account.positions[pos.id] = pos
        account.used_margin += pos.margin
        triggers = state.triggers[pos.asset]
        triggers.add_liquidation(pos)
        if pos.take_profit is not None or pos.stop_loss is not None:
            triggers.add_stops(pos)
        if row.extreme is not None:
            trailing.append((row.extreme, pos))
    # Arm from the outermost peak (trough) in, so each group stacks on the right side.
    trailing.sort(key=lambda item: -item[0] if item[1].long else item[0])
    for extreme, pos in trailing:
        state.triggers[pos.asset].arm_trailing(pos, extreme)
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
        state.pending[order.id] = accounts[order.account_id].pending[order.id] = order
        accounts[order.account_id].used_margin += order.margin
        state.triggers[order.asset].add_pending(order)
    return state
