"""Access tokens: genuine and fresh, or refused; stored tokens only as hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac

import msgspec
import pytest

from cryptocfd.identity.tokens import (
    FRESH_SIGN_IN_MS,
    AccessClaims,
    BadToken,
    csrf_matches,
    csrf_token,
    is_fresh,
    requester_hash,
    sign_access_token,
    token_hash,
    verify_access_token,
)

KEY = b"k" * 32
CLAIMS = AccessClaims(user_id=42, family="fam", expires_at_ms=2_000, device_id="phone-1")


def test_verify_access_token_when_genuine_and_fresh_returns_its_claims() -> None:
    assert verify_access_token(KEY, sign_access_token(KEY, CLAIMS), 1_999) == CLAIMS


def test_verify_access_token_when_expired_is_refused() -> None:
    with pytest.raises(BadToken, match="expired"):
        verify_access_token(KEY, sign_access_token(KEY, CLAIMS), 2_000)


def test_verify_access_token_when_signed_with_another_key_is_refused() -> None:
    with pytest.raises(BadToken, match="signature"):
        verify_access_token(KEY, sign_access_token(b"x" * 32, CLAIMS), 1_000)


def test_verify_access_token_when_the_payload_is_altered_is_refused() -> None:
    token = sign_access_token(KEY, CLAIMS)
    other = sign_access_token(KEY, AccessClaims(1, "fam", 2_000))
    forged = ".".join([*other.split(".")[:2], token.split(".")[2]])
    with pytest.raises(BadToken):
        verify_access_token(KEY, forged, 1_000)


@pytest.mark.parametrize("token", ["", "v1", "v1..", "v2.abc.def", "v1.!!!.xyz", "x" * 2000])
def test_verify_access_token_when_malformed_is_refused(token: str) -> None:
    with pytest.raises(BadToken):
        verify_access_token(KEY, token, 1_000)


def test_token_hash_when_stored_is_not_the_token_and_is_stable() -> None:
    assert token_hash("abc") == token_hash("abc")
    assert token_hash("abc") != b"abc"
    assert len(token_hash("abc")) == 32


def test_csrf_token_when_bound_to_a_session_matches_only_that_session() -> None:
    token = csrf_token(KEY, "session-a")
    assert csrf_matches(KEY, "session-a", token)
    assert not csrf_matches(KEY, "session-b", token)


def test_access_token_when_made_at_a_link_sign_in_carries_when() -> None:
    claims = AccessClaims(42, "fam", 2_000, None, signed_in_at_ms=1_000)

    assert verify_access_token(KEY, sign_access_token(KEY, claims), 1_500) == claims


def test_is_fresh_when_the_link_sign_in_is_older_than_five_minutes_is_false() -> None:
    assert is_fresh(1_000, 1_000 + FRESH_SIGN_IN_MS)
    assert not is_fresh(1_000, 1_001 + FRESH_SIGN_IN_MS)
    assert not is_fresh(None, 1_000)


def test_csrf_token_when_for_another_purpose_does_not_match() -> None:
    assert not csrf_matches(KEY, "nonce", csrf_token(KEY, "nonce"), "confirm")
    assert csrf_matches(KEY, "nonce", csrf_token(KEY, "nonce", "confirm"), "confirm")


def test_requester_hash_when_the_key_differs_differs_and_is_no_plain_hash() -> None:
    ip = "203.0.113.7"

    assert requester_hash(KEY, ip) == requester_hash(KEY, ip)
    assert requester_hash(KEY, ip) != requester_hash(b"o" * 32, ip)
    assert requester_hash(KEY, ip) != hashlib.sha256(ip.encode()).digest()


def test_access_token_when_raised_by_a_second_factor_carries_when() -> None:
    claims = AccessClaims(42, "fam", 2_000, None, 900, raised_at_ms=1_000)

    assert verify_access_token(KEY, sign_access_token(KEY, claims), 1_500).raised_at_ms == 1_000


def test_access_token_when_signed_before_raises_existed_still_reads_as_unraised() -> None:
    # A token signed by the previous release: five claims, no raise.
    payload = base64.urlsafe_b64encode(msgspec.msgpack.encode([42, "fam", 2_000, None, 900]))
    text = payload.rstrip(b"=").decode()
    mac = hmac.new(KEY, f"v1.{text}".encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    claims = verify_access_token(KEY, f"v1.{text}.{signature}", 1_500)

    assert claims.raised_at_ms is None and claims.signed_in_at_ms == 900
