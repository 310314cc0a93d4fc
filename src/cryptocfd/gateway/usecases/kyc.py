"""A trader's KYC application: checked, their live account opened, stored for review.

Submitting opens the user's live engine account at 0.00 (``funding_rules.open_live_account``),
so an operator's verification is all that stands between the trader and a deposit. The
documents are checked by content before anything is stored (``identity.kyc``), sealed into
the state directory (``store.kyc_files``) and recorded with the application in one
transaction; a file written for a transaction that then fails is left unreferenced (its name
is random, its content sealed), never half-recorded.
"""

from __future__ import annotations

import hashlib

import asyncpg
import msgspec

from cryptocfd.core.clock import now_utc
from cryptocfd.gateway.auth import Principal
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.funding_schemas import KycOut
from cryptocfd.gateway.present import iso
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.usecases.funding_rules import open_live_account, tell_trader
from cryptocfd.identity.kyc import (
    Applicant,
    DocumentProblem,
    DocumentType,
    KycStatus,
    applicant,
    checked_documents,
)
from cryptocfd.store import kyc_applications, live_requests
from cryptocfd.store.kyc_applications import Document
from cryptocfd.store.kyc_files import write_document
from cryptocfd.store.live_requests import Kind, LiveRequest


class Upload(msgspec.Struct, frozen=True):
    """A file as the form carried it, and the type the client declared for it."""

    content: bytes
    declared: str | None


class KycForm(msgspec.Struct, frozen=True):
    """The application's text fields and its files."""

    fields: dict[str, str]
    documents: list[Upload]


def kyc_out(application: LiveRequest | None) -> KycOut:
    """The API's view of a user's newest application."""
    if application is None:
        return KycOut("none")
    return KycOut(
        kyc_applications.kyc_status(application).value,
        application.id,
        application.reason,
        iso(application.created_at),
        iso(application.updated_at),
    )


async def status(resources: Resources, principal: Principal) -> KycOut:
    """The caller's verification status."""
    return kyc_out(await kyc_applications.kyc_of(resources.pool, principal.user_id))


def _checked(form: KycForm, resources: Resources) -> tuple[Applicant, list[DocumentType]]:
    """The applicant and each document's type, or a 422 saying what is wrong."""
    try:
        who = applicant(form.fields, now_utc(resources.clock).date())
        kinds = checked_documents([(doc.content, doc.declared) for doc in form.documents])
    except DocumentProblem as exc:
        raise ApiError(422, exc.code, str(exc)) from exc
    return who, kinds


def _conflict(application: LiveRequest | None) -> ApiError | None:
    state = kyc_applications.kyc_status(application)
    if state is KycStatus.VERIFIED:
        return ApiError(409, "KYC_ALREADY_VERIFIED", "your identity is verified already")
    if state is KycStatus.SUBMITTED:
        return ApiError(409, "KYC_UNDER_REVIEW", "your application is being reviewed")
    return None


async def submit(resources: Resources, principal: Principal, form: KycForm) -> KycOut:
    """Apply (or, after a rejection, apply again): a 422 for a bad field or document, a 409
    while an application is under review or once verified."""
    who, kinds = _checked(form, resources)
    user_id = principal.user_id
    conflict = _conflict(await kyc_applications.kyc_of(resources.pool, user_id))
    if conflict is not None:
        raise conflict
    await open_live_account(resources, user_id)
    at = now_utc(resources.clock)
    try:
        async with resources.pool.acquire() as conn, conn.transaction():
            application = await live_requests.create(conn, user_id, Kind.KYC, at)
            await kyc_applications.add_kyc_details(conn, application.id, who)
            for position, (upload, kind) in enumerate(zip(form.documents, kinds, strict=True), 1):
                stored_as = write_document(
                    resources.settings.state_path,
                    resources.secret,
                    application.id,
                    position,
                    upload.content,
                )
                digest = hashlib.sha256(upload.content).digest()
                document = Document(position, kind, len(upload.content), digest, stored_as)
                await kyc_applications.add_document(conn, application.id, document)
            await tell_trader(resources, conn, application)
    except asyncpg.UniqueViolationError as exc:  # another submission got in first
        raise ApiError(409, "KYC_UNDER_REVIEW", "your application is being reviewed") from exc
    return kyc_out(application)
