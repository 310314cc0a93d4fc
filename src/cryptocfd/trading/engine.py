"""The engine: ``apply(command) -> outcome``, idempotent by request id, hashable state.

Single-threaded and deterministic: time arrives with commands and ticks, order ids come from a
counter in the state, and nothing here reads a clock, the environment or a random source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from heapq import heappop, heappush
from typing import Any

from cryptocfd.trading.assets import DEFAULT_ASSETS, AssetSpec
from cryptocfd.trading.commands import (
    CancelOrder,
    ClosePosition,
    Command,
    Deposit,
    ModifyPosition,
    OpenAccount,
    PlaceOrder,
    Tick,
    Withdraw,
)
from cryptocfd.trading.decide import (
    Decision,
    cancel_order,
    close_position,
    deposit,
    modify_position,
    open_account,
    place_order,
    withdraw,
)
from cryptocfd.trading.events import Accepted, Event
from cryptocfd.trading.hashing import state_digest
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.state import AccountView, State
from cryptocfd.trading.ticks import decide_tick

Outcome = Accepted | Rejection

DAY_MS = 86_400_000

_DECIDERS: dict[type[Any], Callable[[State, Any], Decision]] = {
    OpenAccount: open_account,
    Deposit: deposit,
    Withdraw: withdraw,
    PlaceOrder: place_order,
    ModifyPosition: modify_position,
    ClosePosition: close_position,
    CancelOrder: cancel_order,
}


class Engine:
    """The trading state machine.

    ``dedupe_window_ms`` is how long a request id is remembered: a repeat within it gets the
    first outcome unchanged. Ids are forgotten in the order they arrived, by command time.
    """

    def __init__(
        self, assets: Iterable[AssetSpec] = DEFAULT_ASSETS, dedupe_window_ms: int = DAY_MS
    ) -> None:
        self.state = State(assets)
        self.dedupe_window_ms = dedupe_window_ms
        self._outcomes: dict[str, Outcome] = {}
        self._arrivals: list[tuple[int, str]] = []  # heap of (command ts, request id)

    def apply(self, command: Command | Tick) -> Outcome:
        """Carry out a command or a tick; return its events, or why it was refused."""
        if isinstance(command, Tick):
            decision = decide_tick(self.state, command)  # evolves as it decides
            if isinstance(decision, Rejection):
                return decision
            return Accepted(decision)
        request_id = command.request_id
        self._forget_before(command.ts - self.dedupe_window_ms)
        seen = self._outcomes.get(request_id)
        if seen is not None:
            return seen
        decision = _DECIDERS[type(command)](self.state, command)
        outcome: Outcome
        if isinstance(decision, Rejection):
            outcome = decision
        else:
            evolvers = self.state.evolvers
            for event in decision:
                evolvers[type(event)](event)
            outcome = Accepted(decision)
        self._remember(request_id, command.ts, outcome)
        return outcome

    def _remember(self, request_id: str, ts: int, outcome: Outcome) -> None:
        self._outcomes[request_id] = outcome
        heappush(self._arrivals, (ts, request_id))

    def _forget_before(self, horizon: int) -> None:
        """Forget request ids whose command time is before ``horizon``.

        A heap by time, not a queue by arrival: callers' clocks differ, and an id that arrived
        late with an early time must still be forgotten on time.
        """
        arrivals = self._arrivals
        while arrivals and arrivals[0][0] < horizon:
            del self._outcomes[heappop(arrivals)[1]]

    def replay(self, events: Iterable[Event]) -> None:
        """Rebuild state from events already decided (recovery after a snapshot)."""
        evolve = self.state.evolve
        for event in events:
            evolve(event)

    def account(self, account_id: int) -> AccountView | Rejection:
        """The account's balance, equity and margin figures."""
        account = self.state.accounts.get(account_id)
        if account is None:
            return Rejection(RejectCode.UNKNOWN_ACCOUNT, "no such account")
        return self.state.account_view(account)

    def state_hash(self) -> str:
        """A hex digest of the whole state, equal for equal states."""
        return state_digest(self.state, sorted(self._outcomes))
