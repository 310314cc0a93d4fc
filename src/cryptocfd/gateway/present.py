"""Engine values as the API shows them: decimal strings at their scale, ISO times."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import QTY_DECIMALS, format_cents, format_scaled
from cryptocfd.gateway.schemas import BalanceOut, ClosedOut, PendingOut, PositionOut
from cryptocfd.store.history import ClosedTrade
from cryptocfd.trading.events import PositionClosed
from cryptocfd.trading.state import AccountView
from cryptocfd.trading.views import PendingView, PositionView

CURRENCY = "USD"


def iso_ms(ms: int) -> str:
    """Unix milliseconds as ISO 8601 UTC with milliseconds."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _price(value: int | None, spec: AssetSpec) -> str | None:
    return None if value is None else format_scaled(value, spec.price_decimals)


def price(value: int, spec: AssetSpec) -> str:
    """A price in ticks as a decimal string."""
    return format_scaled(value, spec.price_decimals)


def quantity(value: int) -> str:
    """A quantity in 1e-8 units as a decimal string."""
    return format_scaled(value, QTY_DECIMALS)


def balance(view: AccountView) -> BalanceOut:
    """An account's figures."""
    level = view.margin_level_bps
    return BalanceOut(
        currency=CURRENCY,
        balance=format_cents(view.balance),
        equity=format_cents(view.equity),
        used_margin=format_cents(view.used_margin),
        free_margin=format_cents(view.free_margin),
        margin_level=None if level is None else format_scaled(level, 2),
        unrealized_pnl=format_cents(view.unrealized_pnl),
    )


def position(view: PositionView, spec: AssetSpec) -> PositionOut:
    """An open position."""
    return PositionOut(
        order_id=view.order_id,
        asset=view.asset,
        side=str(view.side),
        margin=format_cents(view.margin),
        leverage=view.leverage,
        quantity=quantity(view.quantity),
        open_price=price(view.open_price, spec),
        take_profit=_price(view.take_profit, spec),
        stop_loss=_price(view.stop_loss, spec),
        trailing_distance=_price(view.trailing_distance, spec),
        liquidation_price=price(view.liquidation_price, spec),
        unrealized_pnl=format_cents(view.unrealized_pnl),
        opened_at=iso_ms(view.opened_at),
    )


def pending(view: PendingView, spec: AssetSpec) -> PendingOut:
    """A pending entry."""
    return PendingOut(
        order_id=view.order_id,
        asset=view.asset,
        side=str(view.side),
        order_type=str(view.order_type),
        price=price(view.price, spec),
        margin=format_cents(view.margin),
        leverage=view.leverage,
        take_profit=_price(view.take_profit, spec),
        stop_loss=_price(view.stop_loss, spec),
        trailing_distance=_price(view.trailing_distance, spec),
        expires_at=None if view.expires_at is None else iso_ms(view.expires_at),
        placed_at=iso_ms(view.placed_at),
    )


def closed(event: PositionClosed, spec: AssetSpec) -> ClosedOut:
    """A close, from its event alone: a retried close is answered from the remembered one."""
    opened_at_ms = event.opened_at
    return ClosedOut(
        order_id=event.order_id,
        asset=event.asset,
        side=str(event.side),
        margin=format_cents(event.margin),
        leverage=event.leverage,
        quantity=quantity(event.quantity),
        open_price=price(event.open_price, spec),
        close_price=price(event.close_price, spec),
        pnl=format_cents(event.pnl),
        close_reason=str(event.reason),
        opened_at=None if opened_at_ms is None else iso_ms(opened_at_ms),
        closed_at=iso_ms(event.ts),
        remaining_quantity=quantity(event.remaining_quantity),
    )


def closed_trade(trade: ClosedTrade, spec: AssetSpec) -> ClosedOut:
    """A close from the history the journal keeps."""
    return ClosedOut(
        order_id=trade.order_id,
        asset=trade.asset,
        side=trade.side,
        margin=format_cents(trade.margin),
        leverage=trade.leverage,
        quantity=quantity(trade.quantity),
        open_price=price(trade.open_price, spec),
        close_price=price(trade.close_price, spec),
        pnl=format_cents(trade.pnl),
        close_reason=trade.close_reason,
        opened_at=iso_ms(trade.opened_at),
        closed_at=iso_ms(trade.closed_at),
    )
