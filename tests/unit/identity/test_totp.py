"""The TOTP policy against pyotp's own codes: a code is good for its step and one either side,
a wrong one for none, and a raise lasts one shift."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from cryptocfd.identity.totp import (
    RAISED_TTL_MS,
    STEP_S,
    is_raised,
    matching_step,
    new_secret,
    otpauth_uri,
    step_at,
)

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - a test vector
NOW_MS = 1_764_763_200_000  # a step boundary: 2025-12-03T12:00:00Z


def _code_at(seconds: float) -> str:
    return pyotp.TOTP(SECRET).at(seconds)


@pytest.mark.parametrize("drift_s", [-STEP_S, 0, STEP_S, STEP_S + 29])
def test_matching_step_when_the_code_is_within_one_step_finds_its_step(drift_s: int) -> None:
    code = _code_at(NOW_MS / 1000 + drift_s)

    assert matching_step(SECRET, code, NOW_MS) == step_at(NOW_MS + drift_s * 1000)


@pytest.mark.parametrize("drift_s", [-2 * STEP_S, 2 * STEP_S])
def test_matching_step_when_the_code_is_two_steps_away_finds_none(drift_s: int) -> None:
    code = _code_at(NOW_MS / 1000 + drift_s)
    near = {_code_at(NOW_MS / 1000 + k * STEP_S) for k in (-1, 0, 1)}

    assert code not in near  # this secret's codes at these steps all differ
    assert matching_step(SECRET, code, NOW_MS) is None


def test_matching_step_when_the_code_is_wrong_finds_none() -> None:
    near = {_code_at(NOW_MS / 1000 + k * STEP_S) for k in (-1, 0, 1)}
    wrong = next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in near)

    assert matching_step(SECRET, wrong, NOW_MS) is None


def test_otpauth_uri_when_read_by_pyotp_gives_the_same_codes() -> None:
    secret = new_secret()
    uri = otpauth_uri(secret, "op@example.com")

    parsed = pyotp.parse_uri(uri)
    query = parse_qs(urlsplit(uri).query)

    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.at(NOW_MS / 1000) == pyotp.TOTP(secret).at(NOW_MS / 1000)
    assert query["issuer"] == ["CryptoCFD"] and query["secret"] == [secret]
    assert len(secret) == 32  # 160 bits in base32


def test_is_raised_when_a_shift_has_passed_is_false() -> None:
    assert is_raised(NOW_MS, NOW_MS)
    assert is_raised(NOW_MS, NOW_MS + RAISED_TTL_MS - 1)
    assert not is_raised(NOW_MS, NOW_MS + RAISED_TTL_MS)
    assert not is_raised(NOW_MS, NOW_MS - 1)  # a raise from the future is no raise
    assert not is_raised(None, NOW_MS)
