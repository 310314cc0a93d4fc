"""Differential tests: the engine against the naive reference model of ``docs/engine.md``.

Both are fed the same random commands and feed ticks; after every step the outcomes must be
identical (the same events with the same fields in the same order, or the same rejection code)
and so must everything observable: account figures, positions, pending entries, house totals.

``CRYPTOCFD_HYPOTHESIS_EXAMPLES`` (default 300) sets how many random runs the property tests
make; thousands are fine for a soak, though Hypothesis' memory grows with them (about 1 MB per
crowd example).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec import UNSET, UnsetType

from cryptocfd.core.accounts import AccountKind
from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.core.money import BPS, Bps, Cents, PriceTicks, scaled_or_none
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import (
    CancelOrder,
    ClosePosition,
    Command,
    Deposit,
    ModifyPosition,
    OpenAccount,
    OrderType,
    PlaceOrder,
    Side,
)
from cryptocfd.trading.engine import Engine, Outcome
from cryptocfd.trading.events import (
    Accepted,
    CloseReason,
    FundsDeposited,
    MarginCalled,
    OrderExpired,
    OrderPlaced,
    OrderRejected,
    PositionClosed,
    PositionOpened,
    QuoteUpdated,
)
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.state import AccountView
from cryptocfd.trading.views import risk
from tests.unit.trading.random_steps import (
    LIVE_ID,
    START_MIDS,
    T0,
    Snapshot,
    World,
    draw_advance,
    draw_close,
    draw_modify,
    draw_place_order,
    draw_step,
    draw_tick,
    rarely,
)
from tests.unit.trading.reference import Reference
from tests.unit.trading.scales import ticks_or_unset

EXAMPLES = int(os.environ.get("CRYPTOCFD_HYPOTHESIS_EXAMPLES", "300"))

SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def describe(history: Sequence[Command | Tick]) -> str:
    return "\n".join(f"  {i:3}: {command!r}" for i, command in enumerate(history))


def snapshot_of(ref: Reference) -> Snapshot:
    """What the drawing functions may know: taken from the reference, which must agree."""
    return Snapshot(
        quotes={asset: (q.bid, q.ask, q.ts) for asset, q in ref.quotes.items()},
        positions=[(p.order_id, p.account_id, p.asset, p.long) for p in ref.positions],
        pending=[(o.order_id, o.account_id) for o in ref.pending],
        balances={a.account_id: a.balance for a in ref.accounts.values()},
        next_order_id=ref.next_order_id,
        withdrawals=[(i, held[0]) for i, held in sorted(ref.withdrawals.items())],
    )


class Pair:
    """The engine and the reference, stepped together and compared after every step."""

    def __init__(self) -> None:
        self.engine = Engine(assets=DEFAULT_ASSETS)
        self.ref = Reference(assets=DEFAULT_ASSETS)
        self.history: list[Command | Tick] = []
        self.ts = 0  # the newest step's time: what "today" of the risk figures is asked at

    def apply(self, command: Command | Tick) -> Outcome:
        self.history.append(command)
        self.ts = command.ts
        got = self.engine.apply(command)
        want = self.ref.apply(command)
        if isinstance(want, Rejection):
            assert isinstance(got, Rejection), self.context(
                f"engine accepted {got!r}, not {want!r}"
            )
            assert got.code == want.code, self.context(f"engine {got!r}, wanted {want!r}")
        else:
            assert isinstance(got, Accepted), self.context(f"engine {got!r}, wanted {want!r}")
            assert got.events == want.events, self.context(
                f"engine events:\n{got.events!r}\nwanted:\n{want.events!r}"
            )
        self.assert_same_state()
        return got

    def context(self, problem: str) -> str:
        """The problem, and every step so far (only built when an assertion fails)."""
        return f"{problem}\nafter step {len(self.history) - 1} of:\n{describe(self.history)}"

    def assert_same_state(self) -> None:
        state, ref = self.engine.state, self.ref
        assert state.house_balance == ref.house_balance, self.context("house balance")
        assert state.deposited == ref.deposited, self.context("deposited")
        assert state.next_order_id == ref.next_order_id, self.context("next order id")
        assert sorted(state.accounts) == sorted(ref.accounts), self.context("accounts")
        for account_id in ref.accounts:
            got = self.engine.account(account_id)
            assert isinstance(got, AccountView), self.context(f"{got!r}")
            want = ref.view(account_id)
            assert (
                got.balance,
                got.equity,
                got.used_margin,
                got.free_margin,
                got.margin_level_bps,
                got.unrealized_pnl,
                got.seq,
                got.withdrawals_held,
            ) == (
                want.balance,
                want.equity,
                want.used_margin,
                want.free_margin,
                want.margin_level_bps,
                want.unrealized_pnl,
                ref.order_events.get(account_id, 0),
                ref.withdrawals_held(account_id),
            ), self.context(f"account {account_id}: engine {got!r}, wanted {want!r}")
        holds = {i: (h.account_id, h.amount) for i, h in state.withdrawals.items()}
        assert holds == ref.withdrawals, self.context("withdrawal holds")
        got_positions = {
            p.id: (
                p.account_id,
                p.asset,
                p.long,
                p.margin,
                p.leverage,
                p.quantity,
                p.open_price,
                p.liquidation_price,
                p.take_profit,
                p.stop_loss,
                p.trailing_distance,
                p.opened_at,
            )
            for p in state.positions.values()
        }
        want_positions = {
            p.order_id: (
                p.account_id,
                p.asset,
                p.long,
                p.margin,
                p.leverage,
                p.quantity,
                p.open_price,
                p.liquidation_price,
                p.take_profit,
                p.stop_loss,
                p.trailing_distance,
                p.opened_at,
            )
            for p in ref.positions
        }
        assert got_positions == want_positions, self.context("positions")
        got_pending = {
            o.id: (o.account_id, o.asset, o.long, o.order_type, o.price, o.margin, o.expires_at)
            for o in state.pending.values()
        }
        want_pending = {
            o.order_id: (
                o.account_id,
                o.asset,
                o.long,
                o.order_type,
                o.price,
                o.margin,
                o.expires_at,
            )
            for o in ref.pending
        }
        assert got_pending == want_pending, self.context("pending entries")
        for kind in AccountKind:
            got_risk, want_risk = risk(state, kind, self.ts), ref.risk(kind, self.ts)
            assert got_risk == want_risk, self.context(f"{kind} risk: {got_risk!r}, {want_risk!r}")


def start(pair: Pair, data: st.DataObject, world: World) -> None:
    """Two funded demo accounts and a live one, and a first quote for BTC and SOL; DOGE starts
    without one."""
    for account_id in (1, 2, LIVE_ID):
        balance = 1_000 * data.draw(st.integers(0, 5_000))
        pair.apply(OpenAccount(world.fresh_request_id(), world.now, account_id, Cents(balance)))
    for asset in ("BTC", "SOL"):
        mid = START_MIDS[asset]
        pair.apply(
            Tick(asset, PriceTicks(mid - mid // 5_000), PriceTicks(mid + mid // 5_000), world.now)
        )


@pytest.mark.slow
@SETTINGS
@given(st.data())
def test_engine_when_given_any_sequence_of_commands_and_ticks_matches_the_reference(
    data: st.DataObject,
) -> None:
    pair, world = Pair(), World()
    start(pair, data, world)
    for _ in range(data.draw(st.integers(1, 80))):
        step = draw_step(data, world, snapshot_of(pair.ref))
        if step is not None:
            pair.apply(step)


@pytest.mark.slow
@settings(SETTINGS, max_examples=max(10, EXAMPLES // 5))
@given(st.data())
def test_tick_when_a_crowd_of_positions_and_entries_swings_with_the_market_matches_the_reference(
    data: st.DataObject,
) -> None:
    """Many positions and entries, armed at different peaks, then ticks that fire many at once."""
    pair, world = Pair(), World()
    for account_id in (1, 2, 3):
        pair.apply(OpenAccount(world.fresh_request_id(), world.now, account_id, Cents(10**12)))
    for asset in ("BTC", "SOL", "DOGE"):
        mid = START_MIDS[asset]
        pair.apply(
            Tick(asset, PriceTicks(mid - mid // 5_000), PriceTicks(mid + mid // 5_000), world.now)
        )
    for _ in range(data.draw(st.integers(10, 120))):
        choice = data.draw(st.integers(0, 11))
        if choice < 3:
            pair.apply(draw_tick(data, world, snapshot_of(pair.ref)))
        elif choice == 3:
            pair.apply(draw_modify(data, world, snapshot_of(pair.ref)))
        elif choice == 4:
            pair.apply(draw_close(data, world, snapshot_of(pair.ref)))
        else:
            pair.apply(draw_place_order(data, world, snapshot_of(pair.ref)))
        if rarely(data, 6):
            draw_advance(data, world)
    for _ in range(data.draw(st.integers(1, 12))):
        world.now += 1_000
        pair.apply(draw_tick(data, world, snapshot_of(pair.ref)))


# -- one tick, many triggers --------------------------------------------------------------------

BTC_D = 10**8  # 10^(price_decimals + 6) for BTC


def btc_tick(pair: Pair, mid: int, ts: int) -> Outcome:
    """A BTC feed tick 100.00 wide around ``mid`` (in cents, BTC's price ticks)."""
    return pair.apply(Tick("BTC", PriceTicks(mid - 10_000), PriceTicks(mid + 10_000), ts))


def placed(outcome: Outcome) -> int:
    assert isinstance(outcome, Accepted), outcome
    (event,) = outcome.events
    assert isinstance(event, PositionOpened | OrderPlaced), event
    return event.order_id


def test_tick_when_many_positions_reach_their_exits_at_once_closes_each_once_in_order_of_id() -> (
    None
):
    """Liquidations, stop-losses, trailing stops, take-profits, expiries and fills on one tick.

    BTC opens at a mid of 60,000.00, rises to 60,600.00 (trailing peaks follow) and then drops
    to 58,800.00, within the sanity band. Every kind of trigger is created several times,
    round-robin, so their order ids interleave.
    """
    pair, world = Pair(), World()
    accounts = (1, 2, 3)
    for account_id in accounts:
        pair.apply(OpenAccount(world.fresh_request_id(), T0, account_id, Cents(10**10)))
    btc_tick(pair, 6_000_000, T0)

    def order(
        account_id: int,
        side: Side,
        leverage: int,
        *,
        order_type: OrderType = OrderType.MARKET,
        price: int | None = None,
        tp: int | None = None,
        sl: int | None = None,
        trailing: int | None = None,
        expires_at: int | None = None,
    ) -> int:
        command = PlaceOrder(
            world.fresh_request_id(),
            T0 + 1_000,
            account_id,
            "BTC",
            side,
            Cents(100_000),
            leverage,
            order_type,
            scaled_or_none(PriceTicks, price),
            scaled_or_none(PriceTicks, tp),
            scaled_or_none(PriceTicks, sl),
            scaled_or_none(PriceTicks, trailing),
            None,
            None,
            expires_at,
        )
        return placed(pair.apply(command))

    long, short = Side.LONG, Side.SHORT
    limit, stop = OrderType.LIMIT, OrderType.STOP
    expected: dict[int, CloseReason | None] = {}  # order id -> reason it closes on the drop
    filled: set[int] = set()
    expired: set[int] = set()
    for round_ in range(6):
        account_id = accounts[round_ % 3]
        # 100x longs: liquidated; those with a stop-loss too (above the liquidation price of
        # about 59,811.46, or it would be refused) are still "liquidated".
        expected[order(account_id, long, 100)] = CloseReason.LIQUIDATED
        expected[order(account_id, long, 100, sl=5_985_000)] = CloseReason.LIQUIDATED
        # Stop-loss reached; with a trailing stop reached as well the stop-loss wins.
        expected[order(account_id, long, 2, sl=5_950_000, tp=6_200_000)] = CloseReason.STOP_LOSS
        sl_and_trail = order(account_id, long, 2, sl=5_950_000, trailing=100_000)
        expected[sl_and_trail] = CloseReason.STOP_LOSS
        # Trailing stops: 1,000.00 below a peak of about 60,588 fires, 2,500.00 does not.
        expected[order(account_id, long, 2, trailing=100_000)] = CloseReason.TRAILING_STOP
        expected[order(account_id, long, 2, trailing=250_000)] = None
        # Shorts: a take-profit at 59,000.00 fires, a trailing stop on a falling ask never does.
        expected[order(account_id, short, 2, tp=5_900_000)] = CloseReason.TAKE_PROFIT
        expected[order(account_id, short, 2, trailing=100_000, sl=6_200_000)] = None
        expected[order(account_id, long, 1)] = None
        # Entries at 59,000.00: a buy limit and a sell stop fill on the drop; the fill of one
        # hits its stop-loss, of another its take-profit, in the same tick.
        filled.add(entry := order(account_id, long, 5, order_type=limit, price=5_900_000))
        expected[entry] = None
        filled.add(
            entry := order(account_id, long, 5, order_type=limit, price=5_900_000, sl=5_890_000)
        )
        expected[entry] = CloseReason.STOP_LOSS
        filled.add(
            entry := order(account_id, short, 5, order_type=stop, price=5_900_000, tp=5_895_000)
        )
        expected[entry] = CloseReason.TAKE_PROFIT
        # An entry that would fill, but expires first.
        expired.add(
            order(account_id, long, 5, order_type=limit, price=5_900_000, expires_at=T0 + 5_000)
        )

    rise = btc_tick(pair, 6_060_000, T0 + 2_000)
    assert isinstance(rise, Accepted)
    assert [type(e) for e in rise.events] == [QuoteUpdated], "nothing fires on the way up"

    drop = btc_tick(pair, 5_880_000, T0 + 6_000)  # the Pair asserts engine == reference
    assert isinstance(drop, Accepted)
    events = drop.events
    assert isinstance(events[0], QuoteUpdated)
    kinds = [type(e) for e in events[1:]]
    n_expired, n_filled = len(expired), len(filled)
    assert kinds == [OrderExpired] * n_expired + [PositionOpened] * n_filled + [PositionClosed] * (
        len(kinds) - n_expired - n_filled
    )
    expiries = [e.order_id for e in events if isinstance(e, OrderExpired)]
    fills = [e.order_id for e in events if isinstance(e, PositionOpened)]
    assert expiries == sorted(expired)
    assert fills == sorted(filled)
    closes = [e for e in events if isinstance(e, PositionClosed)]
    assert [c.order_id for c in closes] == sorted(i for i, r in expected.items() if r is not None)
    assert {c.order_id: c.reason for c in closes} == {
        i: r for i, r in expected.items() if r is not None
    }
    assert Counter(c.reason for c in closes) == {
        CloseReason.LIQUIDATED: 12,
        CloseReason.STOP_LOSS: 18,
        CloseReason.TRAILING_STOP: 6,
        CloseReason.TAKE_PROFIT: 12,
    }
    for pos in pair.ref.positions:
        assert pair.ref.exit_reason(pos) is None, pos
    assert sorted(pair.engine.state.positions) == sorted(
        i for i, r in expected.items() if r is None
    )


def test_fill_when_the_quote_gaps_past_an_entry_rejects_it_as_too_small() -> None:
    """DOGE entries with margin for exactly one coin at their price buy none after a gap.

    DOGE: 5 price decimals and whole coins, so ``D = 10^11`` and the step is ``10^8``. Margin 15
    cents at leverage 1 buys ``15 * 10^11 // 15_000 = 10^8`` (one coin) at 0.15000, but after an
    8% gap (within the sanity band) the buy stop fills at an ask of about 0.15817 and the sell
    limit at a bid of about 0.15783, where it buys about 0.95 coin: none, rounded to the step.
    """
    pair = Pair()
    pair.apply(OpenAccount("open", T0, 1, Cents(1_000_000)))
    pair.apply(Tick("DOGE", PriceTicks(14_600), PriceTicks(14_610), T0))
    stop = placed(
        pair.apply(
            PlaceOrder(
                "stop",
                T0,
                1,
                "DOGE",
                Side.LONG,
                Cents(15),
                1,
                OrderType.STOP,
                PriceTicks(15_000),
                None,
                None,
                None,
            )
        )
    )
    limit = placed(
        pair.apply(
            PlaceOrder(
                "limit",
                T0,
                1,
                "DOGE",
                Side.SHORT,
                Cents(15),
                1,
                OrderType.LIMIT,
                PriceTicks(15_000),
                None,
                None,
            )
        )
    )
    gap = pair.apply(Tick("DOGE", PriceTicks(15_790), PriceTicks(15_810), T0 + 1))
    assert isinstance(gap, Accepted)
    rejected = [e for e in gap.events if isinstance(e, OrderRejected)]
    assert [(e.order_id, e.code, e.margin) for e in rejected] == [
        (stop, RejectCode.POSITION_TOO_SMALL, 15),
        (limit, RejectCode.POSITION_TOO_SMALL, 15),
    ]
    view = pair.engine.account(1)
    assert isinstance(view, AccountView)
    assert view.used_margin == 0


def test_free_margin_when_a_position_is_in_profit_does_not_count_the_profit() -> None:
    """Unrealized profit does not back new margin, so no balance can fall below zero.

    100.00 USD backs a 100x BTC long; BTC rises 5% and the long shows about 490.00 USD of
    unrealized profit. Were that profit free margin, it could back a 50x SOL long of 450.00 USD
    whose liquidation, after BTC fell back, would leave the balance near -450.00 USD. Instead
    free margin is 0 and the SOL order is refused, in the engine and the reference alike.
    """
    pair = Pair()
    pair.apply(OpenAccount("open", T0, 1, Cents(10_000)))
    pair.apply(Tick("BTC", PriceTicks(5_999_000), PriceTicks(6_001_000), T0))
    pair.apply(Tick("SOL", PriceTicks(149_990), PriceTicks(150_010), T0))
    btc = PlaceOrder("btc", T0, 1, "BTC", Side.LONG, Cents(10_000), 100)
    assert isinstance(pair.apply(btc), Accepted)
    pair.apply(Tick("BTC", PriceTicks(6_299_000), PriceTicks(6_301_000), T0 + 1_000))
    view = pair.engine.account(1)
    assert isinstance(view, AccountView)
    assert view.unrealized_pnl >= 45_000
    assert view.equity == 10_000 + view.unrealized_pnl
    assert view.free_margin == 0

    sol = PlaceOrder("sol", T0 + 1_000, 1, "SOL", Side.LONG, Cents(45_000), 50)
    refused = pair.apply(sol)

    assert isinstance(refused, Rejection)
    assert refused.code is RejectCode.INSUFFICIENT_BALANCE
    pair.apply(
        Tick("BTC", PriceTicks(5_899_000), PriceTicks(5_901_000), T0 + 3_000)
    )  # the long is liquidated
    state = pair.engine.state
    assert not state.positions
    assert state.accounts[1].balance >= 0
    assert state.accounts[1].balance + state.house_balance == state.deposited == 10_000


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_engine_when_run_long_enough_to_compact_its_trigger_heaps_matches_the_reference(
    seed: int,
) -> None:
    """Thousands of exit changes on a few dozen BTC positions, so that stale trigger entries
    pile up past the engine's compaction threshold (4096) more than once, while the market
    wanders and fires what it reaches."""
    rng = random.Random(seed)
    pair = Pair()
    pair.apply(OpenAccount("open", T0, 1, Cents(10**13)))
    now, mid = T0, 6_000_000
    pair.apply(Tick("BTC", PriceTicks(mid - 500), PriceTicks(mid + 500), now))
    serial = 0

    def request_id() -> str:
        nonlocal serial
        serial += 1
        return f"long-{serial}"

    for _ in range(7_000):
        ref = pair.ref
        quote = ref.quotes["BTC"]
        r = rng.random()
        if r < 0.25:
            now += rng.randint(0, 500)
            mid = max(1_000_000, mid * (BPS + rng.randint(-40, 40)) // BPS)
            pair.apply(Tick("BTC", PriceTicks(mid - 500), PriceTicks(mid + 500), now))
        elif r < 0.35 or not ref.positions:
            long = rng.random() < 0.5
            close = quote.bid if long else quote.ask
            sign = 1 if long else -1
            tp = close * (BPS + sign * rng.randint(1, 300)) // BPS if rng.random() < 0.7 else None
            sl = close * (BPS - sign * rng.randint(1, 300)) // BPS if rng.random() < 0.7 else None
            trail = close * rng.randint(1, 200) // BPS if rng.random() < 0.5 else None
            side = Side.LONG if long else Side.SHORT
            leverage = rng.randint(1, 100)
            pair.apply(
                PlaceOrder(
                    request_id(),
                    now,
                    1,
                    "BTC",
                    side,
                    Cents(100_000),
                    leverage,
                    take_profit=scaled_or_none(PriceTicks, tp),
                    stop_loss=scaled_or_none(PriceTicks, sl),
                    trailing_distance=scaled_or_none(PriceTicks, trail),
                )
            )
        elif r < 0.4:
            long = rng.random() < 0.5
            kind = OrderType.LIMIT if rng.random() < 0.5 else OrderType.STOP
            better = (kind is OrderType.LIMIT) == long
            bps = rng.randint(1, 200)
            price = mid * (BPS - bps if better else BPS + bps) // BPS
            expiry = now + rng.randint(1, 20_000) if rng.random() < 0.3 else None
            side = Side.LONG if long else Side.SHORT
            pair.apply(
                PlaceOrder(
                    request_id(),
                    now,
                    1,
                    "BTC",
                    side,
                    Cents(100_000),
                    10,
                    kind,
                    PriceTicks(price),
                    expires_at=expiry,
                )
            )
        elif r < 0.95:
            pos = rng.choice(ref.positions)
            close = ref.closing_price(pos)
            sign = 1 if pos.long else -1
            tp = close * (BPS + sign * rng.randint(1, 300)) // BPS
            sl = close * (BPS - sign * rng.randint(1, 300)) // BPS
            new_trailing: int | UnsetType | None = UNSET
            if rng.random() < 0.3:
                new_trailing = None if rng.random() < 0.3 else close * rng.randint(1, 200) // BPS
            pair.apply(
                ModifyPosition(
                    request_id(),
                    now,
                    1,
                    pos.order_id,
                    PriceTicks(tp),
                    PriceTicks(sl),
                    ticks_or_unset(new_trailing),
                )
            )
        elif ref.pending and rng.random() < 0.5:
            pair.apply(CancelOrder(request_id(), now, 1, rng.choice(ref.pending).order_id))
        else:
            pos = rng.choice(ref.positions)
            fraction = rng.choice((BPS, rng.randint(1, BPS - 1)))
            pair.apply(ClosePosition(request_id(), now, 1, pos.order_id, Bps(fraction)))


def test_request_id_when_repeated_past_the_window_after_an_out_of_order_arrival_is_new() -> None:
    """docs/engine.md: "Before each command, ids that arrived more than the window before its
    ``ts`` are forgotten, so a repeat after the window is a new request."

    Command times are the callers' clocks, so they need not arrive in order. Here the account
    is opened by a caller whose clock runs one second ahead of the one that then deposits. The
    deposit's id arrived (at ``T0``) more than the 24-hour window before its repeat (at
    ``T0 + DAY + 1``), so the repeat is a new request and deposits again.
    """
    day = 86_400_000
    opening = OpenAccount("open", T0 + 1_000, 1, Cents(10_000))
    first = Deposit("deposit", T0, 1, Cents(5_000))
    repeat = Deposit("deposit", T0 + day + 1, 1, Cents(5_000))
    pair = Pair()
    for command in (opening, first):
        assert isinstance(pair.apply(command), Accepted)
    assert pair.ref.apply(repeat) == Accepted((FundsDeposited(1, Cents(5_000), T0 + day + 1),))

    engine = Engine(assets=DEFAULT_ASSETS)
    engine.apply(opening)
    engine.apply(first)
    assert engine.apply(repeat) == Accepted((FundsDeposited(1, Cents(5_000), T0 + day + 1),))
    assert engine.state.accounts[1].balance == 20_000


# -- margin calls -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_margin_calls_when_the_market_swings_through_call_prices_match_across_restores(
    seed: int,
) -> None:
    """Positions at every leverage while BTC swings up and down around where they opened, so
    that margin calls fire, re-arm and fire again; now and then the engine is imaged and
    restored (the reference is not), and it must go on calling exactly as the reference does."""
    rng = random.Random(seed)
    pair = Pair()
    pair.apply(OpenAccount("open", T0, 1, Cents(10**12)))
    now, mid = T0, 6_000_000
    pair.apply(Tick("BTC", PriceTicks(mid - 500), PriceTicks(mid + 500), now))
    calls: Counter[int] = Counter()
    for n in range(3_000):
        now += rng.randint(0, 300)
        r = rng.random()
        if r < 0.15 or not pair.ref.positions:
            side = Side.LONG if rng.random() < 0.5 else Side.SHORT
            pair.apply(
                PlaceOrder(f"mc-{n}", now, 1, "BTC", side, Cents(100_000), rng.randint(10, 100))
            )
        elif r < 0.2:
            order_id = rng.choice(pair.ref.positions).order_id
            pair.apply(ClosePosition(f"mc-{n}", now, 1, order_id, Bps(rng.randint(1, 9_000))))
        elif r < 0.22:
            pair.engine = Engine.from_image(pair.engine.image(), DEFAULT_ASSETS)
        else:
            # A swing of up to 0.6% either way of 60,000.00, where the positions open.
            mid = 6_000_000 * (BPS + rng.randint(-60, 60)) // BPS
            outcome = pair.apply(Tick("BTC", PriceTicks(mid - 500), PriceTicks(mid + 500), now))
            assert isinstance(outcome, Accepted)
            calls.update(e.order_id for e in outcome.events if isinstance(e, MarginCalled))
    assert sum(calls.values()) > 50, "the swings should cross many call prices"
    assert max(calls.values()) > 2, "a position should be called again after recovering"
