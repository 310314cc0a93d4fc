"""The history cursor: exactly the strings ``CURSOR_PATTERN`` (and so the API document) allows."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryptocfd.store.history import CURSOR_PATTERN, InvalidCursor, decode_cursor, encode_cursor


@given(st.from_regex(CURSOR_PATTERN, fullmatch=True))
def test_cursor_when_it_matches_the_documented_pattern_decodes_to_a_key_in_range(
    cursor: str,
) -> None:
    closed_at, record_id, seq = decode_cursor(cursor)

    assert 0 <= closed_at < 2**63
    assert 0 <= seq < 2**31
    assert decode_cursor(encode_cursor(closed_at, record_id, seq)) == (closed_at, record_id, seq)


@given(st.text(max_size=40).filter(lambda text: re.fullmatch(CURSOR_PATTERN, text) is None))
def test_cursor_when_it_does_not_match_the_pattern_is_invalid(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)


def test_cursor_when_encoded_from_a_row_key_reads_back_the_same_key() -> None:
    assert decode_cursor(encode_cursor(1_764_000_000_000, "1764000000000-3", 2)) == (
        1_764_000_000_000,
        "1764000000000-3",
        2,
    )
