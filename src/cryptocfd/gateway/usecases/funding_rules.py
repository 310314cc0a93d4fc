"""What every live-funding use case shares: the live account, the KYC gate, amounts, the
four-eyes rule and telling the trader.

Live money goes only to the user's live engine account (``core.accounts``), opened with a
balance of 0 and a request id of its own, so a retry opens nothing twice; never through
``usecases.send.ensure_account``, which opens demo accounts with the demo balance.
"""

from __future__ import annotations

from msgspec import Raw

from cryptocfd.core.accounts import AccountKind, account_id_of
from cryptocfd.core.money import CENTS_DECIMALS, Cents, format_scaled
from cryptocfd.gateway.errors import ApiError, rejected
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.usecases.trading import amount
from cryptocfd.identity.kyc import KycStatus
from cryptocfd.store import kyc_applications
from cryptocfd.store.database import Connection, Db
from cryptocfd.store.live_requests import Kind, LiveRequest, Status
from cryptocfd.store.outbox import enqueue_email
from cryptocfd.store.users import user_by_id
from cryptocfd.trading.commands import Command, OpenAccount
from cryptocfd.trading.events import Event
from cryptocfd.trading.fingerprint import fingerprinted
from cryptocfd.trading.rejections import RejectCode, Rejection


def live_account(user_id: int) -> int:
    """The user's live engine account."""
    return account_id_of(user_id, AccountKind.LIVE)


async def open_live_account(resources: Resources, user_id: int) -> None:
    """Open the user's live account in the engine with 0.00, if it is not open (the same
    request id every time: the engine opens it once)."""
    command = OpenAccount(
        f"open-live:{user_id}", resources.clock.now_ms(), live_account(user_id), Cents(0)
    )
    outcome = await resources.engine.send(command)
    if isinstance(outcome, Rejection) and outcome.code is not RejectCode.ACCOUNT_EXISTS:
        raise rejected(outcome)


async def book(resources: Resources, command: Command) -> tuple[Event, ...]:
    """Send a funding command, fingerprinted (its request id derives from the request's, so a
    retry is answered with the first outcome; the same id for another amount is refused); its
    events, or the rejection as an API error."""
    outcome = await resources.engine.send(fingerprinted(command))
    if isinstance(outcome, Rejection):
        raise rejected(outcome)
    return outcome.events


async def require_verified(db: Db, user_id: int) -> None:
    """A 403 ``KYC_REQUIRED`` unless the user's KYC is verified."""
    if (
        kyc_applications.kyc_status(await kyc_applications.kyc_of(db, user_id))
        is not KycStatus.VERIFIED
    ):
        message = "live deposits and withdrawals need a verified identity: POST /api/v1/live/kyc"
        raise ApiError(403, "KYC_REQUIRED", message)


def funding_amount(raw: Raw, field: str = "amount") -> Cents:
    """A funding amount in cents, or a 422 ``INVALID_AMOUNT``: a decimal string (or number)
    of dollars, more than 0, at most 2 decimals."""
    try:
        value = amount(raw, CENTS_DECIMALS, field)
    except ApiError as exc:
        raise ApiError(422, "INVALID_AMOUNT", exc.message) from exc
    if value <= 0:
        raise ApiError(422, "INVALID_AMOUNT", f"{field}: must be more than 0")
    return Cents(value)


def money(value: int | None) -> str | None:
    """Cents as the API prints dollars."""
    return None if value is None else format_scaled(value, CENTS_DECIMALS)


def approvals_needed(resources: Resources, kind: Kind, amount_cents: int | None) -> int:
    """Four eyes: a deposit or withdrawal above the threshold needs two operators."""
    above = resources.settings.four_eyes_above_cents
    if kind is not Kind.KYC and amount_cents is not None and amount_cents > above:
        return 2
    return 1


_SUBJECTS = {
    (Kind.KYC, Status.SUBMITTED): "We received your identity documents",
    (Kind.KYC, Status.VERIFIED): "Your identity is verified: you can fund your live account",
    (Kind.KYC, Status.REJECTED): "We could not verify your identity",
    (Kind.DEPOSIT, Status.REQUESTED): "Your deposit request: how to transfer the money",
    (Kind.DEPOSIT, Status.APPROVED): "Your deposit is credited",
    (Kind.DEPOSIT, Status.REJECTED): "Your deposit request was rejected",
    (Kind.WITHDRAWAL, Status.REQUESTED): "Your withdrawal request is received",
    (Kind.WITHDRAWAL, Status.APPROVED): "Your withdrawal is approved",
    (Kind.WITHDRAWAL, Status.PAID): "Your withdrawal is paid out",
    (Kind.WITHDRAWAL, Status.REJECTED): "Your withdrawal request was rejected",
}


def _body(resources: Resources, request: LiveRequest) -> str:
    lines = [f"{_SUBJECTS[(request.kind, request.status)]}.", ""]
    lines.append(f"Request {request.id} ({request.kind}) is now {request.status}.")
    shown = request.booked_cents or request.amount_cents
    if shown is not None:
        lines.append(f"Amount: {money(shown)} USD")
    if request.reference is not None and request.status is Status.REQUESTED:
        lines.append(f"Transfer it by bank quoting this reference: {request.reference}")
    if request.reason:
        lines.append(f"Reason: {request.reason}")
    if request.payout_reference:
        lines.append(f"Payout reference: {request.payout_reference}")
    lines += ["", f"See every request in your dashboard: {resources.settings.public_url}/"]
    return "\n".join(lines) + "\n"


async def tell_trader(resources: Resources, conn: Connection, request: LiveRequest) -> None:
    """Email the trader the request's new status, in ``conn``'s transaction (the outbox)."""
    user = await user_by_id(conn, request.user_id)
    assert user is not None  # a request's user exists: users are never deleted
    subject = f"{_SUBJECTS[(request.kind, request.status)]} (request {request.id})"
    await enqueue_email(conn, resources.secret, user.email, subject, _body(resources, request))
