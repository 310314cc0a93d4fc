"""The recent order events this gateway followed, per account, for ``resume`` to replay.

Every gateway follows the whole record stream, so every gateway holds the same recent events,
numbered by the engine (each account's ``seq``, without gaps): a client may resume on any of
them. What a gateway holds is bounded twice: ``frames`` events in all (the oldest go first,
whoever's they are) and ``per_account`` of each account. An account's held events are always
consecutive numbers: one that does not follow the newest held (the gateway missed records)
starts the account's window again from it, so "held from ``a`` to ``b``" proves every event
between was seen, and ``after`` can tell a replay that is whole from one that is not.
"""

from __future__ import annotations

from collections import deque

from cryptocfd.trading.events import OrderEvent

FRAMES = 100_000  # held in all, across accounts (``CRYPTOCFD_WS_RESUME_FRAMES``)
# Held of one account (``CRYPTOCFD_WS_RESUME_PER_ACCOUNT``): at most half a socket's queue
# (``live.MAX_QUEUED_EVENTS``), so a whole replay never makes its client look too slow.
PER_ACCOUNT = 500


class OrderWindow:
    """Each account's newest order events with their numbers, within two bounds."""

    def __init__(self, frames: int = FRAMES, per_account: int = PER_ACCOUNT) -> None:
        self.frames = frames
        self.per_account = per_account
        self.accounts: dict[int, deque[tuple[int, OrderEvent]]] = {}
        # Which event came when, as (account, seq), oldest first: the global bound evicts
        # from here. An entry may outlive its event (gone by the per-account bound, or by a
        # fresh start after a gap); evicting it then removes nothing newer than its own seq,
        # so a burst that passed its account's bound never costs the account its newer events.
        self.arrivals: deque[tuple[int, int]] = deque()

    def add(self, account_id: int, seq: int, event: OrderEvent) -> None:
        """Hold ``event``, number ``seq`` of ``account_id``."""
        held = self.accounts.get(account_id)
        if held is None:
            held = self.accounts[account_id] = deque()
        elif held[-1][0] != seq - 1:
            held.clear()  # not the next number: what is held no longer leads up to it
        held.append((seq, event))
        if len(held) > self.per_account:
            held.popleft()
        arrivals = self.arrivals
        arrivals.append((account_id, seq))
        if len(arrivals) > self.frames:
            self._evict(*arrivals.popleft())

    def _evict(self, account_id: int, seq: int) -> None:
        """Forget the account's events numbered up to ``seq`` (its own, if still held)."""
        held = self.accounts.get(account_id)
        if held is None:
            return
        while held and held[0][0] <= seq:
            held.popleft()
        if not held:
            del self.accounts[account_id]

    def newest(self, account_id: int) -> int | None:
        """The number of the account's newest held event; ``None`` if none is held."""
        held = self.accounts.get(account_id)
        return held[-1][0] if held else None

    def after(self, account_id: int, since: int) -> list[tuple[int, OrderEvent]] | None:
        """Every held event of the account numbered above ``since``, oldest first, if the
        window holds every one of them up to its newest; ``None`` if some fell out of it or
        were never seen here (``since`` below the oldest held but one), or none is held."""
        held = self.accounts.get(account_id)
        if not held or held[0][0] > since + 1 or since > held[-1][0]:
            return None
        skip = since + 1 - held[0][0]
        return [held[index] for index in range(skip, len(held))]
