"""The engine: ``apply(command) -> outcome``, idempotent by request id, hashable state.

Single-threaded and deterministic: time arrives with commands and ticks, order ids come from a
counter in the state, and nothing here reads a clock, the environment or a random source.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, MutableMapping
from heapq import heappop, heappush
from itertools import chain, islice, repeat
from typing import Any, NamedTuple

from cryptocfd.core.assets import DEFAULT_ASSETS, AssetSpec
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import (
    CancelOrder,
    ClosePosition,
    Command,
    Deposit,
    HoldWithdrawal,
    ModifyPosition,
    OpenAccount,
    PayWithdrawal,
    PlaceOrder,
    ReleaseWithdrawal,
    ResetDemoAccount,
    SetAssetControls,
    Withdraw,
)
from cryptocfd.trading.controls import set_asset_controls
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
from cryptocfd.trading.demo import reset_demo_account
from cryptocfd.trading.events import Accepted, Event
from cryptocfd.trading.fingerprint import Keyed, Remembered, recalled, remembered
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.snapshot.columns import unpack_ints
from cryptocfd.trading.snapshot.hashing import state_digest
from cryptocfd.trading.snapshot.image import EngineImage, image_state
from cryptocfd.trading.snapshot.remembered import (
    RESTORED,
    EncodedOutcomes,
    ThawingRequests,
    image_remembered,
)
from cryptocfd.trading.snapshot.restore import restore_state
from cryptocfd.trading.state import AccountView, State
from cryptocfd.trading.ticks import decide_tick
from cryptocfd.trading.withdrawals import hold_withdrawal, pay_withdrawal, release_withdrawal

Outcome = Accepted | Rejection


class Executed(NamedTuple):
    """What ``Engine.execute`` did: the outcome, whether it was new, its events' numbers."""

    outcome: Outcome
    fresh: bool
    seqs: tuple[int, ...] | None


DAY_MS = 86_400_000

_DECIDERS: dict[type[Any], Callable[[State, Any], Decision]] = {
    OpenAccount: open_account,
    Deposit: deposit,
    Withdraw: withdraw,
    HoldWithdrawal: hold_withdrawal,
    ReleaseWithdrawal: release_withdrawal,
    PayWithdrawal: pay_withdrawal,
    PlaceOrder: place_order,
    ModifyPosition: modify_position,
    ClosePosition: close_position,
    CancelOrder: cancel_order,
    ResetDemoAccount: reset_demo_account,
    SetAssetControls: set_asset_controls,
}


class Engine:
    """The trading state machine.

    ``dedupe_window_ms`` is how long a request id is remembered: a repeat within it gets the
    first outcome unchanged (or ``IDEMPOTENCY_KEY_REUSED``, if it is another request: see
    ``trading.fingerprint``). Ids are forgotten in the order they arrived, by command time.
    """

    def __init__(
        self,
        assets: Iterable[AssetSpec] = DEFAULT_ASSETS,
        dedupe_window_ms: int = DAY_MS,
        *,
        state: State | None = None,
    ) -> None:
        self.state = State(assets) if state is None else state
        self._evolvers = self.state.evolvers
        self.dedupe_window_ms = dedupe_window_ms
        # An int is the index of an outcome restored from a snapshot and not yet decoded. A
        # plain dict, except after a restore until ``warm`` has moved every restored id in.
        self._outcomes: MutableMapping[str, Remembered | int] = {}
        self._restored: EncodedOutcomes | None = None
        self._arrival_ts: deque[int] = deque()
        self._arrival_ids: deque[str] = deque()
        self._late: list[tuple[int, str]] = []  # heap of (command ts, request id)

    def apply(self, command: Command | Tick) -> Outcome:
        """Carry out a command or a tick; return its events, or why it was refused."""
        decide = _DECIDERS.get(type(command))
        if decide is None:
            assert isinstance(command, Tick), f"not a command: {command!r}"
            decision = decide_tick(self.state, command)  # evolves as it decides
            return decision if isinstance(decision, Rejection) else Accepted(decision)
        assert not isinstance(command, Tick)
        request_id = command.request_id
        ts = command.ts
        arrival_ts = self._arrival_ts
        if (arrival_ts and arrival_ts[0] < ts - self.dedupe_window_ms) or self._late:
            self._forget_before(ts - self.dedupe_window_ms)
        outcomes = self._outcomes
        seen = outcomes.get(request_id)
        if seen is not None:
            if isinstance(seen, int):
                seen = self._recall(request_id, seen)
            return recalled(seen, command.fingerprint)
        decision = decide(self.state, command)
        outcome: Outcome
        if type(decision) is Rejection:
            outcome = decision
        else:
            assert isinstance(decision, tuple)
            evolvers = self._evolvers
            for event in decision:
                evolvers[type(event)](event)
            outcome = Accepted(decision)
        # _remember, written out: it runs on every command.
        fingerprint = command.fingerprint
        outcomes[request_id] = outcome if fingerprint is None else Keyed(outcome, fingerprint)
        if not arrival_ts or arrival_ts[-1] <= ts:
            arrival_ts.append(ts)
            self._arrival_ids.append(request_id)
        else:
            heappush(self._late, (ts, request_id))
        return outcome

    def _recall(self, request_id: str, index: int) -> Remembered:
        """Decode a restored outcome the first time a repeat asks for it."""
        assert self._restored is not None
        outcome = self._outcomes[request_id] = self._restored.decode(index)
        return outcome

    def _remember(self, request_id: str, ts: int, outcome: Remembered) -> None:
        self._outcomes[request_id] = outcome
        arrival_ts = self._arrival_ts
        if not arrival_ts or arrival_ts[-1] <= ts:
            # In time order, as nearly every request is: two deque appends, no tuple.
            arrival_ts.append(ts)
            self._arrival_ids.append(request_id)
        else:
            heappush(self._late, (ts, request_id))

    def _forget_before(self, horizon: int) -> None:
        """Forget request ids whose command time is before ``horizon``.

        Ids are kept in two time-ordered places: queues for those that arrived in time order,
        and a heap for the few whose callers' clocks ran behind, so every id is forgotten on
        its own time, whatever order it arrived in.
        """
        arrival_ts = self._arrival_ts
        while arrival_ts and arrival_ts[0] < horizon:
            arrival_ts.popleft()
            del self._outcomes[self._arrival_ids.popleft()]
        late = self._late
        while late and late[0][0] < horizon:
            del self._outcomes[heappop(late)[1]]

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

    def image(self) -> EngineImage:
        """The whole state as columns, for a snapshot (everything still cold is thawed)."""
        while not self.warm(1 << 30, 1 << 30):
            pass
        arrivals = sorted([*zip(self._arrival_ts, self._arrival_ids, strict=True), *self._late])
        return image_state(self.state, image_remembered(arrivals, self._outcomes, self._restored))

    @classmethod
    def from_image(
        cls,
        image: EngineImage,
        assets: Iterable[AssetSpec] = DEFAULT_ASSETS,
        dedupe_window_ms: int = DAY_MS,
    ) -> Engine:
        """An engine in the state an image describes."""
        engine = cls((), dedupe_window_ms, state=restore_state(image, assets))
        remembered = image.remembered
        # In arrival order, which is time order: they all queue, none is late.
        count = len(remembered.ids) and len(unpack_ints(remembered.id_ends))
        engine._arrival_ts = deque(unpack_ints(remembered.ts))
        engine._arrival_ids = deque(repeat(RESTORED, count))
        engine._restored = EncodedOutcomes.of(remembered)
        if count:
            requests = ThawingRequests(remembered)
            requests.on_warm = engine._settle_requests
            engine._outcomes = requests
        return engine

    def _settle_requests(self, outcomes: dict[str, Remembered | int], ids: list[str]) -> None:
        """Take the plain dict back, and queue the restored ids still remembered by name."""
        queued = self._arrival_ids
        assert not ids or (queued[len(ids) - 1] is RESTORED and queued[0] is RESTORED)
        self._arrival_ids = deque(chain(ids, islice(queued, len(ids), None)))
        self._outcomes = outcomes

    def warm(self, accounts: int = 128, requests: int = 8_192) -> bool:
        """Thaw a slice of what a restore left cold; whether nothing is left cold.

        The engine is correct throughout; it is only slower until this has returned true.
        """
        done = True
        cold = self.state.cold
        if cold is not None:
            done = cold.warm(accounts)
        outcomes = self._outcomes
        if isinstance(outcomes, ThawingRequests):
            done = outcomes.warm(requests) and done
        return done

    def remember(
        self, request_id: str, ts: int, outcome: Outcome, fingerprint: int | None = None
    ) -> None:
        """Record a request's outcome decided elsewhere (replaying the log after a snapshot),
        with the fingerprint its command carried."""
        if request_id not in self._outcomes:
            self._remember(request_id, ts, remembered(outcome, fingerprint))

    def execute(self, command: Command | Tick) -> Executed:
        """``apply`` a command or tick; whether it was new (not a repeat answered from memory:
        an id remembered past its window is forgotten first, so its repeat is new again); and
        the numbers of a new outcome's order events (``order_seqs``), in the one call."""
        if isinstance(command, Tick):
            outcome = self.apply(command)
            return Executed(outcome, fresh=True, seqs=self.order_seqs(outcome))
        self.expire_requests(command.ts)
        fresh = command.request_id not in self._outcomes
        outcome = self.apply(command)
        return Executed(outcome, fresh, self.order_seqs(outcome) if fresh else None)

    def expire_requests(self, ts: int) -> None:
        """Forget what a command at ``ts`` would forget first (``apply`` does this itself)."""
        self._forget_before(ts - self.dedupe_window_ms)

    def remembers(self, request_id: str) -> bool:
        """Whether a command with this request id would get a remembered outcome."""
        return request_id in self._outcomes

    def order_seqs(self, outcome: Outcome) -> tuple[int, ...] | None:
        """For an outcome just applied, each event's number on its account's ``orders``
        channel (0 for one that is not an order event); ``None`` if it has no order event."""
        return self.state.seqs_after(outcome.events) if type(outcome) is Accepted else None

    def state_hash(self) -> str:
        """A hex digest of the whole state, equal for equal states."""
        return state_digest(self.state, sorted(self._outcomes))
