"""The email outbox: the gateway queues mail in its own transaction; the worker sends it."""

from __future__ import annotations

from cryptocfd.store.database import Conn


async def enqueue_email(conn: Conn, recipient: str, subject: str, body: str) -> None:
    """Queue an email for the worker to send."""
    await conn.execute(
        "INSERT INTO email_outbox (recipient, subject, body) VALUES ($1, $2, $3)",
        recipient,
        subject,
        body,
    )
