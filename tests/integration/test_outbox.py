"""The email outbox: written in the caller's transaction, sent once by whichever worker claims
it, retried with backoff and given up on in the end."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter

import asyncpg
import pytest

from cryptocfd.services.outbox_sender import LogMailer, OutboxSender, SmtpMailer, build_mailer
from cryptocfd.settings import Settings
from cryptocfd.store.outbox import claim_due, enqueue_email, open_body
from tests.integration.journal_world import own_pool
from tests.integration.servers import free_port
from tests.integration.smtp_inbox import Inbox
from tests.waiting import until

KEY = b"the outbox test's server key"


async def _enqueue(pool: asyncpg.Pool, subjects: list[str]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for subject in subjects:
            await enqueue_email(conn, KEY, "trader@example.com", subject, f"link for {subject}")


def _as_text(row: asyncpg.Record) -> bytes:
    """Every column of ``row`` as bytes, to search for what must not be there."""
    return b"|".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values())


async def test_sender_when_smtp_is_configured_delivers_each_email_through_the_server(
    own_database_url: str, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    async with own_pool(own_database_url) as pool:
        await _enqueue(pool, ["sign in 1", "sign in 2"])
        sender = OutboxSender(pool, SmtpMailer("127.0.0.1", port, "CryptoCFD <no-reply@test>"), KEY)
        claimed = await sender.send_due()
        unsent = await pool.fetchval("SELECT count(*) FROM email_outbox WHERE sent_at IS NULL")
        again = await claim_due(pool, 10)

    assert (claimed, sender.sent, unsent, again) == (2, 2, 0, [])
    assert inbox.subjects() == Counter({"sign in 1": 1, "sign in 2": 1})
    assert all(to == ["trader@example.com"] for to, _text in inbox.messages)
    assert "link for sign in 1" in inbox.messages[0][1]


async def test_senders_when_two_claim_at_once_send_each_email_once(
    own_database_url: str, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    subjects = [f"mail {n} {uuid.uuid4().hex[:6]}" for n in range(40)]
    async with own_pool(own_database_url) as pool:
        await _enqueue(pool, subjects)
        mailer = SmtpMailer("127.0.0.1", port, "no-reply@test")
        senders = [OutboxSender(pool, mailer, KEY, batch=3, poll_s=0.02) for _ in range(2)]
        stopping = asyncio.Event()
        tasks = [asyncio.create_task(s.run(stopping)) for s in senders]

        async def all_sent() -> bool:
            unsent: int = await pool.fetchval(
                "SELECT count(*) FROM email_outbox WHERE sent_at IS NULL"
            )
            return unsent == 0

        try:
            await until(all_sent)
        finally:
            stopping.set()
            await asyncio.gather(*tasks)

    assert inbox.subjects() == Counter(dict.fromkeys(subjects, 1))
    assert all(s.sent > 0 for s in senders)  # both took part
    assert sum(s.sent for s in senders) == len(subjects)


async def test_sender_when_the_server_refuses_retries_then_gives_up_and_never_claims_again(
    own_database_url: str,
) -> None:
    nobody = SmtpMailer("127.0.0.1", free_port(), "no-reply@test")  # nothing listens there
    async with own_pool(own_database_url) as pool:
        await _enqueue(pool, ["doomed"])
        sender = OutboxSender(pool, nobody, KEY, max_attempts=2)
        first = await sender.send_due()
        waiting = await pool.fetchrow(
            "SELECT attempts, given_up_at, next_attempt_at > now() AS later FROM email_outbox"
        )
        await pool.execute("UPDATE email_outbox SET next_attempt_at = now()")  # skip the backoff
        second = await sender.send_due()
        third = await sender.send_due()
        row = await pool.fetchrow("SELECT * FROM email_outbox")

    assert (first, second, third, sender.sent) == (1, 1, 0, 0)
    assert waiting is not None and (waiting["attempts"], waiting["given_up_at"]) == (1, None)
    assert waiting["later"]
    assert row is not None and row["attempts"] == 2 and row["sent_at"] is None
    assert row["given_up_at"] is not None and row["last_error"]


async def test_sender_when_no_smtp_host_is_set_logs_the_email_and_marks_it_sent(
    own_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    mailer = build_mailer(Settings())
    caplog.set_level(logging.INFO)
    async with own_pool(own_database_url) as pool:
        await _enqueue(pool, ["dev sign in"])
        sent = await OutboxSender(pool, mailer, KEY).send_due()
        unsent = await pool.fetchval("SELECT count(*) FROM email_outbox WHERE sent_at IS NULL")

    assert isinstance(mailer, LogMailer)
    assert (sent, unsent) == (1, 0)
    assert "link for dev sign in" in caplog.text


async def test_outbox_when_an_email_is_queued_holds_its_body_only_sealed(
    own_database_url: str,
) -> None:
    token = "Zq8-secret-token-" + uuid.uuid4().hex
    async with own_pool(own_database_url) as pool:
        async with pool.acquire() as conn, conn.transaction():
            await enqueue_email(conn, KEY, "trader@example.com", "Sign in", f"/verify?t={token}")
        row = await pool.fetchrow("SELECT * FROM email_outbox")

    assert row is not None
    assert token.encode() not in _as_text(row)
    assert row["body"] is None
    assert open_body(KEY, "trader@example.com", row["sealed_body"]) == f"/verify?t={token}"


async def test_sender_when_an_email_went_out_purges_its_body_and_keeps_the_row(
    own_database_url: str, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    token = "Zq8-secret-token-" + uuid.uuid4().hex
    async with own_pool(own_database_url) as pool:
        async with pool.acquire() as conn, conn.transaction():
            await enqueue_email(conn, KEY, "trader@example.com", "Sign in", f"/verify?t={token}")
        await OutboxSender(pool, SmtpMailer("127.0.0.1", port, "no-reply@test"), KEY).send_due()
        row = await pool.fetchrow("SELECT * FROM email_outbox")

    assert token in inbox.messages[0][1]
    assert row is not None and row["sent_at"] is not None
    assert (row["recipient"], row["subject"]) == ("trader@example.com", "Sign in")
    assert row["body"] is None and row["sealed_body"] is None
    assert token.encode() not in _as_text(row)


async def test_sender_when_the_body_was_sealed_with_another_key_does_not_send_it(
    own_database_url: str, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    async with own_pool(own_database_url) as pool:
        await _enqueue(pool, ["sealed elsewhere"])
        mailer = SmtpMailer("127.0.0.1", port, "no-reply@test")
        sent = await OutboxSender(pool, mailer, b"another installation's key").send_due()
        row = await pool.fetchrow("SELECT * FROM email_outbox")

    assert (sent, inbox.messages) == (1, [])
    assert row is not None and row["sent_at"] is None
    assert "does not open" in row["last_error"]
