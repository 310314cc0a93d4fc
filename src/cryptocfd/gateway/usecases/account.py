"""The caller's account: its figures now."""

from __future__ import annotations

from cryptocfd.gateway import present
from cryptocfd.gateway.auth import Principal
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.schemas import BalanceOut
from cryptocfd.gateway.usecases.send import portfolio_of


async def balance(resources: Resources, principal: Principal) -> BalanceOut:
    """Balance, equity, margin and unrealized PnL, as of every command the caller sent."""
    return present.balance((await portfolio_of(resources, principal, orders=False)).account)
