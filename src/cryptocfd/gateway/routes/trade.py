"""``/trade``: open, list, modify, close and cancel, each checked against the caller's account.

Every command carries the caller's own account id, and the engine answers ``ORDER_NOT_FOUND``
for an order of another account, so asking about someone else's order is a 404, never a leak.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import QueryParameter

from cryptocfd.core.money import format_cents
from cryptocfd.gateway.auth import PER_USER_LIMIT, Caller, Principal
from cryptocfd.gateway.body import body_of, decode_body
from cryptocfd.gateway.engine_calls import (
    outcome_events,
    portfolio_of,
    send_as,
    send_with_view_as,
)
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.orders import (
    asset_spec,
    fraction_bps,
    modify_position,
    now_ms,
    place_order,
    request_id,
)
from cryptocfd.gateway.present import closed, closed_trade, pending, position
from cryptocfd.gateway.resources import resources_of
from cryptocfd.gateway.schemas import (
    CancelledOut,
    CancelRequest,
    ClosedOut,
    ClosedPage,
    CloseRequest,
    CreateOrderOut,
    CreateOrderRequest,
    ModifyRequest,
    OpenOut,
    PositionOut,
)
from cryptocfd.store.history import MAX_LIMIT, InvalidCursor, closed_trades_page
from cryptocfd.trading.commands import CancelOrder, ClosePosition
from cryptocfd.trading.events import OrderCancelled, OrderPlaced, PositionClosed, PositionOpened
from cryptocfd.trading.views import Portfolio, PositionView

TRADE = "/api/v1/trade"

# Bodies these handlers decode themselves, declared for the OpenAPI document.
body_of("post", f"{TRADE}/create", CreateOrderRequest)
body_of("post", f"{TRADE}/close", CloseRequest)
body_of("post", f"{TRADE}/modify", ModifyRequest)
body_of("post", f"{TRADE}/cancel", CancelRequest)
IDEMPOTENCY_HEADER = "idempotency-key"
LIMITED = {PER_USER_LIMIT: True}


def _position_in(view: Portfolio, order_id: int) -> PositionView:
    for candidate in view.positions:
        if candidate.order_id == order_id:
            return candidate
    raise ApiError(404, "ORDER_NOT_FOUND", f"no open position {order_id} on this account")


@post(
    "/trade/create",
    status_code=200,
    opt=LIMITED,
    summary="Open a position or place a pending entry",
)
async def create(request: Request[Any, Any, Any], principal: Caller) -> CreateOrderOut:
    """Market orders fill now at the ask (long) or bid (short); limit and stop entries wait.

    Send an ``Idempotency-Key`` header (or ``client_order_id``) to make retries safe.
    """
    resources = resources_of(request.app)
    body = decode_body(await request.body(), CreateOrderRequest)
    key = body.client_order_id or request.headers.get(IDEMPOTENCY_HEADER)
    command = place_order(
        body, principal, resources.assets, request_id(principal, key, "create"), now_ms()
    )
    events, view = await send_with_view_as(resources, principal, command)
    first = events[0]
    # A key sent with another request is refused by the engine (409), so this is our order's.
    assert isinstance(first, PositionOpened | OrderPlaced), first
    order_id = first.order_id
    spec = resources.assets[first.asset]  # a replayed outcome may be of another asset
    if view.pending:
        return CreateOrderOut(order_id, "pending", order=pending(view.pending[0], spec))
    if view.positions:
        return CreateOrderOut(order_id, "open", position=position(view.positions[0], spec))
    # A pending entry filled, or a position closed, before the view was taken: both are
    # rare enough to cost a second look.
    raise ApiError(409, "ORDER_CLOSED", f"order {order_id} closed as soon as it opened")


@get("/trade/open", summary="Open positions and pending entries")
async def open_orders(request: Request[Any, Any, Any], principal: Caller) -> OpenOut:
    """Positions with their unrealized PnL now, and entries waiting for their price."""
    resources = resources_of(request.app)
    view = await portfolio_of(resources, principal)
    assets = resources.assets
    return OpenOut(
        positions=[position(p, assets[p.asset]) for p in view.positions],
        pending=[pending(o, assets[o.asset]) for o in view.pending],
    )


@post("/trade/close", status_code=200, opt=LIMITED, summary="Close a position, fully or in part")
async def close(request: Request[Any, Any, Any], principal: Caller) -> ClosedOut:
    """Close at the bid (long) or ask (short); ``fraction`` 0.5 closes half.

    Retried with the same ``Idempotency-Key``, it answers what the first close did, even
    though the position is gone by then.
    """
    resources = resources_of(request.app)
    body = decode_body(await request.body(), CloseRequest)
    bps = fraction_bps(body.fraction)
    rid = request_id(principal, request.headers.get(IDEMPOTENCY_HEADER), "close")
    command = ClosePosition(rid, now_ms(), principal.account_id, body.order_id, bps)
    event = outcome_events(await send_as(resources, principal, command))[0]
    assert isinstance(event, PositionClosed), event
    return closed(event, resources.assets[event.asset])


@post(
    "/trade/modify",
    status_code=200,
    opt=LIMITED,
    summary="Change a position's take-profit, stop or trail",
)
async def modify(request: Request[Any, Any, Any], principal: Caller) -> PositionOut:
    """Omit a field to keep it, send ``null`` to remove it; a new trailing distance re-arms."""
    resources = resources_of(request.app)
    body = decode_body(await request.body(), ModifyRequest)
    held = _position_in(await portfolio_of(resources, principal, body.order_id), body.order_id)
    spec = asset_spec(resources.assets, held.asset)
    rid = request_id(principal, request.headers.get(IDEMPOTENCY_HEADER), "modify")
    command = modify_position(body, principal, spec, rid, now_ms())
    _events, view = await send_with_view_as(resources, principal, command)
    return position(_position_in(view, body.order_id), spec)


@post("/trade/cancel", status_code=200, opt=LIMITED, summary="Cancel a pending entry")
async def cancel(request: Request[Any, Any, Any], principal: Caller) -> CancelledOut:
    """Cancel a limit or stop entry and release its margin."""
    resources = resources_of(request.app)
    body = decode_body(await request.body(), CancelRequest)
    rid = request_id(principal, request.headers.get(IDEMPOTENCY_HEADER), "cancel")
    command = CancelOrder(rid, now_ms(), principal.account_id, body.order_id)
    event = outcome_events(await send_as(resources, principal, command))[0]
    assert isinstance(event, OrderCancelled), event
    return CancelledOut(event.order_id, format_cents(event.margin))


async def _closed_page(
    request: Request[Any, Any, Any], principal: Principal, cursor: str | None, limit: int
) -> ClosedPage:
    resources = resources_of(request.app)
    try:
        page = await closed_trades_page(resources.pool, principal.account_id, cursor, limit)
    except InvalidCursor as exc:
        raise ApiError(400, InvalidCursor.code, str(exc)) from exc
    return ClosedPage(
        items=[closed_trade(t, resources.assets[t.asset]) for t in page.items],
        next_cursor=page.next_cursor,
    )


PageLimit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="at most 500")]
Cursor = Annotated[str | None, QueryParameter(max_length=200, description="next_cursor")]


@get("/trade/closed", summary="Closed trades, newest first")
async def closed_history(
    request: Request[Any, Any, Any], principal: Caller, cursor: Cursor = None, limit: PageLimit = 50
) -> ClosedPage:
    """Every close, full or partial, as the journal booked it; page with ``next_cursor``."""
    return await _closed_page(request, principal, cursor, limit)


@get("/trade/close", summary="Closed trades (the path older clients call)")
async def closed_history_alias(
    request: Request[Any, Any, Any], principal: Caller, cursor: Cursor = None, limit: PageLimit = 50
) -> ClosedPage:
    """The same as ``GET /trade/closed``."""
    return await _closed_page(request, principal, cursor, limit)


ROUTES = [create, open_orders, close, modify, cancel, closed_history, closed_history_alias]
