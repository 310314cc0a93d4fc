"""Email addresses: one normal form; what cannot be an address is refused at once."""

from __future__ import annotations

import pytest

from cryptocfd.identity.emails import InvalidEmail, mask_email, normalize_email


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


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x0b"])
def test_normalize_email_when_it_holds_a_control_character_is_refused(char: str) -> None:
    with pytest.raises(InvalidEmail):
        normalize_email(f"tra{char}der@example.com")


def test_mask_email_when_shown_to_a_link_holder_keeps_the_first_letter_and_the_domain() -> None:
    assert mask_email("alice@example.com") == "a…@example.com"
