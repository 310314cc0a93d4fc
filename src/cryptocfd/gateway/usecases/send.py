"""Calling the engine on a user's behalf: outcomes turned into events or API errors, and the
demo account opened on the spot if the engine has never seen the user. A live account is never
opened here (it holds real money, opened with the user's KYC at balance 0): one the engine
does not know is a 409 ``LIVE_ACCOUNT_NOT_OPEN``."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import NamedTuple, TypeVar

import msgspec

from cryptocfd.core.accounts import AccountKind, kind_of
from cryptocfd.core.clock import Clock
from cryptocfd.gateway.auth import Principal
from cryptocfd.gateway.errors import ApiError, rejected
from cryptocfd.gateway.metrics import ENGINE_ROUND_TRIP
from cryptocfd.gateway.resources import Resources
from cryptocfd.trading.commands import Command, OpenAccount
from cryptocfd.trading.demo import DEMO_BALANCE_CENTS
from cryptocfd.trading.engine import Outcome
from cryptocfd.trading.events import Event
from cryptocfd.trading.fingerprint import fingerprinted
from cryptocfd.trading.queries import GetPortfolio
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.views import Portfolio

T = TypeVar("T")
C = TypeVar("C", bound=Command)

LIVE_ACCOUNT_NOT_OPEN = "LIVE_ACCOUNT_NOT_OPEN"
GENERATED = "g:"  # the prefix of a request id the gateway made up (no client key)


class UnexpectedOutcomeError(RuntimeError):
    """The engine accepted a command with events no such command makes: a bug, answered 500."""

    def __init__(self, command: str, event: Event) -> None:
        super().__init__(f"the engine answered {command} with {type(event).__name__}: {event!r}")


class Reply(NamedTuple):
    """An accepted command's one answer: its events, and the portfolio narrowed to the order
    it opened or touched, from the same engine batch."""

    events: tuple[Event, ...]
    view: Portfolio


def outcome_events(outcome: Outcome) -> tuple[Event, ...]:
    """The events of an accepted command; a rejection becomes its API error."""
    if isinstance(outcome, Rejection):
        raise rejected(outcome)
    return outcome.events


def keyed(command: C) -> C:
    """``command`` with its fingerprint if its id is a client's key, so the engine answers the
    same key sent with another request 409 ``IDEMPOTENCY_KEY_REUSED`` (``trading.fingerprint``).
    A generated id is never sent twice and needs none."""
    return command if command.request_id.startswith(GENERATED) else fingerprinted(command)


async def _timed(clock: Clock, call: Awaitable[T]) -> T:
    started = clock.monotonic_ns()
    result = await call
    ENGINE_ROUND_TRIP.observe((clock.monotonic_ns() - started) / 1e9)  # the metric's seconds
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
    result = await _timed(resources.clock, send(command))
    if _unknown_account(outcome_of(result)):
        await ensure_account(resources, principal.account_id)
        retry = msgspec.structs.replace(command, request_id=f"{command.request_id}/opened")
        result = await _timed(resources.clock, send(retry))
    return result


async def send_as(resources: Resources, principal: Principal, command: Command) -> Outcome:
    """Send ``command`` on the caller's behalf (opening their account if it must)."""
    return await _sending(resources, principal, command, resources.engine.send, _itself)


async def send_with_view_as(resources: Resources, principal: Principal, command: Command) -> Reply:
    """Send ``command`` and, in the same trip, get the portfolio narrowed to the order it
    opened or touched; a rejection becomes its API error."""
    outcome, view = await _sending(
        resources, principal, command, resources.engine.send_with_view, _first
    )
    events = outcome_events(outcome)
    if isinstance(view, Rejection):
        raise rejected(view)
    return Reply(events, view)


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
    view = await _timed(resources.clock, resources.engine.portfolio(query))
    if _unknown_account(view):
        await ensure_account(resources, principal.account_id)
        view = await _timed(resources.clock, resources.engine.portfolio(query))
    if isinstance(view, Rejection):
        raise rejected(view)
    return view


def live_account_not_open() -> ApiError:
    """The 409 of a request on a live account the engine does not hold yet."""
    return ApiError(
        409,
        LIVE_ACCOUNT_NOT_OPEN,
        "you have no live account yet: it opens when you submit your KYC (POST /live/kyc)",
    )


async def account_open(resources: Resources, account_id: int) -> bool:
    """Whether the engine holds ``account_id`` (asked of the engine: no copy is kept)."""
    query = GetPortfolio(f"q:{uuid.uuid4().hex}", account_id, orders=False)
    view = await _timed(resources.clock, resources.engine.portfolio(query))
    if isinstance(view, Rejection) and not _unknown_account(view):
        raise rejected(view)
    return not isinstance(view, Rejection)


async def ensure_account(resources: Resources, account_id: int) -> None:
    """Open the user's demo account in the engine if it is not open yet (safe to repeat); a
    live account is never opened here (409 ``LIVE_ACCOUNT_NOT_OPEN``)."""
    if kind_of(account_id) is AccountKind.LIVE:
        raise live_account_not_open()
    outcome = await resources.engine.send(
        OpenAccount(
            f"open-account:{account_id}", resources.clock.now_ms(), account_id, DEMO_BALANCE_CENTS
        )
    )
    if isinstance(outcome, Rejection) and outcome.code is not RejectCode.ACCOUNT_EXISTS:
        raise rejected(outcome)
