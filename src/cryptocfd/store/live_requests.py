"""Traders' requests of the back office: KYC applications, deposits and withdrawals.

One table and one id space for the three kinds, so the operators' queues and their actions
name any request by its id. A request changes only inside a transaction that holds its row
(``lock``), so two operators acting at once are put one after the other, and each change is
recorded as the trader sees it (``record_change``) in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec

from cryptocfd.store.database import Connection, Db

MAX_QUEUE = 200
CLIENT_KEY_INDEX = "live_requests_client_key"
HISTORY_PER_USER = 20  # the previous requests a queue entry shows of its trader


class Kind(StrEnum):
    """What a request asks for."""

    KYC = "kyc"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"


class Status(StrEnum):
    """Every status a request may be in (``kyc``: submitted, verified, rejected; a deposit:
    requested, approved, rejected; a withdrawal: requested, approved, paid, rejected)."""

    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REQUESTED = "requested"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"


OPEN: dict[Kind, tuple[Status, ...]] = {
    Kind.KYC: (Status.SUBMITTED,),
    Kind.DEPOSIT: (Status.REQUESTED,),
    Kind.WITHDRAWAL: (Status.REQUESTED, Status.APPROVED),
}
"""The statuses in which a request still waits for an operator (a queue's default)."""


class LiveRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A request as stored."""

    id: int
    user_id: int
    kind: Kind
    status: Status
    amount_cents: int | None
    booked_cents: int | None
    reference: str | None
    payout_reference: str | None
    reason: str | None
    created_at: datetime
    updated_at: datetime


class Change(msgspec.Struct, frozen=True):
    """One change of a request, as its trader is told of it."""

    at: datetime
    status: Status
    note: str | None


class Approval(msgspec.Struct, frozen=True):
    """One operator's approval (``amount_cents``: the amount they approved, funding only)."""

    operator_id: int
    operator: str
    amount_cents: int | None
    at: datetime


_COLUMNS = (
    "id, user_id, kind, status, amount_cents, booked_cents, reference, payout_reference,"
    " reason, created_at, updated_at"
)


SELECT = " ".join(("SELECT", _COLUMNS, "FROM live_requests"))


def sql(*parts: str) -> str:
    """A statement from fixed fragments (never a value: values are parameters)."""
    return " ".join(parts)


def request_of(row: Any) -> LiveRequest:
    return LiveRequest(
        id=row["id"],
        user_id=row["user_id"],
        kind=Kind(row["kind"]),
        status=Status(row["status"]),
        amount_cents=row["amount_cents"],
        booked_cents=row["booked_cents"],
        reference=row["reference"],
        payout_reference=row["payout_reference"],
        reason=row["reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def create(
    conn: Connection,
    user_id: int,
    kind: Kind,
    at: datetime,
    *,
    amount_cents: int | None = None,
    reference: str | None = None,
    client_key: str | None = None,
) -> LiveRequest:
    """A new request of ``kind`` in its first status, its first change recorded; a
    ``client_key`` another request of the kind holds raises ``asyncpg.UniqueViolationError``
    on ``CLIENT_KEY_INDEX``."""
    status = Status.SUBMITTED if kind is Kind.KYC else Status.REQUESTED
    row = await conn.fetchrow(
        sql(
            "INSERT INTO live_requests (user_id, kind, status, amount_cents, reference,"
            " client_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
            " RETURNING",
            _COLUMNS,
        ),
        user_id,
        kind.value,
        status.value,
        amount_cents,
        reference,
        client_key,
        at,
    )
    made = request_of(row)
    await record_change(conn, made.id, at, status)
    return made


async def by_client_key(db: Db, kind: Kind, client_key: str) -> LiveRequest | None:
    """The request of ``kind`` made with ``client_key``, if any."""
    row = await db.fetchrow(
        sql(SELECT, "WHERE kind = $1 AND client_key = $2"), kind.value, client_key
    )
    return None if row is None else request_of(row)


async def record_change(
    conn: Connection, request_id: int, at: datetime, status: Status, note: str | None = None
) -> None:
    """Record that the request went to ``status`` (with ``note``: a reason, a reference)."""
    await conn.execute(
        "INSERT INTO live_request_changes (request_id, at, status, note) VALUES ($1, $2, $3, $4)",
        request_id,
        at,
        status.value,
        note,
    )


async def lock(conn: Connection, request_id: int) -> LiveRequest | None:
    """The request, its row locked until the transaction ends; ``None`` for no such request."""
    row = await conn.fetchrow(sql(SELECT, "WHERE id = $1 FOR UPDATE"), request_id)
    return None if row is None else request_of(row)


async def move(
    conn: Connection,
    request: LiveRequest,
    status: Status,
    at: datetime,
    *,
    booked_cents: int | None = None,
    reason: str | None = None,
    payout_reference: str | None = None,
) -> LiveRequest:
    """``request`` (locked) moved to ``status``, the change recorded with its reason or
    reference as the note."""
    row = await conn.fetchrow(
        sql(
            "UPDATE live_requests SET status = $2, updated_at = $3,"
            " booked_cents = coalesce($4, booked_cents), reason = coalesce($5, reason),"
            " payout_reference = coalesce($6, payout_reference) WHERE id = $1 RETURNING",
            _COLUMNS,
        ),
        request.id,
        status.value,
        at,
        booked_cents,
        reason,
        payout_reference,
    )
    await record_change(conn, request.id, at, status, reason or payout_reference)
    return request_of(row)


async def add_approval(
    conn: Connection, request_id: int, operator_id: int, amount_cents: int | None, at: datetime
) -> bool:
    """Record ``operator_id``'s approval; false if they approved this request already."""
    added = await conn.fetchval(
        "INSERT INTO live_request_approvals (request_id, operator_id, amount_cents, at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
        request_id,
        operator_id,
        amount_cents,
        at,
    )
    return bool(added)


async def approvals(db: Db, request_ids: list[int]) -> dict[int, list[Approval]]:
    """The approvals of each request, oldest first."""
    rows = await db.fetch(
        "SELECT a.request_id, a.operator_id, u.email, a.amount_cents, a.at"
        " FROM live_request_approvals a JOIN users u ON u.id = a.operator_id"
        " WHERE a.request_id = ANY($1::bigint[]) ORDER BY a.at, a.operator_id",
        request_ids,
    )
    found: dict[int, list[Approval]] = {rid: [] for rid in request_ids}
    for r in rows:
        found[r["request_id"]].append(
            Approval(r["operator_id"], r["email"], r["amount_cents"], r["at"])
        )
    return found


async def requests_of(db: Db, user_id: int, limit: int = MAX_QUEUE) -> list[LiveRequest]:
    """The user's requests, newest first."""
    rows = await db.fetch(
        sql(SELECT, "WHERE user_id = $1 ORDER BY id DESC LIMIT $2"),
        user_id,
        limit,
    )
    return [request_of(r) for r in rows]


async def changes(db: Db, request_ids: list[int]) -> dict[int, list[Change]]:
    """Each request's changes, oldest first."""
    rows = await db.fetch(
        "SELECT request_id, at, status, note FROM live_request_changes"
        " WHERE request_id = ANY($1::bigint[]) ORDER BY request_id, id",
        request_ids,
    )
    found: dict[int, list[Change]] = {rid: [] for rid in request_ids}
    for r in rows:
        found[r["request_id"]].append(Change(r["at"], Status(r["status"]), r["note"]))
    return found


async def queue(
    db: Db, kinds: tuple[Kind, ...], statuses: tuple[Status, ...] | None, limit: int = MAX_QUEUE
) -> list[LiveRequest]:
    """Requests of ``kinds`` in ``statuses`` (``None``: each kind's open ones), oldest first."""
    pairs = [
        (kind.value, status.value)
        for kind in kinds
        for status in (OPEN[kind] if statuses is None else statuses)
    ]
    rows = await db.fetch(
        sql(
            SELECT,
            "WHERE (kind, status) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
            " ORDER BY id LIMIT $3",
        ),
        [kind for kind, _ in pairs],
        [status for _, status in pairs],
        limit,
    )
    return [request_of(r) for r in rows]


async def history_of(
    db: Db, user_ids: list[int], per_user: int = HISTORY_PER_USER
) -> dict[int, list[LiveRequest]]:
    """Each user's newest requests (at most ``per_user``), newest first."""
    rows = await db.fetch(
        sql(
            "SELECT",
            _COLUMNS,
            "FROM (SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY id DESC) AS n"
            " FROM live_requests WHERE user_id = ANY($1::bigint[])"
            ") r WHERE n <= $2 ORDER BY user_id, id DESC",
        ),
        user_ids,
        per_user,
    )
    found: dict[int, list[LiveRequest]] = {uid: [] for uid in user_ids}
    for r in rows:
        found[r["user_id"]].append(request_of(r))
    return found


async def emails_of(db: Db, user_ids: list[int]) -> dict[int, str]:
    """Each user's email."""
    rows = await db.fetch("SELECT id, email FROM users WHERE id = ANY($1::bigint[])", user_ids)
    return {r["id"]: r["email"] for r in rows}


async def by_id(db: Db, request_id: int) -> LiveRequest | None:
    """The request with ``request_id``, if any."""
    row = await db.fetchrow(sql(SELECT, "WHERE id = $1"), request_id)
    return None if row is None else request_of(row)
