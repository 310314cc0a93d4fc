"""KYC applications in the store: what an application says of its applicant, its documents'
records (their content is in sealed files, ``store.kyc_files``), and the status a user's
newest application gives them. An application itself is a request (``store.live_requests``).
"""

from __future__ import annotations

import msgspec

from cryptocfd.identity.kyc import Applicant, DocumentType, KycStatus
from cryptocfd.store.database import Connection, Db
from cryptocfd.store.live_requests import SELECT, LiveRequest, request_of, sql


class Document(msgspec.Struct, frozen=True):
    """A KYC document's record; its content is a sealed file (``store.kyc_files``)."""

    position: int
    content_type: DocumentType
    size_bytes: int
    sha256: bytes
    stored_as: str


async def kyc_of(db: Db, user_id: int) -> LiveRequest | None:
    """The user's newest KYC application, if they ever applied."""
    row = await db.fetchrow(
        sql(SELECT, "WHERE user_id = $1 AND kind = 'kyc' ORDER BY id DESC LIMIT 1"),
        user_id,
    )
    return None if row is None else request_of(row)


def kyc_status(application: LiveRequest | None) -> KycStatus:
    """The KYC status a user's newest application gives them."""
    return KycStatus.NONE if application is None else KycStatus(application.status.value)


async def add_kyc_details(conn: Connection, request_id: int, who: Applicant) -> None:
    """Store what the application says of the applicant."""
    await conn.execute(
        "INSERT INTO kyc_details (request_id, full_name, date_of_birth, country, address)"
        " VALUES ($1, $2, $3, $4, $5)",
        request_id,
        who.full_name,
        who.date_of_birth,
        who.country,
        who.address,
    )


async def kyc_details(db: Db, request_ids: list[int]) -> dict[int, Applicant]:
    """What each application says of its applicant."""
    rows = await db.fetch(
        "SELECT request_id, full_name, date_of_birth, country, address FROM kyc_details"
        " WHERE request_id = ANY($1::bigint[])",
        request_ids,
    )
    return {
        r["request_id"]: Applicant(
            full_name=r["full_name"],
            date_of_birth=r["date_of_birth"],
            country=r["country"],
            address=r["address"],
        )
        for r in rows
    }


async def add_document(conn: Connection, request_id: int, document: Document) -> None:
    """Record one of the application's documents (its file is written already)."""
    await conn.execute(
        "INSERT INTO kyc_documents (request_id, position, content_type, size_bytes, sha256,"
        " stored_as) VALUES ($1, $2, $3, $4, $5, $6)",
        request_id,
        document.position,
        document.content_type.value,
        document.size_bytes,
        document.sha256,
        document.stored_as,
    )


async def documents(db: Db, request_ids: list[int]) -> dict[int, list[Document]]:
    """Each application's documents, in the order they were sent."""
    rows = await db.fetch(
        "SELECT request_id, position, content_type, size_bytes, sha256, stored_as"
        " FROM kyc_documents WHERE request_id = ANY($1::bigint[]) ORDER BY request_id, position",
        request_ids,
    )
    found: dict[int, list[Document]] = {rid: [] for rid in request_ids}
    for r in rows:
        found[r["request_id"]].append(
            Document(
                r["position"],
                DocumentType(r["content_type"]),
                r["size_bytes"],
                bytes(r["sha256"]),
                r["stored_as"],
            )
        )
    return found


async def kyc_statuses(db: Db, user_ids: list[int]) -> dict[int, KycStatus]:
    """Each user's KYC status (``none`` for a user who never applied)."""
    rows = await db.fetch(
        "SELECT DISTINCT ON (user_id) user_id, status FROM live_requests"
        " WHERE kind = 'kyc' AND user_id = ANY($1::bigint[]) ORDER BY user_id, id DESC",
        user_ids,
    )
    found = dict.fromkeys(user_ids, KycStatus.NONE)
    found.update({r["user_id"]: KycStatus(r["status"]) for r in rows})
    return found
