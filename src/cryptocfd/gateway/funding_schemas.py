"""The API's shapes for live funding: a trader's KYC and requests, and the operators' queues."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from cryptocfd.gateway.body import NO_AMOUNT, Amount, OptionalAmount
from cryptocfd.gateway.schemas import Timestamp

RequestKind = Literal["kyc", "deposit", "withdrawal"]
Money = Annotated[str, Meta(description="USD as a decimal string", examples=["500.00"])]

# -- the trader -----------------------------------------------------------------------------


class KycOut(msgspec.Struct, frozen=True):
    """The caller's verification: ``none`` until they apply, then ``submitted`` until an
    operator decides, ``verified`` or ``rejected`` (with the ``reason``; apply again)."""

    status: Literal["none", "submitted", "verified", "rejected"]
    request_id: int | None = None
    reason: str | None = None
    submitted_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class FundingRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An amount of USD to deposit or withdraw: more than 0, at most 2 decimals."""

    amount: Amount


class DepositOut(msgspec.Struct, frozen=True):
    """A deposit request: transfer ``amount`` by bank quoting ``reference``; an operator
    confirms it arrived and the live balance is credited."""

    request_id: int
    reference: str
    status: Literal["requested"]
    amount: Money


class WithdrawalOut(msgspec.Struct, frozen=True):
    """A withdrawal request: ``amount`` is held from the live account's free margin at once,
    and paid out once an operator approves it (released if one rejects it)."""

    request_id: int
    status: Literal["requested"]
    amount: Money


class ChangeOut(msgspec.Struct, frozen=True):
    """One change of a request; ``note`` is a rejection's reason or a payout's reference."""

    at: Timestamp
    status: str
    note: str | None


class RequestOut(msgspec.Struct, frozen=True, kw_only=True):
    """What every view of a request shows: its kind and status, the amount asked for and
    the amount booked, a deposit's transfer reference, a payout's, a rejection's reason."""

    request_id: int
    kind: RequestKind
    status: str
    amount: Money | None
    booked_amount: Money | None
    reference: str | None
    payout_reference: str | None
    reason: str | None
    created_at: Timestamp
    updated_at: Timestamp


class LiveRequestOut(RequestOut, frozen=True, kw_only=True):
    """A request as its trader sees it, with every change it went through."""

    changes: list[ChangeOut]


class LiveRequestsOut(msgspec.Struct, frozen=True):
    """The caller's KYC status and requests, newest first."""

    kyc: KycOut
    requests: list[LiveRequestOut]


# -- the operators --------------------------------------------------------------------------


class ApproveRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Approve a request; for a deposit, ``amount`` corrects it to what arrived."""

    amount: OptionalAmount = NO_AMOUNT


class RejectRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Reject a request, saying why (the trader is told)."""

    reason: Annotated[str, Meta(min_length=1, max_length=500, examples=["document unreadable"])]


class PaidRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Record the bank's reference of an approved withdrawal's payout."""

    reference: Annotated[str, Meta(min_length=1, max_length=100, examples=["SEPA-2026-0042"])]


class ApprovalOut(msgspec.Struct, frozen=True):
    """One operator's approval."""

    operator_id: int
    operator: str
    amount: Money | None
    at: Timestamp


class ApplicantOut(msgspec.Struct, frozen=True):
    """What a KYC application says of its applicant."""

    full_name: str
    date_of_birth: str
    country: str
    address: str


class DocumentOut(msgspec.Struct, frozen=True):
    """A KYC document: fetch it at ``path`` (operators only; each view is audited)."""

    position: int
    content_type: str
    size_bytes: int
    sha256: str
    path: str


class HistoryItemOut(msgspec.Struct, frozen=True):
    """One of the trader's requests, in brief."""

    request_id: int
    kind: RequestKind
    status: str
    amount: Money | None
    booked_amount: Money | None
    created_at: Timestamp


class TraderOut(msgspec.Struct, frozen=True):
    """The trader behind a request: their KYC status and their other requests, newest first."""

    user_id: int
    email: str
    kyc_status: str
    history: list[HistoryItemOut]


class QueueEntryOut(RequestOut, frozen=True, kw_only=True):
    """A request in an operator's queue. ``approvals_needed`` is 2 above the four-eyes
    threshold (two different operators), else 1."""

    approvals_needed: int
    approvals: list[ApprovalOut]
    trader: TraderOut
    applicant: ApplicantOut | None = None
    documents: list[DocumentOut] = msgspec.field(default_factory=list)


class QueueOut(msgspec.Struct, frozen=True):
    """Requests, oldest first."""

    requests: list[QueueEntryOut]
