"""PIN policy: six digits, no common PINs, five wrong tries lock it for fifteen minutes."""

from __future__ import annotations

import pytest

from cryptocfd.identity.pins import (
    LOCK_MS,
    MAX_FAILED_ATTEMPTS,
    MAX_LOCK_MS,
    PinRefused,
    after_failure,
    check_pin,
    is_locked,
    lock_ms,
)


@pytest.mark.parametrize("pin", ["12345", "1234567", "12a456", "", "١٢٣٤٥٦", " 73915", "73915 "])
def test_check_pin_when_not_six_ascii_digits_is_invalid(pin: str) -> None:
    with pytest.raises(PinRefused) as refused:
        check_pin(pin)
    assert refused.value.code == "INVALID_PIN"


@pytest.mark.parametrize(
    "pin",
    ["123456", "654321", "000000", "999999", "121212", "123123", "890123", "123321", "696969"],
)
def test_check_pin_when_among_the_most_guessed_is_too_common(pin: str) -> None:
    with pytest.raises(PinRefused) as refused:
        check_pin(pin)
    assert refused.value.code == "PIN_TOO_COMMON"


@pytest.mark.parametrize("pin", ["739150", "284617", "905372"])
def test_check_pin_when_unremarkable_is_accepted(pin: str) -> None:
    assert check_pin(pin) == pin


def test_after_failure_when_the_fifth_try_fails_locks_for_fifteen_minutes() -> None:
    attempts, locked_until = 0, None
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        attempts, locked_until = after_failure(attempts, 1_000)
        assert locked_until is None
    attempts, locked_until = after_failure(attempts, 1_000)
    assert locked_until == 1_000 + LOCK_MS
    assert attempts == 0
    assert is_locked(locked_until, 1_000 + LOCK_MS - 1)
    assert not is_locked(locked_until, 1_000 + LOCK_MS)


def test_after_failure_when_locked_before_locks_twice_as_long_up_to_a_day() -> None:
    assert after_failure(MAX_FAILED_ATTEMPTS - 1, 0, locks_before=1) == (0, 2 * LOCK_MS)
    assert after_failure(MAX_FAILED_ATTEMPTS - 1, 0, locks_before=2) == (0, 4 * LOCK_MS)
    assert lock_ms(40) == MAX_LOCK_MS == 24 * 60 * 60 * 1000
