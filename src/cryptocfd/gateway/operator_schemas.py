"""The API's shapes for operators: the second factor and the back office."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from cryptocfd.gateway.schemas import Timestamp
from cryptocfd.identity.totp import CODE_PATTERN

# -- the second factor ----------------------------------------------------------------------


class TotpSetupOut(msgspec.Struct, frozen=True):
    """A new second factor: add it to an authenticator app (``otpauth_uri`` as a QR code, or
    ``secret`` by hand), then verify a code. Shown this once; the server keeps it sealed."""

    secret: str
    otpauth_uri: str


class TotpVerifyRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A code from the authenticator app."""

    code: Annotated[str, Meta(pattern=CODE_PATTERN, examples=["492039"])]


class TotpVerified(msgspec.Struct, frozen=True):
    """The caller now holds operator strength until ``raised_until``. A token client gets a new
    access token that carries it (same family, so signing out revokes it); a browser's session
    itself is raised."""

    strength: Literal["operator"]
    raised_until: Timestamp
    access_token: str | None = None
    expires_in: int | None = None


# -- the back office ------------------------------------------------------------------------


class AuditEntryOut(msgspec.Struct, frozen=True):
    """One back-office action. ``actor`` is the operator's email, or ``cli:<os user>`` for the
    command line (``actor_id`` null); ``before`` and ``after`` are what it changed, as JSON."""

    id: int
    at: Timestamp
    actor: str
    actor_id: int | None
    action: str
    target: str
    before: Any
    after: Any
    client_addr: str | None


class AuditPageOut(msgspec.Struct, frozen=True):
    """Entries, newest first; pass ``next_cursor`` back for the next page."""

    entries: list[AuditEntryOut]
    next_cursor: str | None
