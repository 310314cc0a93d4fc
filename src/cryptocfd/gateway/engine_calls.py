"""Calling the engine on a user's behalf: outcomes turned into events or API errors, and the
demo account opened on the spot if the engine has never seen the user."""

from __future__ import annotations

import time
import uuid

import msgspec

from cryptocfd.bus.messages import GetPortfolio
from cryptocfd.gateway.auth import Principal
from cryptocfd.gateway.errors import rejected
from cryptocfd.gateway.metrics import ENGINE_ROUND_TRIP
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.signin import ensure_account
from cryptocfd.trading.commands import Command
from cryptocfd.trading.engine import Outcome
from cryptocfd.trading.events import Event
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.views import Portfolio


def outcome_events(outcome: Outcome) -> tuple[Event, ...]:
    """The events of an accepted command; a rejection becomes its API error."""
    if isinstance(outcome, Rejection):
        raise rejected(outcome)
    return outcome.events


async def send_as(resources: Resources, principal: Principal, command: Command) -> Outcome:
    """Send ``command``; if the account was never opened (say, the engine's state was reset
    in development), open it and send the command again. The engine remembers the refusal
    under the first request id, so the second try gets a derived one."""
    started = time.perf_counter()
    outcome = await resources.engine.send(command)
    ENGINE_ROUND_TRIP.observe(time.perf_counter() - started)
    if isinstance(outcome, Rejection) and outcome.code is RejectCode.UNKNOWN_ACCOUNT:
        await ensure_account(resources, principal.account_id)
        retry = msgspec.structs.replace(command, request_id=f"{command.request_id}/opened")
        outcome = await resources.engine.send(retry)
    return outcome


async def send_with_view_as(
    resources: Resources, principal: Principal, command: Command
) -> tuple[tuple[Event, ...], Portfolio]:
    """Send ``command`` and, in the same trip, get the portfolio narrowed to the order it
    opened or touched; a rejection becomes its API error."""
    started = time.perf_counter()
    outcome, view = await resources.engine.send_with_view(command)
    ENGINE_ROUND_TRIP.observe(time.perf_counter() - started)
    if isinstance(outcome, Rejection) and outcome.code is RejectCode.UNKNOWN_ACCOUNT:
        await ensure_account(resources, principal.account_id)
        retry = msgspec.structs.replace(command, request_id=f"{command.request_id}/opened")
        outcome, view = await resources.engine.send_with_view(retry)
    events = outcome_events(outcome)
    if isinstance(view, Rejection):
        raise rejected(view)
    return events, view


async def portfolio_of(
    resources: Resources,
    principal: Principal,
    order_id: int | None = None,
    *,
    orders: bool = True,
) -> Portfolio:
    """The caller's portfolio as of every command they sent before (``order_id``: only that
    order; ``orders`` false: the figures only)."""
    query = GetPortfolio(f"q:{uuid.uuid4().hex}", principal.account_id, order_id, orders)
    started = time.perf_counter()
    view = await resources.engine.portfolio(query)
    ENGINE_ROUND_TRIP.observe(time.perf_counter() - started)
    if isinstance(view, Rejection) and view.code is RejectCode.UNKNOWN_ACCOUNT:
        await ensure_account(resources, principal.account_id)
        view = await resources.engine.portfolio(query)
    if isinstance(view, Rejection):
        raise rejected(view)
    return view
