"""Email addresses: one normal form; what cannot be an address is refused at once."""

from __future__ import annotations

import pytest

from cryptocfd.identity.emails import InvalidEmail, normalize_email


def test_normalize_email_when_mixed_case_and_padded_gives_one_form() -> None:
    assert normalize_email("  Trader@Example.COM ") == "trader@example.com"


@pytest.mark.parametrize(
    "text",
    ["", "trader", "@example.com", "trader@", "trader@example", "a b@example.com",
     "trader@example..com", "trader@.example.com", "x@y@example.com", "é@example.com",
     "a" * 250 + "@example.com", "<trader@example.com>"],
)  # fmt: skip
def test_normalize_email_when_not_an_address_is_refused(text: str) -> None:
    with pytest.raises(InvalidEmail):
        normalize_email(text)
