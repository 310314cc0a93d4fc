"""``/balance`` and the demo reset.

The reset is left as it was (``Request`` and ``resources_of``, several commands in a row): its
workflow becomes one engine command in the engine's own change.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post

from cryptocfd.core.clock import WALL
from cryptocfd.gateway.auth import Principal
from cryptocfd.gateway.deps import PER_USER_LIMIT, Caller, ResourcesDep
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.present import balance
from cryptocfd.gateway.resources import Resources, resources_of
from cryptocfd.gateway.schemas import BalanceOut, ResetOut
from cryptocfd.gateway.signin import DEMO_BALANCE_CENTS
from cryptocfd.gateway.usecases import account
from cryptocfd.gateway.usecases.send import outcome_events, portfolio_of, send_as
from cryptocfd.trading.commands import CancelOrder, ClosePosition, Deposit, Withdraw
from cryptocfd.trading.engine import Outcome
from cryptocfd.trading.rejections import RejectCode, Rejection

RESET_LOCK_MS = 30_000
now_ms = WALL.now_ms  # the reset's clock, until its workflow is one engine command


@get("/balance", summary="Balance, equity, margin and unrealized PnL")
async def get_balance(resources: ResourcesDep, principal: Caller) -> BalanceOut:
    """The account now: equity moves with every tick of an open position's asset."""
    return await account.balance(resources, principal)


@post(
    "/account/demo/reset",
    status_code=200,
    opt={PER_USER_LIMIT: True},
    summary="Reset the demo account",
)
async def reset_demo(request: Request[Any, Any, Any], principal: Caller) -> ResetOut:
    """Close every position, cancel every entry, and bring the balance back to 10,000.00."""
    resources = resources_of(request.app)
    reset = uuid.uuid4().hex
    # One reset at a time per account: two would each top the balance up by the difference.
    lock = f"{resources.prefix}lock:reset:{principal.account_id}"
    if not await resources.redis.set(lock, reset, nx=True, px=RESET_LOCK_MS):
        raise ApiError(409, "RESET_IN_PROGRESS", "a reset of this account is already running")
    try:
        return await _reset(resources, principal, reset)
    finally:
        await resources.redis.delete(lock)


async def _reset(resources: Resources, principal: Principal, reset: str) -> ResetOut:
    view = await portfolio_of(resources, principal)
    account = principal.account_id
    closed = cancelled = 0
    for held in view.positions:
        rid = f"reset:{reset}:close:{held.order_id}"
        outcome = await send_as(
            resources, principal, ClosePosition(rid, now_ms(), account, held.order_id)
        )
        if _done(outcome):
            closed += 1
    for entry in view.pending:
        rid = f"reset:{reset}:cancel:{entry.order_id}"
        outcome = await send_as(
            resources, principal, CancelOrder(rid, now_ms(), account, entry.order_id)
        )
        if _done(outcome):
            cancelled += 1
    now = (await portfolio_of(resources, principal)).account
    difference = DEMO_BALANCE_CENTS - now.balance
    if difference > 0:
        outcome_events(
            await send_as(
                resources,
                principal,
                Deposit(f"reset:{reset}:top-up", now_ms(), account, difference),
            )
        )
    elif difference < 0:
        outcome_events(
            await send_as(
                resources,
                principal,
                Withdraw(f"reset:{reset}:trim", now_ms(), account, -difference),
            )
        )
    after = (await portfolio_of(resources, principal)).account
    return ResetOut(closed, cancelled, balance(after))


def _done(outcome: Outcome) -> bool:
    """Closed or cancelled now, or already gone (a trigger got there first): either is fine."""
    if isinstance(outcome, Rejection):
        if outcome.code is not RejectCode.ORDER_NOT_FOUND:
            outcome_events(outcome)  # raises the API error
        return False
    return True


ROUTES = [get_balance, reset_demo]
