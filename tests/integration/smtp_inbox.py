"""A real SMTP server (aiosmtpd) on a free port, keeping what it receives."""

from __future__ import annotations

import email
import email.policy
import re
from collections import Counter
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.waiting import eventually, until


class Inbox:
    """An SMTP handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,  # noqa: ARG002 - the hook's signature
        session: Session,  # noqa: ARG002
        envelope: Envelope,
    ) -> str:
        content = envelope.content
        text = content.decode() if isinstance(content, bytes) else str(content)
        self.messages.append((list(envelope.rcpt_tos), text))
        return "250 OK"

    def subjects(self) -> Counter[str]:
        """How many times each subject arrived."""
        return Counter(
            line.removeprefix("Subject: ")
            for _to, text in self.messages
            for line in text.splitlines()
            if line.startswith("Subject: ")
        )

    async def link_to(self, recipient: str, timeout_s: float = 10.0) -> str:
        """Wait for an email to ``recipient``; return the first link in the newest one."""
        return await until(
            lambda: self.newest_link(recipient), timeout_s, why=f"mail to {recipient}"
        )

    def wait_for_link(self, recipient: str, timeout_s: float = 30.0) -> str:
        """``link_to`` for synchronous callers (the browser tests, whose Playwright owns the
        thread's event loop)."""
        return eventually(
            lambda: self.newest_link(recipient), timeout_s, poll_s=0.05, why=f"mail to {recipient}"
        )

    def newest_link(self, recipient: str) -> str | None:
        """The first link in the newest email to ``recipient``, if one came."""
        for to, text in reversed(self.messages):
            if recipient in to:
                # As a mail client reads it: MIME-decoded (quoted-printable wraps lines).
                message = email.message_from_string(text, policy=email.policy.default)
                body = message.get_body(("plain",))
                assert isinstance(body, EmailMessage), text
                match = re.search(r"https?://\S+", body.get_content())
                assert match is not None, text
                return match.group(0)
        return None
