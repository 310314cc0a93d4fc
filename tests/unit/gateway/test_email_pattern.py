"""The document's email pattern says exactly what sign-in accepts (schemathesis relies on it)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from cryptocfd.gateway.schemas import EMAIL_PATTERN
from cryptocfd.identity.emails import InvalidEmail, normalize_email

ASCII = st.characters(min_codepoint=0, max_codepoint=127)
# Address-like text: mostly valid pieces, with any ASCII character mixed in.
ADDRESSES = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.text(ASCII, min_size=0, max_size=8),
    st.text(ASCII, min_size=0, max_size=8),
    st.text(ASCII, min_size=0, max_size=4),
)


def accepted(text: str) -> bool:
    try:
        normalize_email(text)
    except InvalidEmail:
        return False
    return True


@given(st.from_regex(EMAIL_PATTERN, fullmatch=True).filter(lambda text: len(text) <= 254))
def test_email_when_it_matches_the_documented_pattern_is_accepted(text: str) -> None:
    assert accepted(text)


@given(st.one_of(ADDRESSES, st.text(ASCII, max_size=20)))
def test_email_when_it_does_not_match_the_pattern_is_refused_unless_only_padded(
    text: str,
) -> None:
    documented = re.fullmatch(EMAIL_PATTERN, text) is not None and len(text) <= 254
    # Surrounding spaces are trimmed before the check: a pasted address still works.
    assert accepted(text) == documented or (text != text.strip() and accepted(text.strip()))
