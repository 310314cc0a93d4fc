"""Calling the engine on a user's behalf: outcomes turned into events or API errors, and the
demo account opened on the spot if the engine has never seen the user."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec

from cryptocfd.gateway.auth import Principal
from cryptocfd.gateway.errors import rejected
from cryptocfd.gateway.metrics import ENGINE_ROUND_TRIP
from cryptocfd.gateway.orders import keyed
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.signin import ensure_account
from cryptocfd.trading.commands import Command
from cryptocfd.trading.engine import Outcome
from cryptocfd.trading.events import Event
from cryptocfd.trading.queries import GetPortfolio
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.views import Portfolio

T = TypeVar("T")


class UnexpectedOutcomeError(RuntimeError):
    """The engine accepted a command with events no such command makes: a bug, answered 500."""

    def __init__(self, command: str, event: Event) -> None:
        super().__init__(f"the engine answered {command} with {type(event).__name__}: {event!r}")


def outcome_events(outcome: Outcome) -> tuple[Event, ...]:
    """The events of an accepted command; a rejection becomes its API error."""
    if isinstance(outcome, Rejection):
        raise rejected(outcome)
    return outcome.events


async def _timed(call: Awaitable[T]) -> T:
    started = time.perf_counter()
    result = await call
    ENGINE_ROUND_TRIP.observe(time.perf_counter() - started)
    return result


def _unknown_account(outcome: Outcome | Portfolio) -> bool:
    return isinstance(outcome, Rejection) and outcome.code is RejectCode.UNKNOWN_ACCOUNT


async def _sending(
    resources: Resources,
    principal: Principal,
    command: Command,
    send: Callable[[Command], Awaitable[T]],
    outcome_of: Callable[[T], Outcome],
) -> T:
    """``send(command)``; if the account was never opened (say, the engine's state was reset
    in development), open it and send the command again. The engine remembers the refusal
    under the first request id, so the second try gets a derived one."""
    command = keyed(command)
    result = await _timed(send(command))
    if _unknown_account(outcome_of(result)):
        await ensure_account(resources, principal.account_id)
        retry = msgspec.structs.replace(command, request_id=f"{command.request_id}/opened")
        result = await _timed(send(retry))
    return result


async def send_as(resources: Resources, principal: Principal, command: Command) -> Outcome:
    """Send ``command`` on the caller's behalf (opening their account if it must)."""
    return await _sending(resources, principal, command, resources.engine.send, _itself)


async def send_with_view_as(
    resources: Resources, principal: Principal, command: Command
) -> tuple[tuple[Event, ...], Portfolio]:
    """Send ``command`` and, in the same trip, get the portfolio narrowed to the order it
    opened or touched; a rejection becomes its API error."""
    outcome, view = await _sending(
        resources, principal, command, resources.engine.send_with_view, _first
    )
    events = outcome_events(outcome)
    if isinstance(view, Rejection):
        raise rejected(view)
    return events, view


def _itself(outcome: Outcome) -> Outcome:
    return outcome


def _first(answer: tuple[Outcome, Portfolio | Rejection]) -> Outcome:
    return answer[0]


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
    view = await _timed(resources.engine.portfolio(query))
    if _unknown_account(view):
        await ensure_account(resources, principal.account_id)
        view = await _timed(resources.engine.portfolio(query))
    if isinstance(view, Rejection):
        raise rejected(view)
    return view
