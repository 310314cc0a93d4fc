"""The classes of PostgreSQL's advisory locks: one per purpose, so locks never collide.

Locks are taken in the two-key form ``(class, hashtext(name))``. A one-key lock of one
purpose could share its key with another's (``hashtext`` is 32 bits, and a name such as a
sign-in email is the client's to choose); two-key locks never collide with one-key locks, nor
with another class's. (Migration 0003 takes a one-key lock of its own; it ran already.)
"""

from __future__ import annotations

SIGN_IN_LOCK = 1  # per email address: links asked for in parallel are counted one at a time
JOURNAL_LOCK = 2  # per records stream: one worker journals it at a time
CANDLES_LOCK = 3  # per asset: candle writers of the same asset take turns
