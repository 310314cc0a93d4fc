"""A Hypothesis state machine over every command and tick, checking the engine's invariants.

After every step: money is conserved to the cent, margins add up, the account figures agree
with the positions, cash only shrinks where the rules let it, and (after every accepted tick)
no position of the ticked asset is left at or past any of its exits. Every few steps and at the
end, replaying the commands, or the events, into a fresh engine rebuilds the same state.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from msgspec import UNSET

from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.core.money import BPS, Bps, Cents, PriceTicks, QtyUnits
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import (
    Command,
    Deposit,
    HoldWithdrawal,
    OpenAccount,
    PayWithdrawal,
    PlaceOrder,
    ResetDemoAccount,
    Withdraw,
)
from cryptocfd.trading.demo import DEMO_BALANCE_CENTS
from cryptocfd.trading.engine import Engine, Outcome
from cryptocfd.trading.events import (
    ORDER_EVENTS,
    Event,
    FundsDeposited,
    FundsWithdrawn,
    OrderPlaced,
    PositionClosed,
    PositionModified,
    PositionOpened,
    QuoteUpdated,
    WithdrawalPaid,
)
from cryptocfd.trading.rejections import Rejection
from cryptocfd.trading.snapshot.hashing import state_digest
from cryptocfd.trading.state import AccountView
from tests.unit.trading.random_steps import (
    SPECS,
    START_MIDS,
    Snapshot,
    World,
    draw_cancel,
    draw_close,
    draw_deposit,
    draw_hold,
    draw_modify,
    draw_open_account,
    draw_place_order,
    draw_reset,
    draw_settle,
    draw_tick,
    draw_withdraw,
    rarely,
)
from tests.unit.trading.reference import margin_held

EXAMPLES = int(os.environ.get("CRYPTOCFD_HYPOTHESIS_EXAMPLES", "200"))
STEPS = int(os.environ.get("CRYPTOCFD_HYPOTHESIS_STEPS", "50"))
REPLAY_EVERY = 10


def divisor(asset: str) -> int:
    """``D = 10^(price_decimals + 6)``, from the doc rather than the engine."""
    return int(10 ** (SPECS[asset].price_decimals + 6))


def capped_pnl(long: bool, open_price: int, close: int, qty: int, margin: int, d: int) -> int:
    move = close - open_price if long else open_price - close
    return max(move * qty // d, -margin)


class EngineMachine(RuleBasedStateMachine):
    """Drives one engine with random commands and ticks; the test keeps its own books."""

    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine(assets=DEFAULT_ASSETS)
        self.world = World()
        self.applied: list[Command | Tick] = []
        self.events: list[Event] = []
        self.first_outcomes: dict[str, Outcome] = {}
        self.net_deposits = 0  # what this test deposited (opening balances too) minus withdrew
        self.order_events: dict[int, int] = {}  # account id -> how many order events it had
        self.quotes: dict[str, tuple[int, int, int, int]] = {}  # bid, ask, mark, ts
        self.extremes: dict[int, int] = {}  # each armed trailing stop's own peak or trough
        self.position_of: dict[int, tuple[str, bool]] = {}  # order id -> (asset, long)
        # ``balance - used_margin`` per account after the last step.
        self.slack: dict[int, int] = {}
        self.steps = 0

    # -- driving ----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        state = self.engine.state
        return Snapshot(
            quotes={asset: (q[0], q[1], q[3]) for asset, q in self.quotes.items()},
            positions=[(p.id, p.account_id, p.asset, p.long) for p in state.positions.values()],
            pending=[(o.id, o.account_id) for o in state.pending.values()],
            balances={a.id: a.balance for a in state.accounts.values()},
            next_order_id=state.next_order_id,
            withdrawals=[(i, h.account_id) for i, h in sorted(state.withdrawals.items())],
        )

    def view(self, account_id: int) -> AccountView:
        got = self.engine.account(account_id)
        assert isinstance(got, AccountView), got
        return got

    def run(self, command: Command | Tick) -> Outcome:
        """Apply one step, check what it must (and must not) have changed, and track it."""
        state = self.engine.state
        before = {account_id: self.view(account_id) for account_id in state.accounts}
        reserved = {i: (o.margin, o.quantity, o.leverage) for i, o in state.pending.items()}
        digest_before = state_digest(state, [])
        repeat = not isinstance(command, Tick) and command.request_id in self.first_outcomes
        outcome = self.engine.apply(command)
        self.applied.append(command)
        if repeat:
            assert not isinstance(command, Tick)
            # A repeated request id gets the first outcome, unchanged, and changes nothing.
            assert outcome == self.first_outcomes[command.request_id]
            assert state_digest(state, []) == digest_before
            return outcome
        if not isinstance(command, Tick):
            self.first_outcomes[command.request_id] = outcome
        if isinstance(outcome, Rejection):
            assert state_digest(state, []) == digest_before, "a rejection changed the state"
            return outcome
        self.events.extend(outcome.events)
        self.track(outcome.events)
        self.check_seqs(outcome.events, self.engine.order_seqs(outcome))
        if isinstance(command, OpenAccount):
            self.net_deposits += command.balance
            self.slack[command.account_id] = command.balance
        elif isinstance(command, Deposit):
            self.net_deposits += command.amount
        elif isinstance(command, Withdraw):
            self.net_deposits -= command.amount
        elif isinstance(command, PayWithdrawal):
            (paid,) = outcome.events
            assert isinstance(paid, WithdrawalPaid)
            self.net_deposits -= paid.amount
        elif isinstance(command, ResetDemoAccount):
            for event in outcome.events:
                if isinstance(event, FundsDeposited):
                    self.net_deposits += event.amount
                elif isinstance(event, FundsWithdrawn):
                    self.net_deposits -= event.amount
        self.check_slack(command, outcome.events, before, reserved)
        if isinstance(command, Tick) and isinstance(outcome.events[0], QuoteUpdated):
            self.check_no_exit_left_behind(command.asset)
        return outcome

    def check_seqs(self, events: tuple[Event, ...], seqs: tuple[int, ...] | None) -> None:
        """Each order event is its account's next number, one after the last, without gaps."""
        if seqs is None:
            assert not any(isinstance(event, ORDER_EVENTS) for event in events)
            return
        assert len(seqs) == len(events)
        for event, seq in zip(events, seqs, strict=True):
            if isinstance(event, ORDER_EVENTS):
                count = self.order_events[event.account_id] = (
                    self.order_events.get(event.account_id, 0) + 1
                )
                assert seq == count, (event, seq, count)
            else:
                assert seq == 0, event

    def track(self, events: tuple[Event, ...]) -> None:
        """Follow quotes and every trailing stop's peak from the events alone."""
        for event in events:
            if isinstance(event, QuoteUpdated):
                self.quotes[event.asset] = (event.bid, event.ask, event.mark, event.ts)
                for order_id, extreme in self.extremes.items():
                    asset, long = self.position_of[order_id]
                    if asset == event.asset:
                        self.extremes[order_id] = (
                            max(extreme, event.bid) if long else min(extreme, event.ask)
                        )
            elif isinstance(event, PositionOpened):
                long = event.side == "long"
                self.position_of[event.order_id] = (event.asset, long)
                if event.trailing_distance is not None:
                    bid, ask, _, _ = self.quotes[event.asset]
                    self.extremes[event.order_id] = bid if long else ask
            elif isinstance(event, PositionModified):
                asset, long = self.position_of[event.order_id]
                if event.rearm_trailing:
                    bid, ask, _, _ = self.quotes[asset]
                    self.extremes[event.order_id] = bid if long else ask
                elif event.trailing_distance is None:
                    self.extremes.pop(event.order_id, None)
            elif isinstance(event, PositionClosed) and event.remaining_quantity == 0:
                self.extremes.pop(event.order_id, None)
                del self.position_of[event.order_id]

    def check_slack(
        self,
        command: Command | Tick,
        events: tuple[Event, ...],
        before: dict[int, AccountView],
        reserved: dict[int, tuple[Cents, QtyUnits | None, int]],
    ) -> None:
        """Cash less used margin and withdrawal holds only shrinks where it was checked against
        free margin, and never below zero.

        Opening or placing an order reserves ``margin <= free margin = balance + min(0,
        unrealized PnL) - used margin``, and a withdrawal takes ``amount <= free margin``, so
        right after either ``balance - used`` is still at least 0 (and at least the unrealized
        loss). Everything else can only raise ``balance - used``: deposits add cash; cancels,
        expiries and rejected fills release margin; a fill moves reserved margin onto the
        position; and a close credits ``pnl >= -margin released`` (negative balance
        protection) while releasing that margin. A demo reset sets ``balance - used`` to the
        demo balance exactly. Hence ``balance >= used margin >= 0`` always. An order sized by
        quantity reserves the margin its event says (worked out at the price); an entry sized by
        quantity that fills at another price posts the margin at that price, any increase taken
        from free margin. A hold takes ``amount <= free margin``; a release gives it back, and a
        payment takes the held cents out of the balance, which leaves the slack as it was.
        """
        state = self.engine.state
        reserver, taken = None, 0
        if isinstance(command, PlaceOrder):
            (opened,) = events
            assert isinstance(opened, PositionOpened | OrderPlaced)
            if command.quantity is not UNSET:
                at = opened.open_price if isinstance(opened, PositionOpened) else opened.price
                spec = SPECS[command.asset]
                assert opened.quantity == command.quantity
                assert opened.margin == margin_held(command.quantity, at, command.leverage, spec)
            reserver, taken = command.account_id, opened.margin
        elif isinstance(command, Withdraw | HoldWithdrawal):
            reserver, taken = command.account_id, command.amount
        filled = self.fills_taken(events, reserved)
        for account_id, account in state.accounts.items():
            held = sum(
                (h.amount for h in state.withdrawals.values() if h.account_id == account_id),
                Cents(0),
            )
            assert account.held == held
            slack = account.balance - account.used_margin - held
            assert slack >= 0, f"account {account_id}: balance {account.balance} < used margin"
            if account_id not in before:
                assert slack == self.slack[account_id]
                continue
            if isinstance(command, ResetDemoAccount) and account_id == command.account_id:
                # A reset releases every margin and sets the cash to the demo balance.
                assert (account.balance, account.used_margin) == (DEMO_BALANCE_CENTS, 0)
                self.slack[account_id] = slack
                continue
            if account_id == reserver:
                upnl = before[account_id].unrealized_pnl
                assert slack == self.slack[account_id] - taken
                assert slack >= -min(0, upnl), "reserved more than the free margin"
            else:
                assert slack >= self.slack[account_id] - filled.get(account_id, 0), (
                    f"account {account_id}: balance - used margin fell from "
                    f"{self.slack[account_id]} to {slack} on {command!r}"
                )
            self.slack[account_id] = slack

    def fills_taken(
        self, events: tuple[Event, ...], reserved: dict[int, tuple[Cents, QtyUnits | None, int]]
    ) -> dict[int, int]:
        """What the fills of entries sized by quantity took beyond their reservation, by
        account; each posts the margin of its quantity at its fill's price."""
        taken: dict[int, int] = {}
        for event in events:
            if not isinstance(event, PositionOpened) or event.order_id not in reserved:
                continue
            margin, quantity, leverage = reserved[event.order_id]
            if quantity is None:
                assert event.margin == margin
                continue
            spec = SPECS[event.asset]
            assert event.margin == margin_held(quantity, event.open_price, leverage, spec)
            more = event.margin - margin
            taken[event.account_id] = taken.get(event.account_id, 0) + max(0, more)
        return taken

    def check_no_exit_left_behind(self, asset: str) -> None:
        """After an accepted tick no position of its asset is at or past any of its exits."""
        bid, ask, mark, _ = self.quotes[asset]
        for pos in self.engine.state.positions.values():
            if pos.asset != asset:
                continue
            extreme = self.extremes.get(pos.id)
            if pos.long:
                assert mark > pos.liquidation_price, pos
                assert pos.stop_loss is None or bid > pos.stop_loss, pos
                assert pos.take_profit is None or bid < pos.take_profit, pos
                if pos.trailing_distance is not None:
                    assert extreme is not None
                    assert bid > extreme - pos.trailing_distance, (pos, extreme)
            else:
                assert mark < pos.liquidation_price, pos
                assert pos.stop_loss is None or ask < pos.stop_loss, pos
                assert pos.take_profit is None or ask > pos.take_profit, pos
                if pos.trailing_distance is not None:
                    assert extreme is not None
                    assert ask < extreme + pos.trailing_distance, (pos, extreme)

    def check_replays(self) -> None:
        """The same commands, or the same events, rebuild the same state in a fresh engine."""
        again = Engine(assets=DEFAULT_ASSETS)
        for command in self.applied:
            again.apply(command)
        assert again.state_hash() == self.engine.state_hash()
        rebuilt = Engine(assets=DEFAULT_ASSETS)
        rebuilt.replay(self.events)
        # The events carry no request ids, so compare the states without remembered ids.
        assert state_digest(rebuilt.state, []) == state_digest(self.engine.state, [])

    # -- rules ------------------------------------------------------------------------------

    @initialize(balances=st.lists(st.integers(0, 5_000), min_size=2, max_size=2))
    def open_accounts_and_quote(self, balances: list[int]) -> None:
        for account_id, thousands in zip((1, 2), balances, strict=True):
            request_id = self.world.fresh_request_id()
            self.run(OpenAccount(request_id, self.world.now, account_id, Cents(thousands * 1_000)))
        for asset in ("BTC", "SOL"):
            mid = START_MIDS[asset]
            self.run(
                Tick(
                    asset,
                    PriceTicks(mid - mid // 5_000),
                    PriceTicks(mid + mid // 5_000),
                    self.world.now,
                )
            )

    @rule(data=st.data())
    def feed(self, data: st.DataObject) -> None:
        """A few ticks; now and then time runs past the staleness limit first."""
        if rarely(data, 8):
            self.world.now += data.draw(st.integers(10_001, 30_000))
        for _ in range(data.draw(st.integers(1, 3))):
            self.world.now += data.draw(st.integers(0, 2_000))
            self.run(draw_tick(data, self.world, self.snapshot()))

    @rule(data=st.data())
    def trade(self, data: st.DataObject) -> None:
        for _ in range(data.draw(st.integers(1, 2))):
            self.run(draw_place_order(data, self.world, self.snapshot()))

    @precondition(lambda self: bool(self.engine.state.positions or self.engine.state.pending))
    @rule(data=st.data())
    def manage(self, data: st.DataObject) -> None:
        """Modify, close or cancel, mostly an order that exists."""
        choice = data.draw(st.integers(0, 4))
        if choice < 2:
            self.run(draw_modify(data, self.world, self.snapshot()))
        elif choice < 4:
            self.run(draw_close(data, self.world, self.snapshot()))
        else:
            self.run(draw_cancel(data, self.world, self.snapshot()))

    @rule(data=st.data())
    def move_cash(self, data: st.DataObject) -> None:
        choice = data.draw(st.integers(0, 8))
        if choice < 2:
            self.run(draw_deposit(data, self.world, self.snapshot()))
        elif choice < 4:
            self.run(draw_withdraw(data, self.world, self.snapshot()))
        elif choice < 6:
            self.run(draw_hold(data, self.world, self.snapshot()))
        elif choice < 8:
            self.run(draw_settle(data, self.world, self.snapshot()))
        else:
            self.run(draw_open_account(data, self.world))

    @rule(data=st.data())
    def reset_a_demo_account(self, data: st.DataObject) -> None:
        self.run(draw_reset(data, self.world, self.snapshot()))

    @rule(data=st.data())
    def repeat_a_request(self, data: st.DataObject) -> None:
        commands = [c for c in self.applied if not isinstance(c, Tick)]
        if commands:
            self.run(data.draw(st.sampled_from(commands)))

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def money_is_conserved_to_the_cent(self) -> None:
        state = self.engine.state
        balances = sum((account.balance for account in state.accounts.values()), Cents(0))
        assert balances + state.house_balance == state.deposited == self.net_deposits

    @invariant()
    def margins_and_figures_add_up(self) -> None:
        state = self.engine.state
        assert not set(state.positions) & set(state.pending), "an id is both open and pending"
        assert all(i < state.next_order_id for i in (*state.positions, *state.pending))
        for account_id, account in state.accounts.items():
            positions = [p for p in state.positions.values() if p.account_id == account_id]
            pending = [o for o in state.pending.values() if o.account_id == account_id]
            used = sum((p.margin for p in positions), Cents(0)) + sum(
                (o.margin for o in pending), Cents(0)
            )
            upnl = 0
            for p in positions:
                bid, ask, _, _ = self.quotes[p.asset]
                close = bid if p.long else ask
                d = divisor(p.asset)
                upnl += capped_pnl(p.long, p.open_price, close, p.quantity, p.margin, d)
            equity = account.balance + upnl
            held = sum(
                (h.amount for h in state.withdrawals.values() if h.account_id == account_id),
                Cents(0),
            )
            assert self.view(account_id) == AccountView(
                account_id=account_id,
                balance=account.balance,
                equity=Cents(equity),
                used_margin=Cents(used),
                free_margin=Cents(account.balance + min(0, upnl) - used - held),
                margin_level_bps=Bps(equity * BPS // used) if used else None,
                unrealized_pnl=Cents(upnl),
                seq=self.order_events.get(account_id, 0),
                withdrawals_held=Cents(held),
            )
            assert account.used_margin == used
            assert used >= 0
            # Cash covers every margin in use and every hold, so no balance is ever negative
            # and every hold can be paid.
            assert account.balance >= used + held >= 0

    @invariant()
    def trailing_stops_are_tracked(self) -> None:
        positions = self.engine.state.positions.values()
        armed = {p.id for p in positions if p.trailing_distance is not None}
        assert armed == set(self.extremes)

    @invariant()
    def replaying_rebuilds_the_same_state(self) -> None:
        self.steps += 1
        if self.steps % REPLAY_EVERY == 0:
            self.check_replays()

    def teardown(self) -> None:
        self.check_replays()


@pytest.mark.slow
def test_engine_when_driven_by_any_commands_and_ticks_keeps_every_invariant() -> None:
    run_state_machine_as_test(
        EngineMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
