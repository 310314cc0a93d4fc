"""The caller's accounts: which one is active, switching it, an account's figures now, and
starting the demo account afresh."""

from __future__ import annotations

from cryptocfd.core.accounts import AccountKind, account_id_of, kind_of
from cryptocfd.gateway import present
from cryptocfd.gateway.acting import kind_named
from cryptocfd.gateway.auth import Principal
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.schemas import (
    AccountOut,
    AccountsOut,
    ActiveAccountRequest,
    BalanceOut,
    ResetOut,
)
from cryptocfd.gateway.usecases.send import (
    account_open,
    live_account_not_open,
    portfolio_of,
    send_with_view_as,
)
from cryptocfd.gateway.usecases.trading import request_id
from cryptocfd.store.active_accounts import active_kind, set_active_kind
from cryptocfd.trading.commands import ResetDemoAccount
from cryptocfd.trading.events import OrderCancelled, PositionClosed


async def balance(resources: Resources, principal: Principal) -> BalanceOut:
    """Balance, equity, margin and unrealized PnL, as of every command the caller sent."""
    return present.balance((await portfolio_of(resources, principal, orders=False)).account)


async def reset_demo(resources: Resources, principal: Principal) -> ResetOut:
    """Close every position, cancel every entry and bring the balance back to the demo
    balance: one engine command, so it is done whole or not at all (``trading.demo``). A
    live account holds real money and is never reset: 409 ``NOT_A_DEMO_ACCOUNT``."""
    if kind_of(principal.account_id) is not AccountKind.DEMO:
        raise ApiError(409, "NOT_A_DEMO_ACCOUNT", "only the demo account can be reset")
    rid = request_id(principal, None, "reset")
    command = ResetDemoAccount(rid, resources.clock.now_ms(), principal.account_id)
    reply = await send_with_view_as(resources, principal, command)
    closed = sum(isinstance(event, PositionClosed) for event in reply.events)
    cancelled = sum(isinstance(event, OrderCancelled) for event in reply.events)
    return ResetOut(closed, cancelled, present.balance(reply.view.account))


async def accounts(resources: Resources, principal: Principal) -> AccountsOut:
    """The active account and whether each account is open (the live one: as the engine
    says)."""
    user_id = principal.user_id
    live_open = await account_open(resources, account_id_of(user_id, AccountKind.LIVE))
    return _accounts(await active_kind(resources.pool, user_id), live_open=live_open)


async def switch_active(
    resources: Resources, principal: Principal, body: ActiveAccountRequest
) -> AccountsOut:
    """Make the named account the active one: the live one only once the engine holds it
    (409 ``LIVE_ACCOUNT_NOT_OPEN`` before); a 422 ``INVALID_ACCOUNT`` for another name."""
    kind = kind_named(body.account)
    user_id = principal.user_id
    live_open = await account_open(resources, account_id_of(user_id, AccountKind.LIVE))
    if kind is AccountKind.LIVE and not live_open:
        raise live_account_not_open()
    await set_active_kind(resources.pool, user_id, kind)
    return _accounts(kind, live_open=live_open)


def _accounts(active: AccountKind, *, live_open: bool) -> AccountsOut:
    # The demo account is opened on first use (``send.ensure_account``): it is always there.
    listed = [AccountOut("demo", open=True), AccountOut("live", open=live_open)]
    return AccountsOut(active.value, listed)
