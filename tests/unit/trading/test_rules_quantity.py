"""Orders sized by quantity (docs/engine.md, "Orders"): the position holds exactly the
quantity asked, the margin is ``quantity * price / (D * leverage)`` rounded up to the cent, and
a pending entry's at the price it fills at, and a margin-sized order encodes and fingerprints
exactly as it did before quantities existed."""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from cryptocfd.core.money import Bps, Cents, PriceTicks, QtyUnits
from cryptocfd.core.wire import Int, WireBps, WireCents, WirePrice
from cryptocfd.trading.commands import OrderType, PlaceOrder, Side
from cryptocfd.trading.events import OrderPlaced, OrderRejected, PositionOpened
from cryptocfd.trading.fingerprint import fingerprint_of
from cryptocfd.trading.rejections import RejectCode
from tests.unit.trading.builders import (
    LIMIT,
    LONG,
    SHORT,
    STOP,
    T0,
    TST_STEP,
    UNIT,
    code_of,
    make_engine,
    money_is_conserved,
    only,
    order,
    tick,
    view,
)


def by_quantity(side: Side, quantity: int, leverage: int = 7, **how: object) -> PlaceOrder:
    """``order`` sized by ``quantity`` (margin 0)."""
    command = order(side, 0, leverage, **how)  # type: ignore[arg-type]
    return msgspec.structs.replace(command, quantity=QtyUnits(quantity))


def test_a_market_order_by_quantity_opens_exactly_it_with_the_margin_rounded_up() -> None:
    engine = make_engine(bid=1000)  # TST: D = 10^6, so 0.37 at 1000 is 370.00 of notional

    opened = only(engine.apply(by_quantity(LONG, 37 * TST_STEP, leverage=7)), PositionOpened)

    assert opened.quantity == 37 * TST_STEP
    assert opened.margin == 5286  # 37,000 cents / 7 = 5,285.71...: the trader posts the cent
    assert view(engine).used_margin == 5286


def test_a_quantity_that_divides_evenly_posts_the_exact_margin() -> None:
    engine = make_engine(bid=1000)

    opened = only(engine.apply(by_quantity(SHORT, 2 * UNIT, leverage=4)), PositionOpened)

    assert (opened.quantity, opened.margin) == (2 * UNIT, 50_000)  # 2,000.00 / 4


def test_a_limit_entry_by_quantity_reserves_at_its_price_and_fills_with_the_fill_s_margin() -> None:
    engine = make_engine(bid=1000)
    placed = only(
        engine.apply(by_quantity(LONG, 3 * TST_STEP, leverage=7, order_type=LIMIT, price=999)),
        OrderPlaced,
    )

    filled = only(tick(engine, 950, ts=T0 + 1), PositionOpened)  # fills at 950, better

    assert placed.quantity == 3 * TST_STEP
    assert placed.margin == 429  # 0.03 x 999 = 29.97 of notional, / 7 = 4.2814... -> 4.29
    # 0.03 x 950 = 28.50, / 7 = 4.0714... -> 4.08: the better fill releases 0.21
    assert (filled.quantity, filled.margin, filled.open_price) == (3 * TST_STEP, 408, 950)
    assert view(engine).used_margin == 408


def test_a_stop_entry_by_quantity_that_gaps_posts_the_margin_at_its_fill_price() -> None:
    engine = make_engine(bid=1000)
    placed = only(
        engine.apply(by_quantity(LONG, UNIT, leverage=100, order_type=STOP, price=1010)),
        OrderPlaced,
    )

    filled = only(tick(engine, 1090, ts=T0 + 1), PositionOpened)  # the ask gaps past 1010

    assert placed.margin == 1010  # 1 x 1010 = 1,010.00 of notional at the maximum, 100x
    assert (filled.quantity, filled.open_price, filled.margin) == (UNIT, 1090, 1090)
    assert view(engine).used_margin == 1090  # never more than 100x: 1,090.00 / 10.90
    assert money_is_conserved(engine)


@pytest.mark.parametrize(("balance", "fills"), [(1090, True), (1089, False)])
def test_a_gapped_stop_by_quantity_takes_the_margin_it_lacks_from_free_margin_or_is_rejected(
    balance: int, *, fills: bool
) -> None:
    engine = make_engine(bid=1000, balance=balance)  # 10.10 reserved, 0.80 more at 1090
    only(
        engine.apply(by_quantity(LONG, UNIT, leverage=100, order_type=STOP, price=1010)),
        OrderPlaced,
    )

    outcome = tick(engine, 1090, ts=T0 + 1)

    if fills:
        assert only(outcome, PositionOpened).margin == 1090
        assert view(engine).free_margin == 0
    else:
        rejected = only(outcome, OrderRejected)
        assert (rejected.code, rejected.margin) == (RejectCode.INSUFFICIENT_BALANCE, 1010)
        assert engine.state.positions == {} and engine.state.pending == {}
        assert (view(engine).used_margin, view(engine).balance) == (0, 1089)
    assert money_is_conserved(engine)


def test_a_quantity_whose_margin_is_beyond_the_free_margin_is_refused() -> None:
    engine = make_engine(bid=1000, balance=5285)  # a cent short of 0.37 at 7x

    outcome = engine.apply(by_quantity(LONG, 37 * TST_STEP, leverage=7))

    assert code_of(outcome) is RejectCode.INSUFFICIENT_BALANCE


@pytest.mark.parametrize(
    ("margin", "quantity", "code"),
    [
        (100, TST_STEP, RejectCode.INVALID_QUANTITY),  # both
        (0, 0, RejectCode.INVALID_QUANTITY),
        (0, -TST_STEP, RejectCode.INVALID_QUANTITY),
        (0, TST_STEP + 1, RejectCode.INVALID_QUANTITY),  # off the asset's step
    ],
)
def test_a_badly_sized_order_is_refused_and_changes_nothing(
    margin: int, quantity: int, code: RejectCode
) -> None:
    engine = make_engine(bid=1000)
    before = engine.state_hash()
    command = msgspec.structs.replace(order(LONG, margin), quantity=QtyUnits(quantity))

    assert code_of(engine.apply(command)) is code
    assert engine.state_hash() != before  # the request id is remembered with its rejection
    assert engine.state.positions == {} and engine.state.pending == {}


def test_an_order_with_neither_margin_nor_quantity_is_invalid_margin() -> None:
    engine = make_engine(bid=1000)

    assert code_of(engine.apply(order(LONG, 0))) is RejectCode.INVALID_MARGIN


class PlaceOrderBeforeQuantities(msgspec.Struct, frozen=True, tag="PlaceOrder"):
    """``PlaceOrder`` as it was declared before it took a quantity."""

    request_id: str
    ts: Int
    account_id: Int
    asset: str
    side: Side
    margin: WireCents
    leverage: Int
    order_type: OrderType = OrderType.MARKET
    price: WirePrice | None = None
    take_profit: WirePrice | None = None
    stop_loss: WirePrice | None = None
    trailing_distance: WirePrice | None = None
    expected_price: WirePrice | None = None
    slippage_bps: WireBps | None = None
    expires_at: Int | None = None
    fingerprint: Int | None = None


def test_a_margin_sized_order_encodes_and_fingerprints_as_before_quantities() -> None:
    fields = {
        "request_id": "r-1",
        "ts": T0,
        "account_id": 7,
        "asset": "BTC",
        "side": Side.LONG,
        "margin": Cents(10_000),
        "leverage": 10,
        "order_type": OrderType.LIMIT,
        "price": PriceTicks(6_000_000),
        "slippage_bps": Bps(5),
    }
    now, before = PlaceOrder(**fields), PlaceOrderBeforeQuantities(**fields)  # type: ignore[arg-type]
    canonical = msgspec.structs.replace(before, request_id="", ts=0, fingerprint=None)
    old_digest = hashlib.blake2b(msgspec.msgpack.encode(canonical), digest_size=8).digest()

    assert msgspec.msgpack.encode(now) == msgspec.msgpack.encode(before)
    assert fingerprint_of(now) == int.from_bytes(old_digest, "big") >> 12
    sized = msgspec.structs.replace(now, margin=Cents(0), quantity=QtyUnits(UNIT))
    assert fingerprint_of(sized) != fingerprint_of(now)
