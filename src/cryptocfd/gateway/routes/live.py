"""``/live``: a trader's KYC, live deposits and withdrawals, and their requests."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile

from cryptocfd.gateway.body import MAX_UPLOAD_BYTES
from cryptocfd.gateway.deps import (
    FORM_BODY,
    READS,
    Caller,
    IdempotencyKey,
    Payload,
    ResourcesDep,
)
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.funding_schemas import (
    DepositOut,
    FundingRequest,
    KycOut,
    LiveRequestsOut,
    WithdrawalOut,
)
from cryptocfd.gateway.usecases import funding, kyc
from cryptocfd.identity.kyc import MAX_DOCUMENTS, MAX_FIELD_CHARS

KYC_FIELDS = ("full_name", "date_of_birth", "country", "address")
DOCUMENT_FIELDS = ("documents[]", "documents")
# A form without files may come URL-encoded (and then lacks its documents: a 422 says so).
FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


KYC_FORM = {
    "schema": {
        "type": "object",
        "required": [*KYC_FIELDS, "documents[]"],
        "properties": {
            "full_name": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_FIELD_CHARS["full_name"],
            },
            "date_of_birth": {"type": "string", "format": "date", "examples": ["1990-05-17"]},
            "country": {"type": "string", "pattern": "^[A-Za-z]{2}$", "examples": ["DE"]},
            "address": {"type": "string", "minLength": 1, "maxLength": MAX_FIELD_CHARS["address"]},
            "documents[]": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_DOCUMENTS,
                "items": {"type": "string", "format": "binary"},
                "description": "PDF, PNG or JPEG, at most 5 MB each, typed by content",
            },
        },
    },
    "encoding": {"documents[]": {"contentType": "application/pdf, image/png, image/jpeg"}},
}
"""The application form as the API document shows it (the handler reads it itself)."""


async def read_kyc_form(request: Request[Any, Any, Any]) -> kyc.KycForm:
    """The application's fields and files, as the multipart form carried them."""
    if request.content_type[0] not in FORM_TYPES:
        raise ApiError(400, "MULTIPART_REQUIRED", "send the application as multipart/form-data")
    form = await request.form()
    fields = {name: str(form.get(name) or "") for name in KYC_FIELDS}
    documents = []
    for name in DOCUMENT_FIELDS:
        for value in form.getall(name, []):
            if not isinstance(value, UploadFile):
                raise ApiError(422, "DOCUMENT_REQUIRED", f"{name}: expected a file")
            documents.append(kyc.Upload(await value.read(), value.content_type))
    return kyc.KycForm(fields, documents)


@post(
    "/live/kyc",
    status_code=201,
    request_max_body_size=MAX_UPLOAD_BYTES,
    opt={FORM_BODY: KYC_FORM},
    summary="Apply for a live account (KYC)",
)
async def submit_kyc(
    request: Request[Any, Any, Any], resources: ResourcesDep, principal: Caller
) -> KycOut:
    """A multipart form: ``full_name``, ``date_of_birth`` (YYYY-MM-DD, 18 or over),
    ``country`` (ISO 3166 alpha-2), ``address`` and one or two ``documents[]`` (PDF, PNG or
    JPEG, at most 5 MB each, checked by content; the declared type must agree). Opens the
    live account at 0.00; an operator verifies the identity. 422 ``INVALID_KYC``,
    ``DOCUMENT_REQUIRED``, ``TOO_MANY_DOCUMENTS``, ``DOCUMENT_TOO_LARGE``,
    ``DOCUMENT_TYPE_UNSUPPORTED``, ``DOCUMENT_TYPE_MISMATCH``; 409 ``KYC_UNDER_REVIEW`` or
    ``KYC_ALREADY_VERIFIED``. A rejected applicant may apply again."""
    return await kyc.submit(resources, principal, await read_kyc_form(request))


@get("/live/kyc", opt=READS, summary="The caller's KYC status")
async def kyc_status(resources: ResourcesDep, principal: Caller) -> KycOut:
    """``none``, ``submitted``, ``verified`` or ``rejected`` (with the reason)."""
    return await kyc.status(resources, principal)


@post("/live/deposits", status_code=201, summary="Ask to deposit to the live account")
async def request_deposit(
    resources: ResourcesDep,
    principal: Caller,
    payload: Payload[FundingRequest],
    key: IdempotencyKey = None,
) -> DepositOut:
    """Verified traders only (else 403 ``KYC_REQUIRED``). Transfer the amount by bank quoting
    ``reference``; an operator confirms it arrived and the live balance is credited. A bad
    amount (0 or less, more than 2 decimals) is 422 ``INVALID_AMOUNT``. A retry with the same
    ``Idempotency-Key`` gets the same request (another amount under it: 409
    ``IDEMPOTENCY_KEY_REUSED``)."""
    return await funding.request_deposit(resources, principal, payload, key)


@post("/live/withdrawals", status_code=201, summary="Ask to withdraw from the live account")
async def request_withdrawal(
    resources: ResourcesDep,
    principal: Caller,
    payload: Payload[FundingRequest],
    key: IdempotencyKey = None,
) -> WithdrawalOut:
    """Verified traders only (else 403 ``KYC_REQUIRED``). The amount is held from the free
    margin at once (above it: 422 ``INSUFFICIENT_BALANCE``, nothing held), paid once an
    operator approves, released if one rejects. 422 ``INVALID_AMOUNT`` for a bad amount. A
    retry with the same ``Idempotency-Key`` gets the same request and holds nothing more."""
    return await funding.request_withdrawal(resources, principal, payload, key)


@get("/live/requests", opt=READS, summary="The caller's KYC status and live requests")
async def my_requests(resources: ResourcesDep, principal: Caller) -> LiveRequestsOut:
    """Every KYC application, deposit and withdrawal, newest first, with each change."""
    return await funding.my_requests(resources, principal)


ROUTES = [submit_kyc, kyc_status, request_deposit, request_withdrawal, my_requests]
