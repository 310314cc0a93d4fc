"""Hypothesis draws of commands and feed ticks for the differential and stateful engine tests.

A ``World`` is the test's side of a run: the feed's random walk per asset, the clock and the
request ids handed out so far. A ``Snapshot`` is what the drawing functions may know of the
engine's state (quotes, positions, pending entries, balances), so that commands aim at real
order ids and prices near the market, and just as often at ids and prices that are wrong.

Every choice shrinks toward the ordinary case (a fresh request id, a small price move, a valid
field), so a failing example shrinks to the fewest unusual steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st
from msgspec import UNSET, UnsetType

from cryptocfd.core.accounts import LIVE_ACCOUNT_BASE
from cryptocfd.core.assets import DEFAULT_ASSETS, AssetSpec
from cryptocfd.core.money import BPS, Bps, Cents, PriceTicks, QtyUnits, scaled_or_none
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import (
    AssetMode,
    CancelOrder,
    ClosePosition,
    Command,
    Deposit,
    HoldWithdrawal,
    ModifyPosition,
    OpenAccount,
    OrderType,
    PayWithdrawal,
    PlaceOrder,
    ReleaseWithdrawal,
    ResetDemoAccount,
    SetAssetControls,
    Side,
    Withdraw,
)
from cryptocfd.trading.fingerprint import fingerprinted
from tests.unit.trading.reference import quantity_step, value_divisor
from tests.unit.trading.scales import ticks_or_unset

T0 = 1_700_000_000_000
DAY_MS = 86_400_000
YEAR_MS = 366 * DAY_MS  # the furthest a pending entry may expire (docs/engine.md, rule 7)

SPECS: dict[str, AssetSpec] = {spec.symbol: spec for spec in DEFAULT_ASSETS}
TRADED = ("BTC", "DOGE", "SOL")
"""BTC (2 price decimals, 6 quantity decimals), DOGE (5 and 0, wider markup), SOL (3 and 3)."""
UNKNOWN_ASSET = "NOPE"
START_MIDS = {"BTC": 6_000_000, "DOGE": 15_000, "SOL": 150_000}
"""60,000.00 USD, 0.15000 USD and 150.000 USD in each asset's price ticks."""
ACCOUNT_IDS = (1, 2, 3)
LIVE_ID = LIVE_ACCOUNT_BASE + 1
"""A live account, which ``draw_step`` may open: the house's risk keeps live and demo figures
apart. (Not among ``ACCOUNT_IDS``, so the tests drawing accounts on their own draw as before.)"""
MISSING_ACCOUNT = 9


@dataclass
class Snapshot:
    """What the drawing functions know about the engine (or the reference) right now."""

    quotes: dict[str, tuple[int, int, int]]
    """House bid, ask and quote ts of each asset that has a quote."""
    positions: list[tuple[int, int, str, bool]]
    """(order id, account id, asset, long) of every open position."""
    pending: list[tuple[int, int]]
    """(order id, account id) of every pending entry."""
    balances: dict[int, int]
    next_order_id: int
    withdrawals: list[tuple[int, int]] = field(default_factory=list)
    """(withdrawal id, account id) of every withdrawal hold."""


@dataclass
class World:
    """The feed's random walk, the clock and the request ids used so far."""

    now: int = T0
    mids: dict[str, int] = field(default_factory=lambda: dict(START_MIDS))
    used_request_ids: list[str] = field(default_factory=list)
    serial: int = 0
    withdrawal_ids: int = 0  # the last withdrawal id handed out

    def fresh_request_id(self) -> str:
        self.serial += 1
        request_id = f"req-{self.serial}"
        self.used_request_ids.append(request_id)
        return request_id


def rarely(data: st.DataObject, one_in: int) -> bool:
    """True about once in ``one_in`` draws; shrinks to False."""
    return data.draw(st.integers(0, one_in - 1)) == one_in - 1


def scaled(price: int, bps: int) -> int:
    """``price`` moved by ``bps`` basis points, at least 1."""
    return max(1, price * (BPS + bps) // BPS)


def draw_request_id(data: st.DataObject, world: World) -> str:
    """Usually a fresh id; sometimes one used before (the engine must dedupe it)."""
    if world.used_request_ids and rarely(data, 12):
        return data.draw(st.sampled_from(world.used_request_ids))
    return world.fresh_request_id()


def draw_command_ts(data: st.DataObject, world: World) -> int:
    """The clock, now and then a little behind it (callers' clocks differ)."""
    if rarely(data, 15):
        return world.now - data.draw(st.integers(1, 3_000))
    return world.now


def draw_advance(data: st.DataObject, world: World) -> None:
    """Let time pass: a little, past the staleness limit, or (rarely) past the dedupe window."""
    choice = data.draw(st.integers(0, 19))
    if choice == 19:
        world.now += DAY_MS + data.draw(st.integers(-3_000, 60_000))
    elif choice >= 16:
        world.now += 10_001 + data.draw(st.integers(0, 20_000))
    else:
        world.now += data.draw(st.integers(0, 3_000))


def draw_account(data: st.DataObject, snap: Snapshot) -> int:
    """Usually an existing account, sometimes one that was never opened."""
    known = sorted(snap.balances)
    if not known or rarely(data, 10):
        return data.draw(st.sampled_from((*ACCOUNT_IDS, MISSING_ACCOUNT)))
    return data.draw(st.sampled_from(known))


def draw_asset(data: st.DataObject) -> str:
    if rarely(data, 25):
        return UNKNOWN_ASSET
    return data.draw(st.sampled_from(TRADED))


def reference_price(snap: Snapshot, world: World, asset: str, *, long: bool) -> int:
    """The price a client would look at: the closing side of the quote, else the feed mid."""
    quote = snap.quotes.get(asset)
    if quote is None:
        return world.mids.get(asset, 100_000)
    return quote[0] if long else quote[1]


def draw_tick(data: st.DataObject, world: World, snap: Snapshot) -> Tick:
    """A feed tick: a small step of the walk, a jump beyond the sanity band, or a bad quote."""
    asset = draw_asset(data)
    mid = world.mids.get(asset, 100_000)
    kind = data.draw(st.integers(0, 9))
    if kind == 9:  # a jump beyond the 10% sanity band, up or down
        bps = data.draw(st.integers(1_050, 2_500)) * data.draw(st.sampled_from((1, -1)))
    elif kind >= 7:  # a brisk move, enough to reach stops and liquidations
        bps = data.draw(st.integers(-400, 400))
    else:
        bps = data.draw(st.integers(-60, 60))
    mid = scaled(mid, bps)
    if rarely(data, 8) and asset in START_MIDS:
        # Back near where the walk began: positions opened there swing through their margin
        # calls and liquidations and back, so calls re-arm and fire again.
        mid = scaled(START_MIDS[asset], data.draw(st.integers(-150, 150)))
    # Now and then a wide quote (up to 3%): the ask then sits far above the mark, so a long
    # at high leverage would be liquidated at once (WOULD_LIQUIDATE).
    widest_bps = 300 if rarely(data, 6) else 6
    spread = max(1, mid * data.draw(st.integers(0, widest_bps)) // BPS)
    bid = max(1, mid - spread // 2)
    ask = bid + spread
    ts = world.now
    last = snap.quotes.get(asset)
    if last is not None and rarely(data, 25):
        ts = last[2] - data.draw(st.integers(1, 5_000))  # older than the current quote
    if rarely(data, 30):
        bid, ask = data.draw(st.sampled_from(((0, ask), (ask + 1, ask), (-5, 3))))
    elif asset in world.mids:
        world.mids[asset] = mid
    return Tick(asset, PriceTicks(bid), PriceTicks(ask), ts)


def draw_exit_level(data: st.DataObject, price: int, *, beyond: bool) -> int | None:
    """A take-profit (``beyond``) or stop-loss level: mostly on the valid side, sometimes not."""
    if not rarely(data, 3):
        return None
    if rarely(data, 20):
        return data.draw(st.integers(-2, 0))
    bps = data.draw(st.integers(-50, 500))
    return scaled(price, bps if beyond else -bps)


def draw_trailing(data: st.DataObject, price: int) -> int | None:
    if not rarely(data, 3):
        return None
    if rarely(data, 15):
        return data.draw(st.integers(-3, 0))
    return max(1, price * data.draw(st.integers(1, 250)) // BPS)


def draw_place_order(data: st.DataObject, world: World, snap: Snapshot) -> PlaceOrder:
    """A market, limit or stop order, with any mix of exits, expiry and slippage bounds."""
    account_id = draw_account(data, snap)
    asset = draw_asset(data)
    spec = SPECS.get(asset, SPECS["BTC"])
    side = data.draw(st.sampled_from((Side.LONG, Side.SHORT)))
    long = side is Side.LONG
    order_type = data.draw(st.sampled_from((OrderType.MARKET, OrderType.LIMIT, OrderType.STOP)))
    balance = snap.balances.get(account_id, 100_000)
    if rarely(data, 25):
        leverage = data.draw(st.sampled_from((0, spec.max_leverage + 1, -1)))
    else:
        leverage = data.draw(st.integers(1, spec.max_leverage))
    near = reference_price(snap, world, asset, long=long)
    price: int | None = None
    if order_type is not OrderType.MARKET or rarely(data, 10):
        if rarely(data, 25):
            price = data.draw(st.sampled_from((None, 0, -1)))
        else:
            # A limit waits for a better price, a stop for a worse one; either may be
            # placed on the wrong side (it would fill at once).
            better = (order_type is OrderType.LIMIT) == long
            bps = data.draw(st.integers(-40, 600))
            price = scaled(near, -bps if better else bps)
    entry = near if price is None or price <= 0 else price
    if rarely(data, 25):
        margin = data.draw(st.integers(-5, 0))
    elif rarely(data, 6):
        # About enough for one quantity step at the entry price: a fill at a worse price
        # buys nothing (POSITION_TOO_SMALL), a partial close releases nothing.
        one_step = quantity_step(spec) * entry // (max(1, leverage) * value_divisor(spec))
        margin = max(1, one_step + data.draw(st.integers(-1, 3)))
    elif rarely(data, 10):
        margin = max(1, balance * data.draw(st.integers(1, 2 * BPS)) // BPS)
    else:
        margin = max(1, balance * data.draw(st.integers(1, 6_000)) // BPS)
    quantity: QtyUnits | UnsetType = UNSET
    if rarely(data, 4):
        # Sized by quantity instead: about what the margin would buy at the entry price, in
        # whole steps; now and then off the step, not positive, or with a margin beside it.
        step = quantity_step(spec)
        bought = max(0, margin) * max(1, leverage) * value_divisor(spec) // entry
        quantity = QtyUnits(max(step, bought - bought % step))
        if rarely(data, 15):
            quantity = QtyUnits(data.draw(st.sampled_from((0, -step, quantity + 1))))
        margin = margin if rarely(data, 15) else 0
    expected_price: int | None = None
    slippage_bps: int | None = None
    if rarely(data, 4):
        expected_price = (
            data.draw(st.integers(-1, 0))
            if rarely(data, 20)
            else scaled(entry, data.draw(st.integers(-100, 100)))
        )
    if rarely(data, 4):
        slippage_bps = (
            data.draw(st.sampled_from((-1, BPS + 1)))
            if rarely(data, 20)
            else data.draw(st.integers(0, 150))
        )
    expires_at: int | None = None
    if rarely(data, 3 if order_type is not OrderType.MARKET else 25):
        expires_at = world.now + data.draw(st.integers(-2, 30_000))
        if rarely(data, 20):  # about a year ahead: the last moment allowed, or just past it
            expires_at = world.now + YEAR_MS + data.draw(st.integers(-2, 2))
    return PlaceOrder(
        draw_request_id(data, world),
        draw_command_ts(data, world),
        account_id,
        asset,
        side,
        Cents(margin),
        leverage,
        order_type,
        scaled_or_none(PriceTicks, price),
        scaled_or_none(PriceTicks, draw_exit_level(data, entry, beyond=long)),
        scaled_or_none(PriceTicks, draw_exit_level(data, entry, beyond=not long)),
        scaled_or_none(PriceTicks, draw_trailing(data, entry)),
        scaled_or_none(PriceTicks, expected_price),
        scaled_or_none(Bps, slippage_bps),
        expires_at,
        quantity=quantity,
    )


def draw_order_ref(
    data: st.DataObject, snap: Snapshot, *, prefer_pending: bool
) -> tuple[int, int, str | None, bool]:
    """(order id, account id, asset or None, long) of a position, an entry or no order at all.

    The account is usually the owner, sometimes another one (``ORDER_NOT_FOUND``).
    """
    preferred: list[tuple[int, int, str | None, bool]]
    others: list[tuple[int, int, str | None, bool]]
    positions: list[tuple[int, int, str | None, bool]] = list(snap.positions)
    pending: list[tuple[int, int, str | None, bool]] = [(i, a, None, True) for i, a in snap.pending]
    preferred, others = (pending, positions) if prefer_pending else (positions, pending)
    choice = data.draw(st.integers(0, 9))
    if preferred and choice < 7:
        found = data.draw(st.sampled_from(preferred))
    elif others and choice < 9:
        found = data.draw(st.sampled_from(others))
    else:
        order_id = data.draw(st.integers(0, snap.next_order_id + 1))
        found = (order_id, draw_account(data, snap), None, True)
    if rarely(data, 8):
        return (found[0], draw_account(data, snap), found[2], found[3])
    return found


def draw_modify(data: st.DataObject, world: World, snap: Snapshot) -> ModifyPosition:
    """Keep (UNSET), remove (None) or set each exit, valid or not."""
    order_id, account_id, asset, long = draw_order_ref(data, snap, prefer_pending=False)
    near = reference_price(snap, world, asset or "BTC", long=long)

    def field_value(*, beyond: bool | None) -> int | UnsetType | None:
        choice = data.draw(st.integers(0, 3))
        if choice == 0:
            return UNSET
        if choice == 1:
            return None
        if rarely(data, 12):
            return data.draw(st.integers(-2, 0))
        if beyond is None:  # a trailing distance
            return max(1, near * data.draw(st.integers(1, 250)) // BPS)
        bps = data.draw(st.integers(-50, 500))
        return scaled(near, bps if beyond else -bps)

    return ModifyPosition(
        draw_request_id(data, world),
        draw_command_ts(data, world),
        account_id,
        order_id,
        ticks_or_unset(field_value(beyond=long)),
        ticks_or_unset(field_value(beyond=not long)),
        ticks_or_unset(field_value(beyond=None)),
    )


def draw_close(data: st.DataObject, world: World, snap: Snapshot) -> ClosePosition:
    order_id, account_id, _, _ = draw_order_ref(data, snap, prefer_pending=False)
    choice = data.draw(st.integers(0, 9))
    if choice < 5:
        fraction = BPS
    elif choice < 9:
        fraction = Bps(data.draw(st.integers(1, BPS - 1)))
    else:
        fraction = Bps(data.draw(st.sampled_from((0, -1, BPS + 1))))
    return ClosePosition(
        draw_request_id(data, world), draw_command_ts(data, world), account_id, order_id, fraction
    )


def draw_cancel(data: st.DataObject, world: World, snap: Snapshot) -> CancelOrder:
    order_id, account_id, _, _ = draw_order_ref(data, snap, prefer_pending=True)
    return CancelOrder(
        draw_request_id(data, world), draw_command_ts(data, world), account_id, order_id
    )


def draw_amount(data: st.DataObject, balance: int) -> int:
    if rarely(data, 15):
        return data.draw(st.integers(-3, 0))
    return max(1, balance * data.draw(st.integers(1, 12_000)) // BPS)


def draw_deposit(data: st.DataObject, world: World, snap: Snapshot) -> Deposit:
    account_id = draw_account(data, snap)
    return Deposit(
        draw_request_id(data, world),
        draw_command_ts(data, world),
        account_id,
        Cents(draw_amount(data, 500_000)),
    )


def draw_withdraw(data: st.DataObject, world: World, snap: Snapshot) -> Withdraw:
    account_id = draw_account(data, snap)
    return Withdraw(
        draw_request_id(data, world),
        draw_command_ts(data, world),
        account_id,
        Cents(draw_amount(data, snap.balances.get(account_id, 100_000))),
    )


def draw_hold(data: st.DataObject, world: World, snap: Snapshot) -> HoldWithdrawal:
    """A hold under a new withdrawal id, now and then one already held."""
    account_id = draw_account(data, snap)
    if snap.withdrawals and rarely(data, 8):
        withdrawal_id = data.draw(st.sampled_from(snap.withdrawals))[0]
    else:
        world.withdrawal_ids += 1
        withdrawal_id = world.withdrawal_ids
    return HoldWithdrawal(
        draw_request_id(data, world),
        draw_command_ts(data, world),
        account_id,
        withdrawal_id,
        Cents(draw_amount(data, snap.balances.get(account_id, 100_000))),
    )


def draw_settle(
    data: st.DataObject, world: World, snap: Snapshot
) -> ReleaseWithdrawal | PayWithdrawal:
    """A release or a payment: usually of a hold by its own account, sometimes of one that is
    not held or not that account's."""
    if snap.withdrawals and not rarely(data, 6):
        withdrawal_id, account_id = data.draw(st.sampled_from(snap.withdrawals))
        if rarely(data, 10):
            account_id = draw_account(data, snap)
    else:
        withdrawal_id, account_id = world.withdrawal_ids + 1, draw_account(data, snap)
    request_id, ts = draw_request_id(data, world), draw_command_ts(data, world)
    if data.draw(st.booleans()):
        return PayWithdrawal(request_id, ts, account_id, withdrawal_id)
    return ReleaseWithdrawal(request_id, ts, account_id, withdrawal_id)


def draw_open_account(
    data: st.DataObject, world: World, ids: tuple[int, ...] = ACCOUNT_IDS
) -> OpenAccount:
    account_id = data.draw(st.sampled_from(ids))
    balance = -1 if rarely(data, 15) else 1_000 * data.draw(st.integers(0, 5_000))
    return OpenAccount(
        draw_request_id(data, world), draw_command_ts(data, world), account_id, Cents(balance)
    )


def draw_reset(data: st.DataObject, world: World, snap: Snapshot) -> ResetDemoAccount:
    """A demo reset, of an account with positions (and so quotes that may be stale) or not."""
    account_id = draw_account(data, snap)
    return ResetDemoAccount(draw_request_id(data, world), draw_command_ts(data, world), account_id)


def draw_controls(data: st.DataObject, world: World) -> SetAssetControls:
    """Now and then an asset's controls: mostly back to open, sometimes a limit (often one
    the book already passes), rarely a mode that refuses orders, or a limit out of range."""
    asset = draw_asset(data)
    spec = SPECS.get(asset, SPECS["BTC"])
    mode = data.draw(
        st.sampled_from((AssetMode.OPEN, AssetMode.OPEN, AssetMode.CLOSE_ONLY, AssetMode.HALTED))
    )
    exposure: int | None = None
    if rarely(data, 2):
        exposure = data.draw(st.sampled_from((-1, 0, 1_000, 100_000, 1_000_000, 10_000_000)))
    leverage: int | None = None
    if rarely(data, 2):
        leverage = data.draw(
            st.sampled_from((0, 1, 2, 10, spec.max_leverage, spec.max_leverage + 1))
        )
    return SetAssetControls(
        draw_request_id(data, world),
        draw_command_ts(data, world),
        asset,
        mode,
        scaled_or_none(Cents, exposure),
        leverage,
    )


STEP_KINDS = (
    "tick",
    "tick",
    "tick",
    "tick",
    "place",
    "place",
    "place",
    "place",
    "modify",
    "close",
    "cancel",
    "advance",
    "deposit",
    "withdraw",
    "hold",
    "settle",
    "open",
    "reset",
    "controls",
)


def draw_step(data: st.DataObject, world: World, snap: Snapshot) -> Command | Tick | None:
    """One random step: a command, a tick, or ``None`` when only time passed.

    Half the commands carry their fingerprint, as the gateway's keyed requests do, so a
    repeated request id is now and then another request under a spent key.
    """
    step = _draw_unkeyed(data, world, snap)
    if step is None or isinstance(step, Tick) or not rarely(data, 2):
        return step
    return fingerprinted(step)


def _draw_unkeyed(data: st.DataObject, world: World, snap: Snapshot) -> Command | Tick | None:
    kind = data.draw(st.sampled_from(STEP_KINDS))
    if kind == "tick":
        return draw_tick(data, world, snap)
    if kind == "place":
        return draw_place_order(data, world, snap)
    if kind == "modify":
        return draw_modify(data, world, snap)
    if kind == "close":
        return draw_close(data, world, snap)
    if kind == "cancel":
        return draw_cancel(data, world, snap)
    if kind == "deposit":
        return draw_deposit(data, world, snap)
    if kind == "withdraw":
        return draw_withdraw(data, world, snap)
    if kind == "hold":
        return draw_hold(data, world, snap)
    if kind == "settle":
        return draw_settle(data, world, snap)
    if kind == "open":
        return draw_open_account(data, world, (*ACCOUNT_IDS, LIVE_ID))
    if kind == "reset":
        return draw_reset(data, world, snap)
    if kind == "controls":
        return draw_controls(data, world)
    draw_advance(data, world)
    return None
