"""Mobile PIN policy: the shape of a PIN, the PINs too common to allow, and lock-out.

A PIN is six ASCII digits. The common ones (repeats, runs, the usual favourites) are refused,
because an attacker tries them first. Five wrong tries lock the PIN on that device for fifteen
minutes; each further lock doubles the wait, up to a day. Devices the address never signed
in on share one hourly budget of wrong tries, so new device ids buy no more guesses.
"""

from __future__ import annotations

from itertools import pairwise

PIN_DIGITS = 6
MAX_FAILED_ATTEMPTS = 5
LOCK_MS = 15 * 60 * 1000
MAX_LOCK_MS = 24 * 60 * 60 * 1000
# Wrong PINs an hour for one address from devices it never signed in on: device ids are the
# client's to choose, so without this a new id would buy five more guesses.
MAX_NEW_DEVICE_FAILURES_PER_HOUR = 20

# Favourites from published PIN-frequency studies, beyond the repeats and runs caught below.
_FAVOURITES = frozenset(
    {
        "121212", "123123", "112233", "696969", "159753", "147258", "789456", "101010",
        "202020", "123321", "112358", "246810", "131313", "520520", "102030", "010203",
        "654321", "111222", "121314", "232323", "007007", "000007", "222333", "456789",
        "987654", "147852", "258369", "963852", "741852", "159357", "753951", "142536",
        "252525", "212121", "123654", "000123", "100200", "198700", "199000", "200000",
        "112211", "101101", "420420", "314159", "271828", "110110", "998877", "778899",
        "135790", "246802", "135246", "121121", "123456", "012345",
    }
)  # fmt: skip


class PinRefused(ValueError):  # noqa: N818 - the name is the error clients see
    """A PIN that may not be set; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _is_run(pin: str) -> bool:
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(pin)}
    return steps in ({1}, {9})


def _is_repeat(pin: str) -> bool:
    # 111111, 121212, 123123: a pattern of one, two or three digits repeated.
    return any(pin == pin[:size] * (PIN_DIGITS // size) for size in (1, 2, 3))


def check_pin(pin: str) -> str:
    """The PIN if it may be set; raise ``PinRefused`` otherwise."""
    if len(pin) != PIN_DIGITS or not (pin.isascii() and pin.isdigit()):
        raise PinRefused("INVALID_PIN", f"a PIN is exactly {PIN_DIGITS} digits")
    mirrored = pin[:3] == pin[:2:-1]  # 123321, 900009
    if pin in _FAVOURITES or _is_run(pin) or _is_repeat(pin) or mirrored:
        raise PinRefused("PIN_TOO_COMMON", "that PIN is among the most guessed; choose another")
    return pin


def is_locked(locked_until_ms: int | None, now_ms: int) -> bool:
    """Whether a PIN locked until ``locked_until_ms`` is still locked at ``now_ms``."""
    return locked_until_ms is not None and now_ms < locked_until_ms


def lock_ms(locks_before: int) -> int:
    """How long the next lock lasts after ``locks_before`` earlier ones: doubling, capped."""
    doubled: int = LOCK_MS * 2 ** min(locks_before, 16)
    return min(doubled, MAX_LOCK_MS)


def after_failure(
    failed_attempts: int, now_ms: int, locks_before: int = 0
) -> tuple[int, int | None]:
    """The failed-attempt count and lock time after one more wrong PIN.

    The count restarts once a lock is imposed, so the next lock needs five more wrong tries;
    it lasts longer for each lock before it (``locks_before``).
    """
    failed = failed_attempts + 1
    if failed >= MAX_FAILED_ATTEMPTS:
        return 0, now_ms + lock_ms(locks_before)
    return failed, None
