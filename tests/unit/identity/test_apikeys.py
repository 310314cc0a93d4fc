"""The signed-request rules at their edges: the window's bounds to the millisecond, what the
signature covers, and the headers refused before any key is looked at."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from cryptocfd.identity.apikeys import (
    SignatureRefused,
    Signed,
    check_window,
    signature,
    signature_matches,
)

NOW = 1_767_225_600_000


def signed(timestamp: int | str, recv_window: str | None = "5000", payload: bytes = b"") -> Signed:
    return Signed("cfd_k", str(timestamp), recv_window, "", payload)


@pytest.mark.parametrize(
    ("timestamp", "window", "inside"),
    [
        (NOW - 5_000, "5000", True),
        (NOW - 5_001, "5000", False),
        (NOW + 999, "5000", True),
        (NOW + 1_000, "5000", False),
        (NOW - 60_000, "60000", True),
        (NOW - 5_000, None, True),
        (NOW - 5_001, None, False),
    ],
)
def test_check_window_when_at_its_edges_takes_exactly_the_documented_span(
    timestamp: int, window: str | None, inside: bool
) -> None:
    if inside:
        assert check_window(signed(timestamp, window), NOW) == int(window or 5_000)
    else:
        with pytest.raises(SignatureRefused) as refused:
            check_window(signed(timestamp, window), NOW)
        assert refused.value.code == "TIMESTAMP_OUTSIDE_RECV_WINDOW"


@pytest.mark.parametrize(
    ("timestamp", "window"),
    [
        ("+1767225600000", "5000"),
        (" 1767225600000", "5000"),
        ("", "5000"),
        ("١٢", "5000"),
        (str(NOW), "60001"),
        (str(NOW), "0"),
        (str(NOW), "5e3"),
        (str(NOW), ""),
    ],
)
def test_check_window_when_a_header_is_not_whole_milliseconds_is_a_bad_signature(
    timestamp: str, window: str
) -> None:
    with pytest.raises(SignatureRefused) as refused:
        check_window(signed(timestamp, window), NOW)

    assert refused.value.code == "BAD_SIGNATURE"


def test_signature_covers_timestamp_key_window_and_payload_as_sent() -> None:
    request = signed(NOW, "5000", b'{"a":1}')
    expected = hmac.new(
        b"s3cret", f"{NOW}cfd_k5000".encode() + b'{"a":1}', hashlib.sha256
    ).hexdigest()
    unwindowed = signed(NOW, None, b'{"a":1}')

    assert signature("s3cret", request) == expected
    assert (
        signature("s3cret", unwindowed)
        == hmac.new(b"s3cret", f"{NOW}cfd_k".encode() + b'{"a":1}', hashlib.sha256).hexdigest()
    )
    assert signature_matches(
        "s3cret", Signed("cfd_k", str(NOW), "5000", expected.upper(), b'{"a":1}')
    )
    assert not signature_matches("s3cret", Signed("cfd_k", str(NOW), "5000", expected, b'{"a":2}'))
    # Any text a header or a websocket message carries is refused, never an exception.
    assert not signature_matches("s3cret", Signed("cfd_k", str(NOW), "5000", "\u00e9" * 64, b""))
