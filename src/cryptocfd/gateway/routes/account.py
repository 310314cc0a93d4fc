"""``/account`` (the active account, and switching it), ``/balance`` and the demo reset."""

from __future__ import annotations

from litestar import get, post

from cryptocfd.gateway.deps import (
    ACCOUNT_READS,
    ACCOUNT_TRADES,
    READS,
    Caller,
    Payload,
    ResourcesDep,
)
from cryptocfd.gateway.schemas import AccountsOut, ActiveAccountRequest, BalanceOut, ResetOut
from cryptocfd.gateway.usecases import account


@get("/balance", opt=ACCOUNT_READS, summary="Balance, equity, margin and unrealized PnL")
async def get_balance(resources: ResourcesDep, principal: Caller) -> BalanceOut:
    """The account now: equity moves with every tick of an open position's asset."""
    return await account.balance(resources, principal)


@post(
    "/account/demo/reset",
    status_code=200,
    opt=ACCOUNT_TRADES,
    summary="Reset the demo account",
)
async def reset_demo(resources: ResourcesDep, principal: Caller) -> ResetOut:
    """Close every position, cancel every entry, and bring the balance back to 10,000.00."""
    return await account.reset_demo(resources, principal)


@get("/account", opt=READS, summary="Your accounts, and which one is active")
async def get_accounts(resources: ResourcesDep, principal: Caller) -> AccountsOut:
    """``active`` is the account a trade, balance or history request acts on when it names
    none (``account=demo|live``); ``accounts`` says whether each is open."""
    return await account.accounts(resources, principal)


@post("/account/active", status_code=200, summary="Switch the active account")
async def switch_active(
    resources: ResourcesDep, principal: Caller, payload: Payload[ActiveAccountRequest]
) -> AccountsOut:
    """Make ``demo`` or ``live`` the active account; ``live`` only once it is open (409
    ``LIVE_ACCOUNT_NOT_OPEN`` before)."""
    return await account.switch_active(resources, principal, payload)


ROUTES = [get_accounts, switch_active, get_balance, reset_demo]
