"""Small builders for the engine's rule tests: an engine with accounts and a quote, commands
with sensible defaults, and one-line ways to unwrap an outcome.

Most rule tests trade ``TST``, an asset made for mental arithmetic: prices are whole dollars
(``price_decimals=0``, so ``D = 10^6``), the quantity step is 0.01 unit (``10^6`` units of 1e-8)
and the house adds no markup, so the house quote is the feed's. One unit (``10^8``) moves by
100 cents per price point, and margin 10,000 cents at leverage 10 buys exactly one unit at 1000:
``q = 10_000 * 10 * 10^6 // 1000 = 10^8``.
"""

from __future__ import annotations

import itertools
from typing import TypeVar

from msgspec import UNSET, UnsetType

from cryptocfd.core.assets import DEFAULT_ASSETS, AssetSpec
from cryptocfd.core.money import Bps, Cents, PriceTicks, scaled_or_none
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import (
    CancelOrder,
    ClosePosition,
    Deposit,
    ModifyPosition,
    OpenAccount,
    OrderType,
    PlaceOrder,
    Side,
    Withdraw,
)
from cryptocfd.trading.engine import DAY_MS, Engine, Outcome
from cryptocfd.trading.events import Accepted, Event, OrderPlaced, PositionOpened
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.state import AccountView
from tests.unit.trading.scales import ticks_or_unset

T0 = 1_700_000_000_000
"""Every scenario starts at this command time (unix ms)."""

ACCOUNT = 1
OTHER = 2
RICH = 100_000_000
"""1,000,000.00 USD in cents: more than any single test order needs."""

LONG = Side.LONG
SHORT = Side.SHORT
MARKET = OrderType.MARKET
LIMIT = OrderType.LIMIT
STOP = OrderType.STOP

TST = AssetSpec(
    "TST",
    "Test coin",
    price_decimals=0,
    quantity_decimals=2,
    max_leverage=100,
    maintenance_bps=Bps(5000),
    spread_markup_bps=Bps(0),
    staleness_ms=10_000,
    sanity_band_bps=Bps(1000),
)
UNIT = 100_000_000
"""One whole unit of an asset, in 1e-8 quantity units."""
TST_STEP = 1_000_000
TEST_ASSETS: tuple[AssetSpec, ...] = (*DEFAULT_ASSETS, TST)

E = TypeVar("E", bound=Event)

_request_ids = itertools.count(1)


def rid() -> str:
    """A request id never used before in this process."""
    return f"req-{next(_request_ids)}"


def make_engine(
    *,
    bid: int | None = 1000,
    ask: int | None = None,
    asset: str = "TST",
    balance: int = RICH,
    accounts: tuple[int, ...] = (ACCOUNT,),
    assets: tuple[AssetSpec, ...] = TEST_ASSETS,
    dedupe_window_ms: int = DAY_MS,
) -> Engine:
    """An engine with ``accounts`` opened at ``balance`` and, unless ``bid`` is None, one
    accepted quote for ``asset`` at ``T0``."""
    engine = Engine(assets=assets, dedupe_window_ms=dedupe_window_ms)
    for account_id in accounts:
        events_of(engine.apply(OpenAccount(rid(), T0, account_id, Cents(balance))))
    if bid is not None:
        events_of(tick(engine, bid, ask, asset=asset))
    return engine


def tick(
    engine: Engine, bid: int, ask: int | None = None, *, asset: str = "TST", ts: int = T0
) -> Outcome:
    """Apply a feed tick; ``ask`` defaults to ``bid`` (a zero raw spread)."""
    return engine.apply(Tick(asset, PriceTicks(bid), PriceTicks(bid if ask is None else ask), ts))


def order(
    side: Side,
    margin: int = 10_000,
    leverage: int = 10,
    *,
    order_type: OrderType = MARKET,
    price: int | None = None,
    take_profit: int | None = None,
    stop_loss: int | None = None,
    trailing_distance: int | None = None,
    expected_price: int | None = None,
    slippage_bps: int | None = None,
    expires_at: int | None = None,
    account_id: int = ACCOUNT,
    asset: str = "TST",
    ts: int = T0,
    request_id: str | None = None,
) -> PlaceOrder:
    """A PlaceOrder command; by default a market order of one TST unit at 1000."""
    return PlaceOrder(
        request_id or rid(),
        ts,
        account_id,
        asset,
        side,
        Cents(margin),
        leverage,
        order_type,
        scaled_or_none(PriceTicks, price),
        scaled_or_none(PriceTicks, take_profit),
        scaled_or_none(PriceTicks, stop_loss),
        scaled_or_none(PriceTicks, trailing_distance),
        scaled_or_none(PriceTicks, expected_price),
        scaled_or_none(Bps, slippage_bps),
        expires_at,
    )


def modify(
    order_id: int,
    *,
    take_profit: int | UnsetType | None = UNSET,
    stop_loss: int | UnsetType | None = UNSET,
    trailing_distance: int | UnsetType | None = UNSET,
    account_id: int = ACCOUNT,
    ts: int = T0,
) -> ModifyPosition:
    """A ModifyPosition command; fields left out stay UNSET (keep)."""
    return ModifyPosition(
        rid(),
        ts,
        account_id,
        order_id,
        ticks_or_unset(take_profit),
        ticks_or_unset(stop_loss),
        ticks_or_unset(trailing_distance),
    )


def close(
    order_id: int, fraction_bps: int = 10_000, *, account_id: int = ACCOUNT, ts: int = T0
) -> ClosePosition:
    """A ClosePosition command, the whole position by default."""
    return ClosePosition(rid(), ts, account_id, order_id, Bps(fraction_bps))


def cancel(order_id: int, *, account_id: int = ACCOUNT, ts: int = T0) -> CancelOrder:
    """A CancelOrder command."""
    return CancelOrder(rid(), ts, account_id, order_id)


def deposit(amount: int, *, account_id: int = ACCOUNT, ts: int = T0) -> Deposit:
    """A Deposit command."""
    return Deposit(rid(), ts, account_id, Cents(amount))


def withdraw(amount: int, *, account_id: int = ACCOUNT, ts: int = T0) -> Withdraw:
    """A Withdraw command."""
    return Withdraw(rid(), ts, account_id, Cents(amount))


def events_of(outcome: Outcome) -> tuple[Event, ...]:
    """The events of an outcome that must have been accepted."""
    assert isinstance(outcome, Accepted), f"expected Accepted, got {outcome!r}"
    return outcome.events


def code_of(outcome: Outcome) -> RejectCode:
    """The code of an outcome that must have been a rejection."""
    assert isinstance(outcome, Rejection), f"expected a Rejection, got {outcome!r}"
    return outcome.code


def of_type(outcome: Outcome | tuple[Event, ...], kind: type[E]) -> list[E]:
    """The events of ``kind`` in an accepted outcome (or an event tuple), in order."""
    events = outcome if isinstance(outcome, tuple) else events_of(outcome)
    return [event for event in events if isinstance(event, kind)]


def only(outcome: Outcome | tuple[Event, ...], kind: type[E]) -> E:
    """The single event of ``kind`` in an accepted outcome (or an event tuple)."""
    found = of_type(outcome, kind)
    assert len(found) == 1, f"expected one {kind.__name__}, got {found!r}"
    return found[0]


def kinds(outcome: Outcome) -> list[str]:
    """The class names of an accepted outcome's events, in order."""
    return [type(event).__name__ for event in events_of(outcome)]


def open_position(
    engine: Engine,
    side: Side,
    margin: int = 10_000,
    leverage: int = 10,
    *,
    take_profit: int | None = None,
    stop_loss: int | None = None,
    trailing_distance: int | None = None,
    account_id: int = ACCOUNT,
    asset: str = "TST",
    ts: int = T0,
) -> PositionOpened:
    """Place a market order that must open; return its PositionOpened."""
    command = order(
        side,
        margin,
        leverage,
        take_profit=take_profit,
        stop_loss=stop_loss,
        trailing_distance=trailing_distance,
        account_id=account_id,
        asset=asset,
        ts=ts,
    )
    return only(engine.apply(command), PositionOpened)


def place_pending(
    engine: Engine,
    side: Side,
    order_type: OrderType,
    price: int,
    margin: int = 10_000,
    leverage: int = 10,
    *,
    take_profit: int | None = None,
    stop_loss: int | None = None,
    trailing_distance: int | None = None,
    expires_at: int | None = None,
    account_id: int = ACCOUNT,
    asset: str = "TST",
    ts: int = T0,
) -> OrderPlaced:
    """Place a limit or stop entry that must be accepted; return its OrderPlaced."""
    command = order(
        side,
        margin,
        leverage,
        order_type=order_type,
        price=price,
        take_profit=take_profit,
        stop_loss=stop_loss,
        trailing_distance=trailing_distance,
        expires_at=expires_at,
        account_id=account_id,
        asset=asset,
        ts=ts,
    )
    return only(engine.apply(command), OrderPlaced)


def view(engine: Engine, account_id: int = ACCOUNT) -> AccountView:
    """The account's figures; the account must exist."""
    result = engine.account(account_id)
    assert isinstance(result, AccountView), result
    return result


def money_is_conserved(engine: Engine) -> bool:
    """``sum(balances) + house_balance == deposited - withdrawn``."""
    state = engine.state
    balances = sum((account.balance for account in state.accounts.values()), Cents(0))
    return balances + state.house_balance == state.deposited
