"""The operators' decisions on a request: approve, reject, record a payout.

Each decision runs in one PostgreSQL transaction that holds the request's row: the status is
checked, the engine is told (a deposit booked, a withdrawal released or paid) while the row is
held, and the new status, the trader's email and the audit row are committed together. So a
request is booked exactly once: a second approval waits for the first and finds it decided
(409 ``REQUEST_ALREADY_DECIDED``, nothing sent), and an approval retried after a crash (the
engine booked, the status not yet committed) sends the same request id, which the engine
answers with the first outcome and books nothing again.

Four eyes (``funding_rules.approvals_needed``): above the threshold the first approval is
recorded and the request waits; a second by another operator of the same amount books it.
The same operator approving twice is 403 ``FOUR_EYES_SAME_OPERATOR``.
"""

from __future__ import annotations

from typing import Any

from cryptocfd.core.clock import now_utc
from cryptocfd.core.money import Cents
from cryptocfd.gateway.auth import Operator
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.funding_schemas import ApproveRequest, PaidRequest, QueueEntryOut
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.usecases.funding import not_found
from cryptocfd.gateway.usecases.funding_rules import (
    approvals_needed,
    book,
    funding_amount,
    live_account,
    money,
    open_live_account,
    tell_trader,
)
from cryptocfd.gateway.usecases.queue import entry
from cryptocfd.store import live_requests
from cryptocfd.store.audit import AuditEntry, append
from cryptocfd.store.database import Connection
from cryptocfd.store.live_requests import Kind, LiveRequest, Status
from cryptocfd.trading.commands import Deposit, PayWithdrawal, ReleaseWithdrawal
from cryptocfd.trading.events import FundsDeposited, WithdrawalPaid

FIRST = {Kind.KYC: Status.SUBMITTED, Kind.DEPOSIT: Status.REQUESTED}
FIRST[Kind.WITHDRAWAL] = Status.REQUESTED
DECIDED = {Kind.KYC: Status.VERIFIED, Kind.DEPOSIT: Status.APPROVED}
DECIDED[Kind.WITHDRAWAL] = Status.APPROVED
APPROVE_ACTION = {Kind.KYC: "kyc.verify", Kind.DEPOSIT: "deposit.approve"}
APPROVE_ACTION[Kind.WITHDRAWAL] = "withdrawal.approve"


def _state(request: LiveRequest, approvals: int) -> dict[str, Any]:
    return {
        "status": request.status.value,
        "amount": money(request.amount_cents),
        "booked_amount": money(request.booked_cents),
        "approvals": approvals,
    }


async def _audit(
    resources: Resources,
    conn: Connection,
    operator: Operator,
    action: str,
    request: LiveRequest,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    entry = AuditEntry(
        actor_id=operator.principal.user_id,
        actor=operator.email,
        action=action,
        target=f"request:{request.id}",
        before=before,
        after=after,
        client_addr=operator.client_ip,
        at=now_utc(resources.clock),
    )
    await append(conn, entry)


async def _waiting(conn: Connection, request_id: int) -> LiveRequest:
    """The request, locked, if it still waits for a first decision; else a 404 or 409."""
    request = await live_requests.lock(conn, request_id)
    if request is None:
        raise not_found(request_id)
    if request.status is not FIRST[request.kind]:
        message = f"request {request_id} is {request.status} already"
        raise ApiError(409, "REQUEST_ALREADY_DECIDED", message)
    return request


def _approved_amount(request: LiveRequest, body: ApproveRequest | None) -> int | None:
    """The amount this approval approves: a deposit's corrected amount, else the asked one."""
    given = body is not None and bytes(body.amount) not in (b"", b"null")
    corrected = funding_amount(body.amount) if body is not None and given else None
    if corrected is None or corrected == request.amount_cents:
        return request.amount_cents
    if request.kind is not Kind.DEPOSIT:
        message = "only a deposit's amount may be corrected (to what arrived)"
        raise ApiError(422, "AMOUNT_NOT_CORRECTABLE", message)
    return corrected


async def approve(
    resources: Resources, operator: Operator, request_id: int, body: ApproveRequest | None
) -> QueueEntryOut:
    """Approve: verify a KYC application, book a deposit, pay a withdrawal, once the approvals
    it needs are in."""
    at = now_utc(resources.clock)
    async with resources.pool.acquire() as conn, conn.transaction():
        request = await _waiting(conn, request_id)
        amount = _approved_amount(request, body)
        operator_id = operator.principal.user_id
        if not await live_requests.add_approval(conn, request.id, operator_id, amount, at):
            message = "four eyes: another operator must give the second approval"
            raise ApiError(403, "FOUR_EYES_SAME_OPERATOR", message)
        given = (await live_requests.approvals(conn, [request.id]))[request.id]
        if any(a.amount_cents != amount for a in given):
            message = "another operator approved a different amount: approve that, or reject"
            raise ApiError(409, "APPROVAL_AMOUNT_DIFFERS", message)
        before = _state(request, len(given) - 1)
        if len(given) >= approvals_needed(resources, request.kind, amount):
            request = await _decide(resources, conn, request, amount)
            await tell_trader(resources, conn, request)
        after = _state(request, len(given))
        await _audit(
            resources, conn, operator, APPROVE_ACTION[request.kind], request, before, after
        )
    return await entry(resources, request_id)


async def _decide(
    resources: Resources, conn: Connection, request: LiveRequest, amount: int | None
) -> LiveRequest:
    """Carry out an approved request in the engine and move it on."""
    at = now_utc(resources.clock)
    if request.kind is Kind.KYC:
        return await live_requests.move(conn, request, Status.VERIFIED, at)
    assert amount is not None  # funding requests always have one
    if request.kind is Kind.DEPOSIT:
        await open_live_account(resources, request.user_id)
        command = Deposit(
            f"funding:{request.id}:deposit",
            resources.clock.now_ms(),
            live_account(request.user_id),
            Cents(amount),
        )
        events = await book(resources, command)
        booked = sum(int(e.amount) for e in events if isinstance(e, FundsDeposited))
        return await live_requests.move(conn, request, Status.APPROVED, at, booked_cents=booked)
    pay = PayWithdrawal(
        f"funding:{request.id}:pay",
        resources.clock.now_ms(),
        live_account(request.user_id),
        request.id,
    )
    events = await book(resources, pay)
    paid_out = sum(int(e.amount) for e in events if isinstance(e, WithdrawalPaid))
    return await live_requests.move(conn, request, Status.APPROVED, at, booked_cents=paid_out)


async def reject(
    resources: Resources, operator: Operator, request_id: int, reason: str
) -> QueueEntryOut:
    """Reject a request still waiting for its first decision, saying why (400 for a blank
    reason)."""
    reason = reason.strip()
    if not reason:
        raise ApiError(400, "INVALID_REQUEST", "reason: say why")
    at = now_utc(resources.clock)
    async with resources.pool.acquire() as conn, conn.transaction():
        request = await _waiting(conn, request_id)
        given = (await live_requests.approvals(conn, [request.id]))[request.id]
        before = _state(request, len(given))
        if request.kind is Kind.WITHDRAWAL:
            release = ReleaseWithdrawal(
                f"funding:{request.id}:release",
                resources.clock.now_ms(),
                live_account(request.user_id),
                request.id,
            )
            await book(resources, release)
        request = await live_requests.move(conn, request, Status.REJECTED, at, reason=reason)
        await tell_trader(resources, conn, request)
        after = {**_state(request, len(given)), "reason": request.reason}
        await _audit(resources, conn, operator, f"{request.kind}.reject", request, before, after)
    return await entry(resources, request_id)


async def paid(
    resources: Resources, operator: Operator, request_id: int, body: PaidRequest
) -> QueueEntryOut:
    """Record the bank's reference of an approved withdrawal's payout (400 for a blank one)."""
    reference = body.reference.strip()
    if not reference:
        raise ApiError(400, "INVALID_REQUEST", "reference: the bank's reference of the payout")
    at = now_utc(resources.clock)
    async with resources.pool.acquire() as conn, conn.transaction():
        request = await live_requests.lock(conn, request_id)
        if request is None:
            raise not_found(request_id)
        if request.kind is not Kind.WITHDRAWAL:
            raise ApiError(422, "NOT_A_WITHDRAWAL", "only a withdrawal is paid out")
        if request.status is not Status.APPROVED:
            message = f"withdrawal {request_id} is {request.status}, not approved"
            raise ApiError(409, "WITHDRAWAL_NOT_APPROVED", message)
        given = (await live_requests.approvals(conn, [request.id]))[request.id]
        before = _state(request, len(given))
        request = await live_requests.move(
            conn, request, Status.PAID, at, payout_reference=reference
        )
        await tell_trader(resources, conn, request)
        after = {**_state(request, len(given)), "payout_reference": request.payout_reference}
        await _audit(resources, conn, operator, "withdrawal.paid", request, before, after)
    return await entry(resources, request_id)
