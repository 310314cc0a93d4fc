"""``/balance`` and the demo reset."""

from __future__ import annotations

from litestar import get, post

from cryptocfd.gateway.deps import READS, TRADES, Caller, ResourcesDep
from cryptocfd.gateway.schemas import BalanceOut, ResetOut
from cryptocfd.gateway.usecases import account


@get("/balance", opt=READS, summary="Balance, equity, margin and unrealized PnL")
async def get_balance(resources: ResourcesDep, principal: Caller) -> BalanceOut:
    """The account now: equity moves with every tick of an open position's asset."""
    return await account.balance(resources, principal)


@post(
    "/account/demo/reset",
    status_code=200,
    opt=TRADES,
    summary="Reset the demo account",
)
async def reset_demo(resources: ResourcesDep, principal: Caller) -> ResetOut:
    """Close every position, cancel every entry, and bring the balance back to 10,000.00."""
    return await account.reset_demo(resources, principal)


ROUTES = [get_balance, reset_demo]
