"""``/trade``: open, list, modify, close and cancel orders, and the closed history."""

from __future__ import annotations

from typing import Annotated

from litestar import get, post
from litestar.params import Parameter, QueryParameter

from cryptocfd.gateway.deps import (
    ACCOUNT_READS,
    ACCOUNT_TRADES,
    Caller,
    IdempotencyKey,
    Payload,
    ResourcesDep,
)
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
    OrderOut,
    PositionOut,
)
from cryptocfd.gateway.usecases import trading
from cryptocfd.store.history import MAX_LIMIT

PageLimit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="at most 500")]
Cursor = Annotated[str | None, QueryParameter(max_length=200, description="next_cursor")]
AssetFilter = Annotated[str | None, QueryParameter(max_length=16, description="only this asset")]
OrderIdPath = Annotated[int, Parameter(ge=1, le=2**53, description="an order id")]


@post(
    "/trade/create",
    status_code=200,
    opt=ACCOUNT_TRADES,
    summary="Open a position or place a pending entry",
)
async def create(
    resources: ResourcesDep,
    principal: Caller,
    payload: Payload[CreateOrderRequest],
    key: IdempotencyKey = None,
) -> CreateOrderOut:
    """Market orders fill now at the ask (long) or bid (short); limit and stop entries wait.

    Send an ``Idempotency-Key`` header (or ``client_order_id``) to make retries safe.
    """
    return await trading.create(resources, principal, payload, key)


@get("/trade/open", opt=ACCOUNT_READS, summary="Open positions and pending entries")
async def open_orders(
    resources: ResourcesDep, principal: Caller, asset: AssetFilter = None
) -> OpenOut:
    """Positions with their unrealized PnL now, and entries waiting for their price."""
    return await trading.open_orders(resources, principal, asset)


@get("/trade/orders/{order_id:int}", opt=ACCOUNT_READS, summary="One order, in any state")
async def order(resources: ResourcesDep, principal: Caller, order_id: OrderIdPath) -> OrderOut:
    """Pending, open, closed, liquidated, cancelled, expired or rejected: what became of it.

    Another user's order is a 404, as an unknown one is.
    """
    return await trading.order(resources, principal, order_id)


@post(
    "/trade/close",
    status_code=200,
    opt=ACCOUNT_TRADES,
    summary="Close a position, fully or in part",
)
async def close(
    resources: ResourcesDep,
    principal: Caller,
    payload: Payload[CloseRequest],
    key: IdempotencyKey = None,
) -> ClosedOut:
    """Close at the bid (long) or ask (short); ``fraction`` 0.5 closes half.

    Retried with the same ``Idempotency-Key``, it answers what the first close did, even
    though the position is gone by then.
    """
    return await trading.close(resources, principal, payload, key)


@post(
    "/trade/modify",
    status_code=200,
    opt=ACCOUNT_TRADES,
    summary="Change a position's take-profit, stop or trail",
)
async def modify(
    resources: ResourcesDep,
    principal: Caller,
    payload: Payload[ModifyRequest],
    key: IdempotencyKey = None,
) -> PositionOut:
    """Omit a field to keep it, send ``null`` to remove it; a new trailing distance re-arms."""
    return await trading.modify(resources, principal, payload, key)


@post("/trade/cancel", status_code=200, opt=ACCOUNT_TRADES, summary="Cancel a pending entry")
async def cancel(
    resources: ResourcesDep,
    principal: Caller,
    payload: Payload[CancelRequest],
    key: IdempotencyKey = None,
) -> CancelledOut:
    """Cancel a limit or stop entry and release its margin."""
    return await trading.cancel(resources, principal, payload, key)


@get("/trade/closed", opt=ACCOUNT_READS, summary="Closed trades, newest first")
async def closed_history(
    resources: ResourcesDep,
    principal: Caller,
    cursor: Cursor = None,
    limit: PageLimit = 50,
    asset: AssetFilter = None,
) -> ClosedPage:
    """Every close, full or partial, as the journal booked it; page with ``next_cursor``."""
    return await trading.closed_history(resources, principal, cursor, limit, asset)


@get("/trade/close", opt=ACCOUNT_READS, summary="Closed trades (the path older clients call)")
async def closed_history_alias(
    resources: ResourcesDep,
    principal: Caller,
    cursor: Cursor = None,
    limit: PageLimit = 50,
    asset: AssetFilter = None,
) -> ClosedPage:
    """The same as ``GET /trade/closed``."""
    return await trading.closed_history(resources, principal, cursor, limit, asset)


ROUTES = [create, open_orders, order, close, modify, cancel, closed_history, closed_history_alias]
