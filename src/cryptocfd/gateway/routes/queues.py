"""``/admin/requests``: the operators' queues of KYC applications, deposits and withdrawals.

Behind the back office's guard (``deps.back_office``), for the ``operator`` and ``admin``
roles (``risk`` watches exposure, it does not move money). Every decision is audited.
"""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Response, get, post
from litestar.params import PathParameter, QueryParameter

from cryptocfd.gateway.deps import ROLES, OperatorCaller, Payload, ResourcesDep
from cryptocfd.gateway.funding_schemas import (
    ApproveRequest,
    PaidRequest,
    QueueEntryOut,
    QueueOut,
    RejectRequest,
)
from cryptocfd.gateway.usecases import queue, review
from cryptocfd.identity.roles import Role

WORKS_QUEUES = {ROLES: frozenset({Role.OPERATOR, Role.ADMIN})}
RequestId = Annotated[int, PathParameter(ge=1, le=2**53)]
KindFilter = Annotated[Literal["kyc", "deposit", "withdrawal"] | None, QueryParameter()]
StatusFilter = Annotated[
    Literal["submitted", "verified", "requested", "approved", "paid", "rejected"] | None,
    QueryParameter(),
]


@get("/requests", opt=WORKS_QUEUES, summary="The queues: requests oldest first")
async def requests_queue(
    resources: ResourcesDep,
    operator: OperatorCaller,
    kind: KindFilter = None,
    status: StatusFilter = None,
) -> QueueOut:
    """Requests of ``kind`` (all kinds by default) in ``status`` (by default those waiting
    for an operator: KYC ``submitted``, deposits ``requested``, withdrawals ``requested`` or
    ``approved`` and not yet paid), oldest first, each with its approvals, the trader's KYC
    status and previous requests, and a KYC application's applicant and documents."""
    del operator  # the guard let them in with a role that works the queues
    return await queue.listing(resources, kind, status)


@post(
    "/requests/{request_id:int}/approve",
    status_code=200,
    opt=WORKS_QUEUES,
    summary="Approve a request",
)
async def approve(
    resources: ResourcesDep,
    operator: OperatorCaller,
    request_id: RequestId,
    payload: Payload[ApproveRequest | None],
) -> QueueEntryOut:
    """Verify a KYC application, confirm a deposit arrived (``amount`` corrects it) and book
    it, or approve a withdrawal and pay it from its hold. Above the four-eyes threshold a
    deposit or withdrawal needs two operators: the first approval is recorded, the second
    books it; the same operator twice is 403 ``FOUR_EYES_SAME_OPERATOR``. A decided request
    is 409 ``REQUEST_ALREADY_DECIDED`` (nothing booked again); 404 ``REQUEST_NOT_FOUND``."""
    return await review.approve(resources, operator, request_id, payload)


@post(
    "/requests/{request_id:int}/reject",
    status_code=200,
    opt=WORKS_QUEUES,
    summary="Reject a request",
)
async def reject(
    resources: ResourcesDep,
    operator: OperatorCaller,
    request_id: RequestId,
    payload: Payload[RejectRequest],
) -> QueueEntryOut:
    """Reject a request still waiting for its decision (a withdrawal's hold is released
    exactly); the trader is told the reason."""
    return await review.reject(resources, operator, request_id, payload.reason)


@post(
    "/requests/{request_id:int}/paid",
    status_code=200,
    opt=WORKS_QUEUES,
    summary="Record an approved withdrawal's payout",
)
async def paid(
    resources: ResourcesDep,
    operator: OperatorCaller,
    request_id: RequestId,
    payload: Payload[PaidRequest],
) -> QueueEntryOut:
    """The bank's reference of the payout; the withdrawal is then ``paid``. 409
    ``WITHDRAWAL_NOT_APPROVED`` before it is approved (or once paid), 422
    ``NOT_A_WITHDRAWAL`` for another kind."""
    return await review.paid(resources, operator, request_id, payload)


@get(
    "/requests/{request_id:int}/documents/{position:int}",
    opt=WORKS_QUEUES,
    summary="A KYC document",
    media_type="application/octet-stream",
)
async def kyc_document(
    resources: ResourcesDep,
    operator: OperatorCaller,
    request_id: RequestId,
    position: Annotated[int, PathParameter(ge=1, le=2)],
) -> Response[bytes]:
    """The document as the trader sent it, for operators only; each view is audited."""
    content, media_type = await queue.document(resources, operator, request_id, position)
    name = f"kyc-{request_id}-{position}.{media_type.rsplit('/', 1)[1]}"
    return Response(
        content,
        media_type=media_type,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


ROUTES = [requests_queue, approve, reject, paid, kyc_document]
