"""Determinism: the same inputs give the same outcomes and the same state hash, and replaying
the events rebuilds the same state."""

from __future__ import annotations

from cryptocfd.core.money import Cents, PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import Command, OpenAccount
from cryptocfd.trading.engine import Engine, Outcome
from cryptocfd.trading.events import Accepted, Event
from cryptocfd.trading.snapshot.hashing import state_digest
from tests.unit.trading.builders import (
    LIMIT,
    LONG,
    SHORT,
    STOP,
    T0,
    TEST_ASSETS,
    cancel,
    close,
    deposit,
    modify,
    order,
    withdraw,
)


def _script() -> list[Command | Tick]:
    """A day in the life: accounts, quotes on two assets, every kind of order and exit."""
    return [
        OpenAccount("a1", T0, 1, Cents(200_000)),
        OpenAccount("a2", T0, 2, Cents(200_000)),
        Tick("TST", PriceTicks(1000), PriceTicks(1000), T0),
        Tick("BTC", PriceTicks(6_000_000), PriceTicks(6_001_000), T0),
        order(LONG, take_profit=1040, trailing_distance=25, request_id="o1"),
        order(SHORT, 10_000, 20, account_id=2, stop_loss=1020, request_id="o2"),
        order(LONG, 50_000, 50, asset="BTC", request_id="o3"),
        order(LONG, order_type=LIMIT, price=985, expires_at=T0 + 5_000, request_id="o4"),
        order(SHORT, order_type=STOP, price=990, account_id=2, request_id="o5"),
        order(LONG, order_type=LIMIT, price=900, request_id="o6"),
        Tick("TST", PriceTicks(1012), PriceTicks(1014), T0 + 1_000),
        modify(1, stop_loss=1000, ts=T0 + 1_000),
        Tick("TST", PriceTicks(984), PriceTicks(986), T0 + 2_000),
        close(3, 4_000, ts=T0 + 2_000),
        cancel(6, ts=T0 + 2_000),
        Tick("BTC", PriceTicks(5_900_000), PriceTicks(5_901_000), T0 + 3_000),
        Tick("TST", PriceTicks(1031), PriceTicks(1033), T0 + 4_000),
        deposit(5_000, account_id=2, ts=T0 + 4_000),
        withdraw(1_000, ts=T0 + 4_000),
        Tick("TST", PriceTicks(1100), PriceTicks(1100), T0 + 6_000),
        Tick("TST", PriceTicks(1020), PriceTicks(1022), T0 + 7_000),
    ]


def _run(script: list[Command | Tick]) -> tuple[Engine, list[Outcome]]:
    engine = Engine(assets=TEST_ASSETS)
    return engine, [engine.apply(command) for command in script]


def test_engine_when_given_the_same_inputs_twice_reaches_the_same_state_hash() -> None:
    script = _script()

    first, first_outcomes = _run(script)
    second, second_outcomes = _run(script)

    assert first_outcomes == second_outcomes
    assert first.state_hash() == second.state_hash()
    assert sum(isinstance(o, Accepted) for o in first_outcomes) == len(script)


def test_engine_when_inputs_differ_in_one_price_reaches_a_different_state_hash() -> None:
    script = _script()
    changed = [*script[:-1], Tick("TST", PriceTicks(1020), PriceTicks(1023), T0 + 7_000)]

    assert _run(script)[0].state_hash() != _run(changed)[0].state_hash()


def test_engine_when_events_are_replayed_into_a_fresh_engine_rebuilds_the_same_state() -> None:
    engine, outcomes = _run(_script())
    events: list[Event] = [e for o in outcomes if isinstance(o, Accepted) for e in o.events]

    fresh = Engine(assets=TEST_ASSETS)
    fresh.replay(events)

    assert state_digest(fresh.state, []) == state_digest(engine.state, [])
    assert fresh.state.house_balance == engine.state.house_balance
    assert fresh.state.next_order_id == engine.state.next_order_id


def test_state_hash_when_only_reading_the_engine_does_not_change() -> None:
    engine, _ = _run(_script())
    before = engine.state_hash()

    engine.account(1)
    engine.account(2)

    assert engine.state_hash() == before
