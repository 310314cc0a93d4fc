"""A trader's live deposits and withdrawals, and the list of their requests.

A deposit request only records what the trader will transfer and gives them the reference to
quote: the money is booked when an operator confirms it arrived (``usecases.review``).
"""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg

from cryptocfd.core.clock import now_utc
from cryptocfd.core.money import Cents
from cryptocfd.gateway.auth import Principal
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.funding_schemas import (
    ChangeOut,
    DepositOut,
    FundingRequest,
    LiveRequestOut,
    LiveRequestsOut,
    WithdrawalOut,
)
from cryptocfd.gateway.present import iso
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.usecases.funding_rules import (
    book,
    funding_amount,
    live_account,
    money,
    open_live_account,
    require_verified,
    tell_trader,
)
from cryptocfd.gateway.usecases.kyc import kyc_out
from cryptocfd.gateway.usecases.trading import request_id
from cryptocfd.store import kyc_applications, live_requests
from cryptocfd.store.live_requests import Change, Kind, LiveRequest
from cryptocfd.trading.commands import HoldWithdrawal

# Crockford's base32: no I, L, O or U, so a reference read aloud or typed is not misread.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_CHARS = 10  # 50 random bits: unguessable, and short enough to type on a transfer
REFERENCE_PREFIX = "CFD"
_REFERENCE_TRIES = 3


def transfer_reference() -> str:
    """A new bank-transfer reference, e.g. ``CFD7K2M9QX4TR``."""
    return REFERENCE_PREFIX + "".join(
        secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_CHARS)
    )


def _client_key(principal: Principal, key: str | None, kind: Kind) -> str | None:
    """The client's ``Idempotency-Key`` scoped to the user and the kind (a 400 for a bad one)."""
    return None if not key else request_id(principal, key, kind.value)


async def _replayed(
    resources: Resources, kind: Kind, client_key: str | None, cents: int
) -> LiveRequest | None:
    """The request an earlier call with the same key made, if any; a 409 if it was for
    another amount."""
    if client_key is None:
        return None
    found = await live_requests.by_client_key(resources.pool, kind, client_key)
    if found is not None and found.amount_cents != cents:
        message = "this Idempotency-Key was sent with another amount"
        raise ApiError(409, "IDEMPOTENCY_KEY_REUSED", message)
    return found


def _key_taken(exc: asyncpg.UniqueViolationError) -> bool:
    return exc.constraint_name == live_requests.CLIENT_KEY_INDEX


async def request_deposit(
    resources: Resources, principal: Principal, body: FundingRequest, key: str | None
) -> DepositOut:
    """Ask to deposit ``amount``: a 422 for a bad amount, a 403 ``KYC_REQUIRED`` unless
    verified; the reference to quote on the transfer. A retry with the same
    ``Idempotency-Key`` gets the same request."""
    cents = funding_amount(body.amount)
    await require_verified(resources.pool, principal.user_id)
    client_key = _client_key(principal, key, Kind.DEPOSIT)
    made = await _replayed(resources, Kind.DEPOSIT, client_key, cents)
    for _ in range(_REFERENCE_TRIES):
        if made is not None:
            break
        try:
            async with resources.pool.acquire() as conn, conn.transaction():
                made = await live_requests.create(
                    conn,
                    principal.user_id,
                    Kind.DEPOSIT,
                    now_utc(resources.clock),
                    amount_cents=cents,
                    reference=transfer_reference(),
                    client_key=client_key,
                )
                await tell_trader(resources, conn, made)
        except asyncpg.UniqueViolationError as exc:
            # The same key sent twice at once (the first made it), or a reference drawn
            # twice (draw another).
            made = await _replayed(resources, Kind.DEPOSIT, client_key, cents)
            if made is None and _key_taken(exc):
                raise
    if made is None or made.reference is None:
        raise RuntimeError("no unused transfer reference in several draws")
    return DepositOut(made.id, made.reference, "requested", money(cents) or "")


async def request_withdrawal(
    resources: Resources, principal: Principal, body: FundingRequest, key: str | None
) -> WithdrawalOut:
    """Ask to withdraw ``amount``: a 422 for a bad amount, a 403 ``KYC_REQUIRED`` unless
    verified. The engine holds the amount from the live account's free margin in the same
    transaction that records the request, so a refused hold (422 ``INSUFFICIENT_BALANCE``)
    leaves no request, and an operator's rejection releases exactly what was held. A retry
    with the same ``Idempotency-Key`` gets the same request and holds nothing more."""
    cents = funding_amount(body.amount)
    user_id = principal.user_id
    await require_verified(resources.pool, user_id)
    client_key = _client_key(principal, key, Kind.WITHDRAWAL)
    made = await _replayed(resources, Kind.WITHDRAWAL, client_key, cents)
    if made is None:
        await open_live_account(resources, user_id)
        try:
            made = await _hold(resources, user_id, cents, client_key)
        except asyncpg.UniqueViolationError:  # the same key sent twice at once: the first won
            made = await _replayed(resources, Kind.WITHDRAWAL, client_key, cents)
            if made is None:
                raise
    return WithdrawalOut(made.id, "requested", money(cents) or "")


async def _hold(
    resources: Resources, user_id: int, cents: Cents, client_key: str | None
) -> LiveRequest:
    """Record the withdrawal and hold its amount in the engine, in one transaction."""
    async with resources.pool.acquire() as conn, conn.transaction():
        made = await live_requests.create(
            conn,
            user_id,
            Kind.WITHDRAWAL,
            now_utc(resources.clock),
            amount_cents=cents,
            client_key=client_key,
        )
        # The hold's id is the request's: a sequence never hands it out again, even when
        # this transaction rolls back after the engine answered.
        ts = resources.clock.now_ms()
        hold = HoldWithdrawal(f"funding:{made.id}:hold", ts, live_account(user_id), made.id, cents)
        await book(resources, hold)
        await tell_trader(resources, conn, made)
    return made


def request_fields(request: LiveRequest) -> dict[str, Any]:
    """The fields every view of a request shows (``RequestOut``'s)."""
    return {
        "request_id": request.id,
        "kind": request.kind.value,
        "status": request.status.value,
        "amount": money(request.amount_cents),
        "booked_amount": money(request.booked_cents),
        "reference": request.reference,
        "payout_reference": request.payout_reference,
        "reason": request.reason,
        "created_at": iso(request.created_at),
        "updated_at": iso(request.updated_at),
    }


def request_out(request: LiveRequest, changes: list[Change]) -> LiveRequestOut:
    """A request as its trader sees it."""
    return LiveRequestOut(
        **request_fields(request),
        changes=[ChangeOut(iso(c.at), c.status.value, c.note) for c in changes],
    )


async def my_requests(resources: Resources, principal: Principal) -> LiveRequestsOut:
    """The caller's KYC status and every request they made, newest first, with its changes."""
    found = await live_requests.requests_of(resources.pool, principal.user_id)
    changes = await live_requests.changes(resources.pool, [r.id for r in found])
    kyc = kyc_out(await kyc_applications.kyc_of(resources.pool, principal.user_id))
    return LiveRequestsOut(kyc, [request_out(r, changes[r.id]) for r in found])


def not_found(request_id: int) -> ApiError:
    """The 404 of a request id no request has (or, for a trader, none of theirs)."""
    return ApiError(404, "REQUEST_NOT_FOUND", f"no request {request_id}")
