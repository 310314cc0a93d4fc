"""The operators' queues: requests oldest first, each with what deciding it takes: its
approvals so far, the applicant and documents of a KYC application, and the trader's KYC
status and previous requests. And a KYC document itself, for operators only, each view
audited.
"""

from __future__ import annotations

from cryptocfd.core.clock import now_utc
from cryptocfd.gateway.auth import Operator
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.funding_schemas import (
    ApplicantOut,
    ApprovalOut,
    DocumentOut,
    HistoryItemOut,
    QueueEntryOut,
    QueueOut,
    TraderOut,
)
from cryptocfd.gateway.present import iso
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.usecases.funding import not_found, request_fields
from cryptocfd.gateway.usecases.funding_rules import approvals_needed, money
from cryptocfd.store import kyc_applications, live_requests
from cryptocfd.store.audit import AuditEntry, append
from cryptocfd.store.kyc_applications import Document
from cryptocfd.store.kyc_files import read_document
from cryptocfd.store.live_requests import Kind, LiveRequest, Status

DOCUMENT_VIEW = "kyc.document.view"
API = "/api/v1"


def _history(request: LiveRequest) -> HistoryItemOut:
    return HistoryItemOut(
        request.id,
        request.kind.value,
        request.status.value,
        money(request.amount_cents),
        money(request.booked_cents),
        iso(request.created_at),
    )


def _document(request_id: int, doc: Document) -> DocumentOut:
    path = f"{API}/admin/requests/{request_id}/documents/{doc.position}"
    return DocumentOut(doc.position, doc.content_type.value, doc.size_bytes, doc.sha256.hex(), path)


async def entries(resources: Resources, found: list[LiveRequest]) -> list[QueueEntryOut]:
    """``found`` as queue entries, in the same order."""
    db = resources.pool
    ids = [r.id for r in found]
    users = sorted({r.user_id for r in found})
    approvals = await live_requests.approvals(db, ids)
    kyc_ids = [r.id for r in found if r.kind is Kind.KYC]
    details = await kyc_applications.kyc_details(db, kyc_ids)
    documents = await kyc_applications.documents(db, kyc_ids)
    emails = await live_requests.emails_of(db, users)
    statuses = await kyc_applications.kyc_statuses(db, users)
    histories = await live_requests.history_of(db, users)
    out = []
    for r in found:
        who = details.get(r.id)
        trader = TraderOut(
            r.user_id,
            emails[r.user_id],
            statuses[r.user_id].value,
            [_history(h) for h in histories[r.user_id] if h.id != r.id],
        )
        amount = r.booked_cents or (approvals[r.id][0].amount_cents if approvals[r.id] else None)
        out.append(
            QueueEntryOut(
                **request_fields(r),
                approvals_needed=approvals_needed(resources, r.kind, amount or r.amount_cents),
                approvals=[
                    ApprovalOut(a.operator_id, a.operator, money(a.amount_cents), iso(a.at))
                    for a in approvals[r.id]
                ],
                trader=trader,
                applicant=None
                if who is None
                else ApplicantOut(
                    who.full_name, who.date_of_birth.isoformat(), who.country, who.address
                ),
                documents=[_document(r.id, d) for d in documents.get(r.id, [])],
            )
        )
    return out


async def listing(resources: Resources, kind: str | None, status: str | None) -> QueueOut:
    """Requests of ``kind`` (all kinds by default) in ``status`` (by default those still
    waiting for an operator), oldest first."""
    kinds = tuple(Kind) if kind is None else (Kind(kind),)
    statuses = None if status is None else (Status(status),)
    found = await live_requests.queue(resources.pool, kinds, statuses)
    return QueueOut(await entries(resources, found))


async def entry(resources: Resources, request_id: int) -> QueueEntryOut:
    """One request as the queue shows it, or a 404."""
    found = await live_requests.by_id(resources.pool, request_id)
    if found is None:
        raise not_found(request_id)
    (one,) = await entries(resources, [found])
    return one


async def document(
    resources: Resources, operator: Operator, request_id: int, position: int
) -> tuple[bytes, str]:
    """A KYC document's content and type, the view audited; a 404 for no such document."""
    found = (await kyc_applications.documents(resources.pool, [request_id]))[request_id]
    doc = next((d for d in found if d.position == position), None)
    if doc is None:
        message = f"request {request_id} has no document {position}"
        raise ApiError(404, "DOCUMENT_NOT_FOUND", message)
    try:
        content = read_document(
            resources.settings.state_path, resources.secret, request_id, position, doc.stored_as
        )
    except FileNotFoundError as exc:  # a gateway whose state directory is not the shared one
        message = "this gateway cannot reach the KYC documents: its state directory is not shared"
        raise ApiError(503, "DOCUMENT_UNAVAILABLE", message) from exc
    entry = AuditEntry(
        actor_id=operator.principal.user_id,
        actor=operator.email,
        action=DOCUMENT_VIEW,
        target=f"request:{request_id}",
        after={"position": position, "sha256": doc.sha256.hex()},
        client_addr=operator.client_ip,
        at=now_utc(resources.clock),
    )
    await append(resources.pool, entry)
    return content, doc.content_type.value
