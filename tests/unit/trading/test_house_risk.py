"""The house's risk sums, kept as events apply, against a brute-force recount over every
position and every close, exactly; and the figures the risk query derives from them."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptocfd.core.accounts import LIVE_ACCOUNT_BASE, AccountKind, kind_of
from cryptocfd.core.money import Cents, PriceTicks, QtyUnits
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import AssetMode, OpenAccount, PlaceOrder, SetAssetControls
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import Accepted, PositionClosed, PositionOpened
from cryptocfd.trading.queries import GetRisk, answer
from cryptocfd.trading.risk import DAY_MS, KINDS
from cryptocfd.trading.snapshot.image import EngineImage
from cryptocfd.trading.views import Risk
from tests.unit.trading.random_steps import LIVE_ID, START_MIDS, World, draw_step
from tests.unit.trading.test_image import snapshot_of, through_bytes

from .builders import (
    LONG,
    SHORT,
    T0,
    TEST_ASSETS,
    UNIT,
    close,
    make_engine,
    only,
    open_position,
    rid,
    tick,
)

LIVE = LIVE_ACCOUNT_BASE + 1


def recount(engine: Engine) -> dict[tuple[str, AccountKind], tuple[int, int, int, int]]:
    """Every asset's and kind's four sums, from every open position."""
    sums = {(s, k): [0, 0, 0, 0] for s in engine.state.assets for k in KINDS}
    for pos in engine.state.positions.values():
        row = sums[pos.asset, kind_of(pos.account_id)]
        side = 0 if pos.long else 1
        row[side] += pos.quantity
        row[2 + side] += pos.quantity * pos.open_price
    return {key: (a, b, c, d) for key, (a, b, c, d) in sums.items()}


def kept(engine: Engine) -> dict[tuple[str, AccountKind], tuple[int, int, int, int]]:
    """The sums as the state keeps them."""
    risk = engine.state.risk
    return {(s, k): risk.exposure[s][k].as_ints() for s in risk.exposure for k in KINDS}


def realized_recount(closes: list[PositionClosed]) -> dict[AccountKind, tuple[int, int]]:
    """Each kind's (total, today) realized by the house, from every close ever made."""
    newest = max((c.ts // DAY_MS for c in closes), default=-1)
    found = {}
    for kind in KINDS:
        mine = [c for c in closes if kind_of(c.account_id) is kind]
        total = -sum(int(c.pnl) for c in mine)
        today = -sum(int(c.pnl) for c in mine if c.ts // DAY_MS == newest)
        found[kind] = (total, today)
    return found


def realized_kept(engine: Engine) -> dict[AccountKind, tuple[int, int]]:
    realized = engine.state.risk.realized
    return {kind: (realized[kind].total, realized[kind].today) for kind in KINDS}


def started(world: World) -> Engine:
    """Two demo accounts and a live one, funded, and quotes for BTC and SOL."""
    engine = Engine()
    for account_id in (1, 2, LIVE_ID):
        engine.apply(OpenAccount(world.fresh_request_id(), world.now, account_id, Cents(2_000_000)))
    for asset in ("BTC", "SOL"):
        mid = START_MIDS[asset]
        engine.apply(
            Tick(asset, PriceTicks(mid - mid // 5_000), PriceTicks(mid + mid // 5_000), world.now)
        )
    return engine


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_risk_sums_when_any_commands_and_ticks_apply_equal_a_recount_over_every_position(
    data: st.DataObject,
) -> None:
    world = World()
    engine = started(world)
    closes: list[PositionClosed] = []
    for _ in range(data.draw(st.integers(1, 80))):
        step = draw_step(data, world, snapshot_of(engine))
        if step is None:
            continue
        outcome, fresh, _ = engine.execute(step)
        if isinstance(outcome, Accepted) and fresh:  # a repeat's events applied once, before
            closes.extend(e for e in outcome.events if isinstance(e, PositionClosed))
        assert kept(engine) == recount(engine)
        assert realized_kept(engine) == realized_recount(closes)
    restored = through_bytes(engine)
    assert kept(restored) == recount(engine)
    assert realized_kept(restored) == realized_kept(engine)
    assert restored.state_hash() == engine.state_hash()


def _risk(engine: Engine, kind: AccountKind = AccountKind.LIVE, ts: int | None = None) -> Risk:
    found = answer(engine.state, GetRisk("q", kind, ts))
    assert isinstance(found, Risk), found
    return found


def test_risk_when_live_and_demo_hold_positions_reports_each_kind_apart_at_the_mark() -> None:
    engine = make_engine(accounts=(1, LIVE))
    open_position(engine, LONG, account_id=LIVE)  # 1 unit at 1000
    open_position(engine, SHORT, 20_000, account_id=LIVE)  # 2 units at 1000
    open_position(engine, LONG, 30_000, account_id=1)  # 3 demo units
    tick(engine, 1010)
    live = next(a for a in _risk(engine).assets if a.asset == "TST")
    demo = next(a for a in _risk(engine, AccountKind.DEMO).assets if a.asset == "TST")
    assert (live.long_quantity, live.short_quantity) == (UNIT, 2 * UNIT)
    # net -1 unit, gross 3 units, at the mark 1010: 100 cents a point.
    assert (live.net_notional, live.gross_notional) == (-101_000, 303_000)
    # The traders: +10 points on the long, -20 on the shorts: -10 points, +1,000 cents house.
    assert live.house_unrealized_pnl == 1_000
    assert (demo.long_quantity, demo.gross_notional, demo.house_unrealized_pnl) == (
        3 * UNIT,
        303_000,
        -3_000,
    )


def test_risk_when_the_traders_pnl_is_a_fraction_of_a_cent_rounds_the_house_figure_up() -> None:
    engine = make_engine(bid=6_000_000, asset="BTC", accounts=(LIVE,))
    # 0.000001 BTC (the step, 100 units) long at the house ask, 60,012.00 (D = 10^8).
    command = PlaceOrder(rid(), T0, LIVE, "BTC", LONG, Cents(0), 10, quantity=QtyUnits(100))
    opened = only(engine.apply(command), PositionOpened)
    assert opened.open_price == 6_001_200
    # At the mark, 60,000.00: the trader is down 1200 * 100 / 10^8 = 0.0012 cents, floored to
    # -1 cent, so the house shows +1 (its exact 0.0012, rounded up).
    btc = next(a for a in _risk(engine).assets if a.asset == "BTC")
    assert btc.house_unrealized_pnl == 1
    # At 60,020.00 the trader is up 0.0008 cents, floored to 0: the house shows 0, not -1.
    tick(engine, 6_002_000, asset="BTC", ts=T0 + 1)
    btc = next(a for a in _risk(engine).assets if a.asset == "BTC")
    assert btc.house_unrealized_pnl == 0
    assert (btc.net_notional, btc.gross_notional) == (6, 6)  # 0.060020 floored to the cent


def test_realized_when_a_close_is_on_a_later_day_starts_today_afresh_and_keeps_the_total() -> None:
    engine = make_engine(accounts=(LIVE,))
    first = open_position(engine, LONG, account_id=LIVE)
    tick(engine, 990, ts=T0 + 1)
    engine.apply(close(first.order_id, account_id=LIVE, ts=T0 + 1))  # trader -1,000
    assert (_risk(engine).house_realized_pnl_total, _risk(engine).house_realized_pnl_today) == (
        1_000,
        1_000,
    )
    later = T0 + DAY_MS
    tick(engine, 1000, ts=later)
    second = open_position(engine, LONG, account_id=LIVE, ts=later)
    tick(engine, 1010, ts=later + 1)
    engine.apply(close(second.order_id, account_id=LIVE, ts=later + 1))  # trader +1,000
    risk = _risk(engine, ts=later + 2)
    assert (risk.house_realized_pnl_total, risk.house_realized_pnl_today) == (0, -1_000)
    assert _risk(engine, ts=later + DAY_MS).house_realized_pnl_today == 0
    assert _risk(engine, AccountKind.DEMO).house_realized_pnl_total == 0


def test_snapshot_when_controls_and_realized_pnl_are_set_restores_them_exactly() -> None:
    engine = make_engine(accounts=(1, LIVE))
    pos = open_position(engine, LONG, account_id=LIVE)
    open_position(engine, SHORT, account_id=1)
    tick(engine, 1005)
    engine.apply(close(pos.order_id, account_id=LIVE, fraction_bps=5_000))
    controls = SetAssetControls(rid(), T0, "TST", AssetMode.CLOSE_ONLY, Cents(500_000), 5)
    assert isinstance(engine.apply(controls), Accepted)
    restored = through_bytes(engine, TEST_ASSETS)
    assert restored.state.assets["TST"].controls == engine.state.assets["TST"].controls
    assert kept(restored) == kept(engine)
    assert (
        realized_kept(restored)
        == realized_kept(engine)
        == {
            AccountKind.DEMO: (0, 0),
            AccountKind.LIVE: (-250, -250),  # the trader's +2.50 on half a unit up 5 points
        }
    )
    assert restored.state_hash() == engine.state_hash()


def test_snapshot_when_the_image_predates_the_risk_sums_recounts_them_from_positions() -> None:
    engine = make_engine(accounts=(1, LIVE))
    open_position(engine, LONG, account_id=LIVE)
    open_position(engine, SHORT, 20_000, account_id=1)
    image = engine.image()
    old = msgspec.structs.replace(image, risk=None, controls=[])
    data = msgspec.msgpack.encode(old)
    restored = Engine.from_image(msgspec.msgpack.decode(data, type=EngineImage), TEST_ASSETS)
    assert kept(restored) == kept(engine) == recount(engine)
    assert realized_kept(restored) == dict.fromkeys(KINDS, (0, 0))
