"""Which request a request id was spent on: the rule for "same key, different request".

A client's idempotency key names one request. A retry of it must get the first answer; the
same key sent with another request (another order, another position to close) must not, or
the client would take the first request's answer for the second's (Stripe answers 409). So a
command may carry a fingerprint of what it asks, and the engine remembers the fingerprint
with the outcome (``Keyed``), in snapshots and in the log alike: a repeat whose fingerprint
differs is refused ``IDEMPOTENCY_KEY_REUSED``, whichever gateway sent it and however often the
engine restarted in between.

The fingerprint covers every field but the request id and the caller's clock (a retry is sent
later) and the fingerprint itself.
"""

from __future__ import annotations

import hashlib
from typing import TypeVar

import msgspec

from cryptocfd.trading.commands import Command
from cryptocfd.trading.events import Accepted
from cryptocfd.trading.rejections import RejectCode, Rejection

C = TypeVar("C", bound=Command)

_encode = msgspec.msgpack.Encoder().encode
_BITS = 52  # commands carry integers of at most 53 bits


class Keyed(msgspec.Struct, frozen=True, tag="keyed", gc=False, array_like=True):
    """A remembered outcome with the fingerprint of the request that produced it."""

    outcome: Accepted | Rejection
    fingerprint: int


Outcome = Accepted | Rejection
Remembered = Accepted | Rejection | Keyed

KEY_REUSED = Rejection(
    RejectCode.IDEMPOTENCY_KEY_REUSED, "this request id was already used for another request"
)


def fingerprint_of(command: Command) -> int:
    """A 52-bit digest of what ``command`` asks, the same in every process."""
    canonical = msgspec.structs.replace(command, request_id="", ts=0, fingerprint=None)
    digest = hashlib.blake2b(_encode(canonical), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> (64 - _BITS)


def fingerprinted(command: C) -> C:
    """``command`` carrying its fingerprint."""
    return msgspec.structs.replace(command, fingerprint=fingerprint_of(command))


def remembered(outcome: Outcome, fingerprint: int | None) -> Remembered:
    """What to remember of ``outcome``: with its request's fingerprint, if it had one."""
    return outcome if fingerprint is None else Keyed(outcome, fingerprint)


def recalled(seen: Remembered, fingerprint: int | None) -> Outcome:
    """The answer to a repeat carrying ``fingerprint``: the first outcome, or ``KEY_REUSED``
    if both requests carry fingerprints and they differ."""
    if not isinstance(seen, Keyed):
        return seen
    if fingerprint is None or fingerprint == seen.fingerprint:
        return seen.outcome
    return KEY_REUSED
