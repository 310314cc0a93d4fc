"""An engine rebuilt from its image hashes equal and behaves identically from then on."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptocfd.core.assets import DEFAULT_ASSETS, AssetSpec
from cryptocfd.core.money import Cents, PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import OpenAccount
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.snapshot.image import EngineImage
from cryptocfd.trading.snapshot.remembered import CHUNK
from tests.unit.trading.random_steps import START_MIDS, Snapshot, World, draw_step

from .builders import LONG, SHORT, T0, TEST_ASSETS, close, make_engine, open_position, tick


def snapshot_of(engine: Engine) -> Snapshot:
    """What the step drawers may know, read from the engine."""
    state = engine.state
    return Snapshot(
        quotes={
            s: (a.quote.bid, a.quote.ask, a.quote.ts) for s, a in state.assets.items() if a.quote
        },
        positions=[(p.id, p.account_id, p.asset, p.long) for p in state.positions.values()],
        pending=[(o.id, o.account_id) for o in state.pending.values()],
        balances={a.id: a.balance for a in state.accounts.values()},
        next_order_id=state.next_order_id,
        withdrawals=[(i, h.account_id) for i, h in sorted(state.withdrawals.items())],
    )


def through_bytes(engine: Engine, assets: tuple[AssetSpec, ...] = DEFAULT_ASSETS) -> Engine:
    """Image the engine, encode and decode the image as a snapshot would, and restore it."""
    data = msgspec.msgpack.encode(engine.image())
    return Engine.from_image(msgspec.msgpack.decode(data, type=EngineImage), assets)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_restore_when_imaged_mid_run_continues_exactly_like_the_original(
    data: st.DataObject,
) -> None:
    engine, world = Engine(), World()
    for account_id in (1, 2):
        engine.apply(OpenAccount(world.fresh_request_id(), world.now, account_id, Cents(2_000_000)))
    for asset in ("BTC", "SOL"):
        mid = START_MIDS[asset]
        engine.apply(
            Tick(asset, PriceTicks(mid - mid // 5_000), PriceTicks(mid + mid // 5_000), world.now)
        )
    for _ in range(data.draw(st.integers(0, 60), label="before")):
        step = draw_step(data, world, snapshot_of(engine))
        if step is not None:
            engine.apply(step)

    restored = through_bytes(engine)

    assert restored.state_hash() == engine.state_hash()
    for _ in range(data.draw(st.integers(1, 60), label="after")):
        step = draw_step(data, world, snapshot_of(engine))
        if step is not None:
            assert restored.apply(step) == engine.apply(step)
    assert restored.state_hash() == engine.state_hash()


def test_restore_when_trailing_stops_sit_in_several_groups_keeps_each_peak() -> None:
    engine = make_engine(bid=1000)
    first = open_position(engine, LONG, trailing_distance=30).order_id
    tick(engine, 990, ts=T0 + 1)
    second = open_position(engine, LONG, trailing_distance=15).order_id
    short = open_position(engine, SHORT, trailing_distance=20).order_id

    restored = through_bytes(engine, TEST_ASSETS)

    assert restored.state_hash() == engine.state_hash()
    groups = restored.state.triggers["TST"]
    assert [g.extreme for g in groups.long_trail] == [1000, 990]
    assert restored.state.positions[short].trail_group is not None
    # 970 reaches the first's stop (1000 - 30) and the second's (990 - 15), in id order.
    assert tick(restored, 970, ts=T0 + 2) == tick(engine, 970, ts=T0 + 2)
    assert first not in restored.state.positions
    assert second not in restored.state.positions


def test_restore_when_the_image_holds_an_asset_not_configured_refuses() -> None:
    engine = make_engine(bid=1000)
    open_position(engine, LONG)

    with pytest.raises(ValueError, match="TST"):
        through_bytes(engine, DEFAULT_ASSETS)


def test_restore_when_requests_were_remembered_answers_a_repeat_with_the_first_outcome() -> None:
    engine = make_engine(bid=1000)
    command = OpenAccount("again", T0, 42, Cents(5_000))
    first = engine.apply(command)

    restored = through_bytes(engine, TEST_ASSETS)

    assert restored.apply(command) == first
    assert restored.state_hash() == engine.state_hash()


def test_restore_when_thousands_of_requests_are_remembered_answers_each_repeat_as_first() -> None:
    engine = make_engine(bid=1000)
    commands = [
        OpenAccount(f"r{n}", T0 + n, 100 + n, Cents(1_000 + n)) for n in range(2 * CHUNK + 5)
    ]
    outcomes = [engine.apply(command) for command in commands]

    restored = through_bytes(engine, TEST_ASSETS)
    imaged_again = through_bytes(restored, TEST_ASSETS)  # outcomes copied, never decoded

    for n in (0, 17, CHUNK - 1, CHUNK, 2 * CHUNK + 4):
        assert restored.apply(commands[n]) == outcomes[n]
        assert imaged_again.apply(commands[n]) == outcomes[n]
    assert restored.state_hash() == imaged_again.state_hash() == engine.state_hash()


def test_restore_when_warmed_a_slice_at_a_time_behaves_the_same_and_ends_on_plain_dicts() -> None:
    accounts = tuple(range(1, 41))
    engine = make_engine(bid=1000, accounts=accounts)
    for account_id in accounts:
        open_position(engine, LONG, account_id=account_id, trailing_distance=20 + account_id)
        open_position(engine, SHORT, account_id=account_id, stop_loss=1000 + account_id)
    restored = through_bytes(engine, TEST_ASSETS)

    steps = 0
    while not restored.warm(accounts=3, requests=7):
        steps += 1
        account_id = accounts[steps % len(accounts)]
        command = close(2 * account_id, account_id=account_id, ts=T0 + steps)
        assert restored.apply(command) == engine.apply(command)

    assert steps > 5
    assert type(restored.state.accounts) is dict
    assert type(restored.state.positions) is dict
    assert restored.state.cold is None
    assert restored.state_hash() == engine.state_hash()
    assert tick(restored, 940, ts=T0 + 100) == tick(engine, 940, ts=T0 + 100)
    assert restored.state_hash() == engine.state_hash()


@pytest.mark.parametrize("warm_first", [False, True])
def test_restore_when_the_window_passes_forgets_restored_requests_like_the_original(
    warm_first: bool,
) -> None:
    engine = make_engine(bid=1000, dedupe_window_ms=1_000)
    firsts = [OpenAccount(f"w{n}", T0 + 10 * n, 100 + n, Cents(1_000)) for n in range(50)]
    for command in firsts:
        engine.apply(command)
    data = msgspec.msgpack.encode(engine.image())
    image = msgspec.msgpack.decode(data, type=EngineImage)
    restored = Engine.from_image(image, TEST_ASSETS, dedupe_window_ms=1_000)
    while warm_first and not restored.warm(accounts=1, requests=3):
        pass

    # At T0 + 1,250 the first 25 requests (sent before T0 + 250) are outside the window.
    for n in (40, 3, 24, 25, 49, 0):
        again = OpenAccount(f"w{n}", T0 + 1_250 + n, 100 + n, Cents(1_000))
        assert restored.apply(again) == engine.apply(again)
        assert restored.remembers(f"w{n}") == engine.remembers(f"w{n}")
    while not restored.warm(accounts=2, requests=5):
        pass
    assert restored.state_hash() == engine.state_hash()
    assert restored.image() == engine.image()


@pytest.mark.parametrize("prefix", ["ascii-", "ünïcødé-", "注文-"])
def test_restore_when_request_ids_are_not_ascii_finds_each_before_and_after_warming(
    prefix: str,
) -> None:
    engine = make_engine(bid=1000)
    commands = [OpenAccount(f"{prefix}{n}", T0 + n, 100 + n, Cents(1_000 + n)) for n in range(30)]
    outcomes = [engine.apply(command) for command in commands]
    restored = through_bytes(engine, TEST_ASSETS)

    assert restored.apply(commands[7]) == outcomes[7]
    while not restored.warm(accounts=4, requests=4):
        pass
    for command, outcome in zip(commands, outcomes, strict=True):
        assert restored.apply(command) == outcome
    assert restored.state_hash() == engine.state_hash()
