"""``/balance`` and the demo reset."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post

from cryptocfd.gateway.auth import PER_USER_LIMIT, Caller
from cryptocfd.gateway.engine_calls import portfolio_of, send_with_view_as
from cryptocfd.gateway.orders import now_ms, request_id
from cryptocfd.gateway.present import balance
from cryptocfd.gateway.resources import resources_of
from cryptocfd.gateway.schemas import BalanceOut, ResetOut
from cryptocfd.trading.commands import ResetDemoAccount
from cryptocfd.trading.events import OrderCancelled, PositionClosed


@get("/balance", summary="Balance, equity, margin and unrealized PnL")
async def get_balance(request: Request[Any, Any, Any], principal: Caller) -> BalanceOut:
    """The account now: equity moves with every tick of an open position's asset."""
    view = await portfolio_of(resources_of(request.app), principal, orders=False)
    return balance(view.account)


@post(
    "/account/demo/reset",
    status_code=200,
    opt={PER_USER_LIMIT: True},
    summary="Reset the demo account",
)
async def reset_demo(request: Request[Any, Any, Any], principal: Caller) -> ResetOut:
    """Close every position, cancel every entry, and bring the balance back to 10,000.00."""
    command = ResetDemoAccount(request_id(principal, None, "reset"), now_ms(), principal.account_id)
    events, view = await send_with_view_as(resources_of(request.app), principal, command)
    closed = sum(isinstance(event, PositionClosed) for event in events)
    cancelled = sum(isinstance(event, OrderCancelled) for event in events)
    return ResetOut(closed, cancelled, balance(view.account))


ROUTES = [get_balance, reset_demo]
