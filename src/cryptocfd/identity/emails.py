"""Email addresses as sign-in identities: one normal form, a sane shape, nothing more.

Deliverability is proven by the emailed link itself; this only refuses what cannot be an
address, so a typo fails at once instead of silently never arriving.
"""

from __future__ import annotations

MAX_EMAIL_CHARS = 254


class InvalidEmail(ValueError):  # noqa: N818 - the name is the error clients see
    """Not an email address."""


def normalize_email(text: str) -> str:
    """The address in the form accounts are keyed by (trimmed, lower-case), or raise."""
    email = text.strip().lower()
    local, at, domain = email.rpartition("@")
    if (
        not at
        or not local
        or len(email) > MAX_EMAIL_CHARS
        or "." not in domain
        or domain.startswith(".")
        or domain.endswith(".")
        or ".." in domain
        or any(c.isspace() or not c.isprintable() or c in '<>()[],;:\\"' for c in email)
        or not email.isascii()
        or "@" in local
    ):
        raise InvalidEmail("expected an email address like trader@example.com")
    return email


def mask_email(email: str) -> str:
    """The address as a page may show it to whoever holds a link: ``a…@example.com``."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}…@{domain}"
