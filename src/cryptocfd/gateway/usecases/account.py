"""The caller's account: its figures now, and starting the demo account afresh."""

from __future__ import annotations

from cryptocfd.gateway import present
from cryptocfd.gateway.auth import Principal
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.schemas import BalanceOut, ResetOut
from cryptocfd.gateway.usecases.send import portfolio_of, send_with_view_as
from cryptocfd.gateway.usecases.trading import request_id
from cryptocfd.trading.commands import ResetDemoAccount
from cryptocfd.trading.events import OrderCancelled, PositionClosed


async def balance(resources: Resources, principal: Principal) -> BalanceOut:
    """Balance, equity, margin and unrealized PnL, as of every command the caller sent."""
    return present.balance((await portfolio_of(resources, principal, orders=False)).account)


async def reset_demo(resources: Resources, principal: Principal) -> ResetOut:
    """Close every position, cancel every entry and bring the balance back to the demo
    balance: one engine command, so it is done whole or not at all (``trading.demo``)."""
    rid = request_id(principal, None, "reset")
    command = ResetDemoAccount(rid, resources.clock.now_ms(), principal.account_id)
    reply = await send_with_view_as(resources, principal, command)
    closed = sum(isinstance(event, PositionClosed) for event in reply.events)
    cancelled = sum(isinstance(event, OrderCancelled) for event in reply.events)
    return ResetOut(closed, cancelled, present.balance(reply.view.account))
