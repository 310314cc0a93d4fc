"""The outbox sender: claims due emails and sends them over SMTP (or to the log in dev).

Several senders (in one worker or many) may run at once: claims never overlap (see
``cryptocfd.store.outbox``). An email that fails is retried with backoff and given up after a
number of attempts. Bodies are sealed in the outbox; the sender opens each with the server key
just before sending and the row's body is purged once it is sent.
"""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import asyncpg
import msgspec

from cryptocfd.services.retrying import TRANSIENT, Retry, wait_for
from cryptocfd.settings import Settings
from cryptocfd.store.outbox import (
    MAX_ATTEMPTS,
    UnreadableEmail,
    claim_due,
    mark_failed,
    mark_sent,
)

log = logging.getLogger(__name__)

BATCH = 20
POLL_S = 1.0
SMTP_TIMEOUT_S = 30.0


class Letter(msgspec.Struct, frozen=True):
    """What a mailer sends: a claimed email with its body opened."""

    recipient: str
    subject: str
    body: str


class Mailer(Protocol):
    """Something that delivers an email or raises."""

    keeps_body: bool  # whether the outbox keeps the sealed body once sent (dev mailbox)

    async def send(self, email: Letter) -> None:
        """Deliver ``email``."""


class SmtpMailer:
    """Delivers through an SMTP server; STARTTLS and login only when configured."""

    keeps_body = False

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = False,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls = user, password, starttls

    async def send(self, email: Letter) -> None:
        """Deliver ``email`` in its own SMTP session."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = email.recipient
        message["Subject"] = email.subject
        message.set_content(email.body)
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.user,
            password=self.password if self.user else None,
            start_tls=self.starttls,
            timeout=SMTP_TIMEOUT_S,
        )


class LogMailer:
    """Development: writes the email (and so its sign-in link) to the log. The outbox keeps
    the sealed body, for the dev mailbox (settings refuse ``prod`` without SMTP)."""

    keeps_body = True

    async def send(self, email: Letter) -> None:
        """Log ``email`` instead of sending it."""
        log.info("email to %s: %s\n%s", email.recipient, email.subject, email.body)


def build_mailer(settings: Settings) -> Mailer:
    """SMTP when ``SMTP_HOST`` is set, else the log."""
    if settings.smtp_host is None:
        return LogMailer()
    return SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        user=settings.smtp_user,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
    )


class OutboxSender:
    """Claims due emails a batch at a time and sends them."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        mailer: Mailer,
        server_key: bytes,
        *,
        batch: int = BATCH,
        poll_s: float = POLL_S,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.pool = pool
        self.mailer = mailer
        self.server_key = server_key
        self.batch = batch
        self.poll_s = poll_s
        self.max_attempts = max_attempts
        self.sent = 0

    async def send_due(self) -> int:
        """Claim one batch and send it; return how many were claimed."""
        emails = await claim_due(self.pool, self.batch)
        for email in emails:
            try:
                opened = Letter(email.recipient, email.subject, email.body(self.server_key))
                await self.mailer.send(opened)
            except (aiosmtplib.SMTPException, OSError, TimeoutError, UnreadableEmail) as exc:
                log.warning("email %d attempt %d failed: %s", email.id, email.attempts, exc)
                await mark_failed(self.pool, email, str(exc), self.max_attempts)
            else:
                await mark_sent(self.pool, email.id, keep_body=self.mailer.keeps_body)
                self.sent += 1
        return len(emails)

    async def run(self, stopping: asyncio.Event) -> None:
        """Send until ``stopping`` is set, polling when there is nothing due; the database
        being away is waited out."""
        retry = Retry("sending the outbox")
        while not stopping.is_set():
            try:
                claimed = await self.send_due()
            except TRANSIENT as exc:
                await retry.failed(exc, stopping)
                continue
            retry.succeeded()
            if claimed < self.batch:
                await wait_for(stopping, self.poll_s)
