"""Engine values as the API shows them: decimal strings at their scale, ISO times."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from litestar import Response

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import QTY_DECIMALS, Cents, format_cents, format_scaled
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.schemas import (
    BalanceOut,
    CancelledOut,
    ClosedOut,
    ClosedPage,
    CreateOrderOut,
    OpenOut,
    OrderOut,
    PendingOut,
    PositionOut,
    TokensOut,
)
from cryptocfd.store.history import ClosedTrade, ClosedTradesPage, JournaledOrder
from cryptocfd.trading.events import OrderCancelled, OrderPlaced, PositionClosed, PositionOpened
from cryptocfd.trading.state import AccountView
from cryptocfd.trading.views import PendingView, Portfolio, PositionView

CURRENCY = "USD"


def iso_ms(ms: int) -> str:
    """Unix milliseconds as ISO 8601 UTC with milliseconds."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def iso(moment: datetime) -> str:
    """A stored time as ISO 8601 UTC with milliseconds, as ``iso_ms`` writes it."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


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
        quantity=None if view.quantity is None else quantity(view.quantity),
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


def _time(ms: int | None) -> str | None:
    return None if ms is None else iso_ms(ms)


def live_order(view: Portfolio, spec: AssetSpec, booked: JournaledOrder | None) -> OrderOut:
    """The order the engine holds now (the view narrowed to it), with what only the journal
    knows of it (its type and when it was placed), if the journal has booked it yet. The
    fields it shares with an open position or a pending entry are formatted as those are."""
    if view.positions:
        shown = msgspec.structs.asdict(position(view.positions[0], spec))
        placed = shown["opened_at"] if booked is None else iso_ms(booked.placed_at)
        return OrderOut(
            **shown,
            status="open",
            order_type=None if booked is None else booked.order_type,
            price=None,
            realized_pnl=format_cents(Cents(0) if booked is None else booked.realized_pnl),
            end_reason=None,
            placed_at=placed,
            closed_at=None,
        )
    (entry,) = view.pending
    shown = msgspec.structs.asdict(pending(entry, spec))
    del shown["expires_at"]  # an order's answer has no place for it
    return OrderOut(
        **shown,
        status="pending",
        open_price=None,
        liquidation_price=None,
        unrealized_pnl=None,
        realized_pnl=format_cents(Cents(0)),
        end_reason=None,
        opened_at=None,
        closed_at=None,
    )


def ended_order(order: JournaledOrder, spec: AssetSpec) -> OrderOut:
    """An order that ended, as the journal booked it."""
    ended = order.status == "closed" and order.end_reason == "liquidated"
    return OrderOut(
        order_id=order.order_id,
        asset=order.asset,
        side=order.side,
        status="liquidated" if ended else order.status,  # type: ignore[arg-type]
        order_type=order.order_type,
        margin=format_cents(order.margin),
        leverage=order.leverage,
        price=_price(order.price, spec),
        quantity=None if order.quantity is None else quantity(order.quantity),
        open_price=_price(order.open_price, spec),
        take_profit=_price(order.take_profit, spec),
        stop_loss=_price(order.stop_loss, spec),
        trailing_distance=_price(order.trailing_distance, spec),
        liquidation_price=_price(order.liquidation_price, spec),
        unrealized_pnl=None,
        realized_pnl=format_cents(order.realized_pnl),
        end_reason=order.end_reason,
        placed_at=iso_ms(order.placed_at),
        opened_at=_time(order.opened_at),
        closed_at=_time(order.closed_at),
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


def created(
    order: PositionOpened | OrderPlaced, view: Portfolio, assets: dict[str, AssetSpec]
) -> CreateOrderOut:
    """What an order became, decided here once: the pending entry or the open position that
    the view taken right after the command holds (narrowed to this order)."""
    spec = assets[order.asset]  # a replayed outcome may be of another asset
    if view.pending:
        return CreateOrderOut(order.order_id, "pending", order=pending(view.pending[0], spec))
    if view.positions:
        return CreateOrderOut(order.order_id, "open", position=position(view.positions[0], spec))
    # A pending entry filled, or a position closed, before the view was taken: both are
    # rare enough to cost a second look.
    raise ApiError(409, "ORDER_CLOSED", f"order {order.order_id} closed as soon as it opened")


def open_orders(view: Portfolio, assets: dict[str, AssetSpec]) -> OpenOut:
    """Open positions with their unrealized PnL, and pending entries."""
    return OpenOut(
        positions=[position(p, assets[p.asset]) for p in view.positions],
        pending=[pending(o, assets[o.asset]) for o in view.pending],
    )


def cancelled(event: OrderCancelled) -> CancelledOut:
    """A cancelled entry and the margin it released."""
    return CancelledOut(event.order_id, format_cents(event.margin))


def closed_page(page: ClosedTradesPage, assets: dict[str, AssetSpec]) -> ClosedPage:
    """A page of the closed history."""
    return ClosedPage(
        items=[closed_trade(t, assets[t.asset]) for t in page.items],
        next_cursor=page.next_cursor,
    )


def token_response(tokens: TokensOut) -> Response[TokensOut]:
    """Tokens as an answer no cache keeps (RFC 6749 §5.1)."""
    return Response(tokens, headers={"Cache-Control": "no-store"})
