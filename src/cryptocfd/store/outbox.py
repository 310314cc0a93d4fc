"""The email outbox: emails are written in the caller's transaction and sent later by a worker.

Claiming is a lease: ``claim_due`` locks due rows with ``FOR UPDATE SKIP LOCKED`` (so workers
claiming at once never get the same row), counts the attempt and pushes ``next_attempt_at`` a
lease into the future, all in one short transaction; the sending happens outside it. A worker
that dies mid-send leaves the row to be claimed again when the lease runs out; one that sends
for longer than the lease may see the email sent twice, so the lease is far longer than an SMTP
timeout.

Bodies are sealed at rest (AES-256-GCM under a key derived from the server key, the recipient
authenticated with them), because sign-in emails carry working links: whoever reads the table
learns nothing usable. ``mark_sent`` purges the body and keeps the row's metadata.

``mark_failed`` retries with exponential backoff, and after ``MAX_ATTEMPTS`` gives up: the row
keeps its last error and ``given_up_at`` for an operator, and is never claimed again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import asyncpg
import msgspec

from cryptocfd.store.database import Connection
from cryptocfd.store.sealing import Sealer, Unsealable

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
_SEAL_INFO = b"cryptocfd email outbox v1"


class UnreadableEmail(ValueError):  # noqa: N818 - says what the row is
    """A sealed body that does not open with this key (another installation's, or altered)."""


def seal_body(server_key: bytes, recipient: str, body: str) -> bytes:
    """``body`` encrypted for the outbox, bound to ``recipient``."""
    return Sealer(server_key, _SEAL_INFO).seal(body.encode(), recipient.encode())


def open_body(server_key: bytes, recipient: str, sealed: bytes) -> str:
    """The body ``seal_body`` sealed for ``recipient``; raise ``UnreadableEmail`` otherwise."""
    try:
        return Sealer(server_key, _SEAL_INFO).open(sealed, recipient.encode()).decode()
    except Unsealable as exc:
        raise UnreadableEmail("the email body does not open with this server key") from exc


class OutgoingEmail(msgspec.Struct, frozen=True):
    """A claimed email, still sealed: open it, send it, then ``mark_sent`` or ``mark_failed``
    it by ``id``."""

    id: int
    recipient: str
    subject: str
    sealed: bytes | None  # None only for a body written before bodies were sealed
    legacy_body: str | None
    attempts: int  # including this one

    def body(self, server_key: bytes) -> str:
        """The plain body (raise ``UnreadableEmail`` when the key is not the one it was sealed
        with)."""
        if self.sealed is None:
            return self.legacy_body or ""
        return open_body(server_key, self.recipient, self.sealed)


async def enqueue_email(
    conn: Connection, server_key: bytes, recipient: str, subject: str, body: str
) -> int:
    """Queue an email, sealed, in the caller's transaction; return its id. It is sent once
    committed."""
    email_id = await conn.fetchval(
        "INSERT INTO email_outbox (recipient, subject, sealed_body) VALUES ($1, $2, $3)"
        " RETURNING id",
        recipient,
        subject,
        seal_body(server_key, recipient, body),
    )
    return int(email_id)


async def claim_due(
    pool: asyncpg.Pool, limit: int, lease: timedelta = LEASE
) -> list[OutgoingEmail]:
    """Claim up to ``limit`` due emails, oldest due first, for ``lease``."""
    rows = await pool.fetch(
        "WITH due AS ("
        "  SELECT id FROM email_outbox"
        "  WHERE sent_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= now()"
        "  ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED"
        ") UPDATE email_outbox e SET attempts = e.attempts + 1, next_attempt_at = now() + $2"
        " FROM due WHERE e.id = due.id"
        " RETURNING e.id, e.recipient, e.subject, e.sealed_body, e.body, e.attempts",
        limit,
        lease,
    )
    emails = [
        OutgoingEmail(
            r["id"], r["recipient"], r["subject"], r["sealed_body"], r["body"], r["attempts"]
        )
        for r in rows
    ]
    return sorted(emails, key=_id)


def _id(email: OutgoingEmail) -> int:
    return email.id


async def mark_sent(pool: asyncpg.Pool, email_id: int, *, keep_body: bool = False) -> None:
    """Record that the email went out and purge its body (sent links must not stay here).

    ``keep_body`` keeps it sealed: only for the development mailer, where the dev mailbox is
    the only inbox there is.
    """
    await pool.execute(
        "UPDATE email_outbox SET sent_at = now(), last_error = NULL, body = NULL,"
        " sealed_body = CASE WHEN $2 THEN sealed_body END WHERE id = $1",
        email_id,
        keep_body,
    )


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: doubling, capped."""
    doubled: timedelta = FIRST_BACKOFF * 2 ** min(max(attempts - 1, 0), 20)
    return min(doubled, MAX_BACKOFF)


async def mark_failed(
    pool: asyncpg.Pool, email: OutgoingEmail, error: str, max_attempts: int = MAX_ATTEMPTS
) -> bool:
    """Record a failed attempt: retry after a backoff, or give up after ``max_attempts``.

    Return true when the email was given up.
    """
    give_up = email.attempts >= max_attempts
    await pool.execute(
        "UPDATE email_outbox SET last_error = $2, next_attempt_at = now() + $3,"
        " given_up_at = CASE WHEN $4 THEN now() END,"
        " body = CASE WHEN $4 THEN NULL ELSE body END,"  # a given-up body is never needed
        " sealed_body = CASE WHEN $4 THEN NULL ELSE sealed_body END WHERE id = $1",
        email.id,
        error[:2000],
        backoff(email.attempts),
        give_up,
    )
    if give_up:
        log.error(
            "gave up on email %d to %s after %d attempts: %s",
            email.id,
            email.recipient,
            email.attempts,
            error,
        )
    return give_up
