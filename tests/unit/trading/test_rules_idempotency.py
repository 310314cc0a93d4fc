"""Idempotency: a repeated request id returns the first outcome, accepted or rejected,
unchanged, and changes nothing."""

from __future__ import annotations

import msgspec
import pytest

from cryptocfd.core.money import Cents
from cryptocfd.trading.commands import ClosePosition, Command, OpenAccount
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import Accepted, PositionClosed, PositionOpened
from cryptocfd.trading.fingerprint import fingerprint_of, fingerprinted
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.snapshot.image import EngineImage
from tests.unit.trading.builders import (
    LIMIT,
    LONG,
    SHORT,
    T0,
    TEST_ASSETS,
    cancel,
    close,
    code_of,
    deposit,
    events_of,
    make_engine,
    modify,
    only,
    open_position,
    order,
    place_pending,
    rid,
    tick,
    view,
    withdraw,
)


def _engine_with_a_position_and_an_entry() -> Engine:
    engine = make_engine(bid=1000, balance=100_000)
    open_position(engine, LONG, take_profit=1100)  # id 1
    place_pending(engine, SHORT, LIMIT, 1050)  # id 2
    return engine


def _commands() -> list[tuple[str, Command]]:
    return [
        ("open account", OpenAccount(rid(), T0, 9, Cents(5_000))),
        ("deposit", deposit(1_000)),
        ("withdraw", withdraw(1_000)),
        ("market order", order(SHORT)),
        ("pending order", order(LONG, order_type=LIMIT, price=950)),
        ("modify", modify(1, take_profit=1200)),
        ("partial close", close(1, 5_000)),
        ("close", close(1)),
        ("cancel", cancel(2)),
        ("rejected order", order(LONG, margin=0)),
        ("rejected close", close(99)),
    ]


@pytest.mark.parametrize(("name", "index"), [(name, i) for i, (name, _) in enumerate(_commands())])
def test_apply_when_request_id_repeats_returns_the_first_outcome_and_changes_nothing(
    name: str, index: int
) -> None:
    engine = _engine_with_a_position_and_an_entry()
    command = _commands()[index][1]
    first = engine.apply(command)
    after_first = engine.state_hash()
    figures = view(engine)

    again = engine.apply(command)

    assert again == first, name
    assert again is first
    assert engine.state_hash() == after_first
    assert view(engine) == figures


def test_apply_when_rejected_request_repeats_after_the_cause_is_fixed_stays_rejected() -> None:
    # PRICE_STALE first; a fresh tick would let the same command through, but the request id
    # has already been answered.
    engine = make_engine(bid=1000)
    command = order(LONG, ts=T0 + 20_000)
    first = engine.apply(command)
    assert code_of(first) == RejectCode.PRICE_STALE

    events_of(tick(engine, 1000, ts=T0 + 20_000))
    before = engine.state_hash()
    again = engine.apply(command)

    assert again == first
    assert isinstance(again, Rejection)
    assert engine.state.positions == {}
    assert engine.state_hash() == before


def test_apply_when_same_request_id_carries_a_different_command_returns_the_first_outcome() -> None:
    engine = make_engine(bid=None, balance=1_000)
    first = engine.apply(msgspec.structs.replace(deposit(700), request_id="dup"))
    assert isinstance(first, Accepted)

    replayed = engine.apply(msgspec.structs.replace(withdraw(1_000), request_id="dup"))

    assert replayed is first
    assert view(engine).balance == 1_700


def test_apply_when_close_repeats_does_not_answer_order_not_found() -> None:
    engine = make_engine(bid=1000, balance=50_000)
    opened = open_position(engine, LONG)
    events_of(tick(engine, 1010))
    command = close(opened.order_id)

    first = only(engine.apply(command), PositionClosed)
    again = only(engine.apply(command), PositionClosed)

    assert again == first
    assert view(engine).balance == 51_000


def test_apply_when_repeat_is_within_the_dedupe_window_returns_the_first_outcome() -> None:
    engine = make_engine(bid=None, balance=1_000, dedupe_window_ms=1_000)
    command = deposit(100, ts=T0)
    first = engine.apply(command)
    events_of(engine.apply(deposit(1, ts=T0 + 1_000)))  # exactly the window later

    assert engine.apply(command) is first
    assert view(engine).balance == 1_101


def test_apply_when_request_id_has_left_the_dedupe_window_decides_it_afresh() -> None:
    # A later command more than the window after it makes the engine forget the id.
    engine = make_engine(bid=None, balance=1_000, dedupe_window_ms=1_000)
    command = deposit(100, ts=T0)
    events_of(engine.apply(command))
    events_of(engine.apply(deposit(1, ts=T0 + 1_001)))

    again = engine.apply(msgspec.structs.replace(command, ts=T0 + 1_002))

    assert isinstance(again, Accepted)
    assert view(engine).balance == 1_201


# -- the same id on another request -----------------------------------------------------------


def _keyed(command: ClosePosition) -> ClosePosition:
    return msgspec.structs.replace(command, request_id="key")


def test_apply_when_fingerprinted_id_repeats_with_another_request_rejects_key_reused() -> None:
    engine = make_engine(bid=1000, balance=100_000)
    first = fingerprinted(order(LONG, request_id="key"))
    other = fingerprinted(order(LONG, 20_000, request_id="key"))
    opened = only(engine.apply(first), PositionOpened)
    hash_before = engine.state_hash()

    outcome = engine.apply(other)

    assert code_of(outcome) == RejectCode.IDEMPOTENCY_KEY_REUSED
    assert engine.state_hash() == hash_before
    assert list(engine.state.positions) == [opened.order_id]
    assert view(engine).used_margin == 10_000


def test_apply_when_fingerprinted_retry_is_sent_later_returns_the_first_outcome() -> None:
    # A retry is the same request sent later: the caller's clock is not part of it.
    engine = make_engine(bid=1000, balance=100_000)
    open_position(engine, LONG)
    closed = engine.apply(fingerprinted(_keyed(close(1))))

    again = engine.apply(fingerprinted(_keyed(close(1, ts=T0 + 5_000))))

    assert again == closed
    assert only(again, PositionClosed).order_id == 1


def test_apply_when_key_reused_after_a_snapshot_still_rejects_key_reused() -> None:
    engine = make_engine(bid=1000, balance=100_000)
    engine.apply(fingerprinted(order(LONG, request_id="key")))
    restored = Engine.from_image(
        msgspec.msgpack.decode(msgspec.msgpack.encode(engine.image()), type=EngineImage),
        TEST_ASSETS,
    )

    other = restored.apply(fingerprinted(order(SHORT, request_id="key")))
    same = restored.apply(fingerprinted(order(LONG, request_id="key")))

    assert code_of(other) == RejectCode.IDEMPOTENCY_KEY_REUSED
    assert only(same, PositionOpened).order_id == 1


def test_fingerprint_when_commands_differ_only_in_id_and_clock_is_the_same() -> None:
    base = order(LONG, take_profit=1100)

    later = msgspec.structs.replace(base, request_id="other", ts=T0 + 1)

    assert fingerprint_of(base) == fingerprint_of(later)
    assert fingerprint_of(base) != fingerprint_of(order(LONG, take_profit=1101))
    assert fingerprint_of(close(1)) != fingerprint_of(cancel(1))
    assert 0 <= fingerprint_of(base) < 2**52
