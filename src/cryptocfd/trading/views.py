"""Read-only views of one account, for the gateway: what ``GET /balance`` and
``GET /trade/open`` show. Building one changes nothing, so a view is never logged or replayed.
"""

from __future__ import annotations

import msgspec

from cryptocfd.core.accounts import AccountKind
from cryptocfd.core.money import Cents, PriceTicks, QtyUnits
from cryptocfd.trading.book import AssetControls, PendingOrder, Position
from cryptocfd.trading.commands import LONG, SHORT, OrderType, Side
from cryptocfd.trading.state import AccountView, State


class PositionView(msgspec.Struct, frozen=True, array_like=True):
    """An open position with its unrealized PnL at the current closing price."""

    order_id: int
    asset: str
    side: Side
    margin: Cents
    leverage: int
    quantity: QtyUnits
    open_price: PriceTicks
    take_profit: PriceTicks | None
    stop_loss: PriceTicks | None
    trailing_distance: PriceTicks | None
    liquidation_price: PriceTicks
    unrealized_pnl: Cents
    opened_at: int


class PendingView(msgspec.Struct, frozen=True, array_like=True):
    """A limit or stop entry waiting for its price."""

    order_id: int
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
    placed_at: int
    quantity: QtyUnits | None = None  # last: answers from an older engine still decode


class Portfolio(msgspec.Struct, frozen=True, tag=True, array_like=True):
    """An account's figures, open positions and pending entries, oldest first."""

    account: AccountView
    positions: tuple[PositionView, ...]
    pending: tuple[PendingView, ...]


class BalanceRow(msgspec.Struct, frozen=True, array_like=True):
    """One account's cash, margin in use and withdrawal holds, in cents."""

    account_id: int
    balance: Cents
    used_margin: Cents
    withdrawals_held: Cents = Cents(0)  # last and optional, as older replies lack it


class Balances(msgspec.Struct, frozen=True, tag=True, array_like=True):
    """A page of balances by account id, and the house's; the next page starts after the
    last row's account id."""

    rows: tuple[BalanceRow, ...]
    house_balance: Cents


def _position_view(state: State, pos: Position) -> PositionView:
    return PositionView(
        order_id=pos.id,
        asset=pos.asset,
        side=LONG if pos.long else SHORT,
        margin=pos.margin,
        leverage=pos.leverage,
        quantity=pos.quantity,
        open_price=pos.open_price,
        take_profit=pos.take_profit,
        stop_loss=pos.stop_loss,
        trailing_distance=pos.trailing_distance,
        liquidation_price=pos.liquidation_price,
        unrealized_pnl=state.position_pnl(pos),
        opened_at=pos.opened_at,
    )


def _pending_view(order: PendingOrder) -> PendingView:
    return PendingView(
        order_id=order.id,
        asset=order.asset,
        side=LONG if order.long else SHORT,
        order_type=order.order_type,
        price=order.price,
        margin=order.margin,
        leverage=order.leverage,
        take_profit=order.take_profit,
        stop_loss=order.stop_loss,
        trailing_distance=order.trailing_distance,
        expires_at=order.expires_at,
        placed_at=order.placed_at,
        quantity=order.quantity,
    )


def portfolio(
    state: State, account_id: int, order_id: int | None = None, *, orders: bool = True
) -> Portfolio | None:
    """The account's portfolio, or ``None`` when there is no such account.

    ``order_id`` narrows the lists to that one order (if it is the account's); ``orders``
    false leaves them empty, for callers that want only the figures.
    """
    account = state.accounts.get(account_id)
    if account is None:
        return None
    if not orders:
        positions: list[Position] = []
        pending: list[PendingOrder] = []
    elif order_id is not None:
        one_position = account.positions.get(order_id)
        one_pending = account.pending.get(order_id)
        positions = [] if one_position is None else [one_position]
        pending = [] if one_pending is None else [one_pending]
    else:
        positions = sorted(account.positions.values(), key=_id)
        pending = sorted(account.pending.values(), key=_id)
    return Portfolio(
        account=state.account_view(account),
        positions=tuple(_position_view(state, p) for p in positions),
        pending=tuple(_pending_view(o) for o in pending),
    )


def _id(item: Position | PendingOrder) -> int:
    return item.id


def balances(state: State, after_account_id: int, limit: int) -> Balances:
    """Up to ``limit`` accounts' balances, in account id order, after ``after_account_id``."""
    ids = sorted(i for i in state.accounts if i > after_account_id)[: max(limit, 0)]
    accounts = state.accounts
    rows = tuple(
        BalanceRow(i, accounts[i].balance, accounts[i].used_margin, accounts[i].held) for i in ids
    )
    return Balances(rows, state.house_balance)


class AssetRisk(msgspec.Struct, frozen=True, array_like=True):
    """One asset's open positions of one kind of account, at the mark (``docs/engine.md``,
    "The house's risk"); ``mark`` is ``None`` (and every figure 0) before its first quote.
    ``controls`` are the asset's, which bind both kinds."""

    asset: str
    mark: PriceTicks | None
    long_quantity: QtyUnits
    short_quantity: QtyUnits
    net_notional: Cents
    gross_notional: Cents
    house_unrealized_pnl: Cents
    controls: AssetControls


class Risk(msgspec.Struct, frozen=True, tag=True, array_like=True):
    """The house's exposure to one kind of account, per asset, and its realized PnL."""

    account_kind: AccountKind
    assets: tuple[AssetRisk, ...]
    house_realized_pnl_today: Cents
    house_realized_pnl_total: Cents


def risk(state: State, kind: AccountKind, ts: int | None) -> Risk:
    """The risk console's figures for ``kind``, from the sums the state keeps: O(assets)."""
    rows = []
    for symbol, asset in state.assets.items():
        exposure = state.risk.exposure[symbol][kind]
        long_qty, short_qty = exposure.long_quantity, exposure.short_quantity
        quote = asset.quote
        if quote is None:
            zero = Cents(0)
            rows.append(
                AssetRisk(symbol, None, long_qty, short_qty, zero, zero, zero, asset.controls)
            )
            continue
        mark, divisor = quote.mark, asset.divisor
        traders = long_qty * mark - exposure.long_entry + exposure.short_entry - short_qty * mark
        rows.append(
            AssetRisk(
                symbol,
                mark,
                long_qty,
                short_qty,
                (long_qty - short_qty) * mark // divisor,
                (long_qty + short_qty) * mark // divisor,
                -(traders // divisor),  # the traders' PnL floored: the house's rounds up
                asset.controls,
            )
        )
    realized = state.risk.realized[kind]
    return Risk(kind, tuple(rows), state.risk.today(kind, ts), realized.total)
