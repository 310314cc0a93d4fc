"""The money types are told apart by the type checker, and cost nothing at run time.

mypy --strict, run on small snippets, refuses each mix-up below (a price returned as cents,
cents added to a price, a price passed as a deposit...) and accepts the arithmetic the engine
does (a price times a quantity over the divisor is cents). The same refusals, type-checked
against plain ``int`` aliases, pass: each one is the scale types' doing. At run time the types
are ``int`` itself, and a command or event encodes to the bytes its plain-int twin does.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from mypy import api

from cryptocfd.core.money import Bps, Cents, PriceTicks, QtyUnits, ValueDivisor
from cryptocfd.core.wire import Int
from cryptocfd.trading.commands import OrderType, PlaceOrder, Side
from cryptocfd.trading.events import CloseReason, PositionClosed

PROJECT = Path(__file__).resolve().parents[3]

HEADER = """\
from cryptocfd.core.money import Bps, Cents, PriceQty, PriceTicks, QtyUnits, ValueDivisor
from cryptocfd.core.tick import Tick
from cryptocfd.trading.commands import Deposit, Side
from cryptocfd.trading.events import CloseReason, PositionClosed
from cryptocfd.trading.margin import quantity_for
"""

# name -> (snippet body, the one error mypy reports on it). Each body uses its arguments so
# that nothing but the mix-up is wrong.
REFUSALS = {
    "price_returned_as_cents": (
        "def f(price: PriceTicks) -> Cents:\n    return price\n",
        'Incompatible return value type (got "PriceTicks", expected "Cents")  [return-value]',
    ),
    "cents_added_to_a_price": (
        "def f(margin: Cents, price: PriceTicks) -> None:\n    _ = margin + price\n",
        'Unsupported operand types for + ("Cents" and "PriceTicks")  [operator]',
    ),
    "price_less_quantity": (
        "def f(price: PriceTicks, qty: QtyUnits) -> None:\n    _ = price - qty\n",
        'Unsupported operand types for - ("PriceTicks" and "QtyUnits")  [operator]',
    ),
    "cents_compared_with_a_price": (
        "def f(margin: Cents, price: PriceTicks) -> None:\n    _ = margin < price\n",
        'Unsupported operand types for < ("Cents" and "PriceTicks")  [operator]',
    ),
    "value_taken_for_a_quantity": (
        "def f(price: PriceTicks, qty: QtyUnits, d: ValueDivisor) -> QtyUnits:\n"
        "    return price * qty // d\n",
        'Incompatible return value type (got "Cents", expected "QtyUnits")  [return-value]',
    ),
    "product_taken_for_cents": (
        "def f(price: PriceTicks, qty: QtyUnits) -> Cents:\n    return price * qty\n",
        'Incompatible return value type (got "PriceQty", expected "Cents")  [return-value]',
    ),
    "bps_added_to_cents": (
        "def f(margin: Cents, bps: Bps) -> None:\n    _ = margin + bps\n",
        'Unsupported operand types for + ("Cents" and "Bps")  [operator]',
    ),
    "price_deposited": (
        "def f(price: PriceTicks) -> Deposit:\n    return Deposit('r', 1, 7, price)\n",
        'Argument 4 to "Deposit" has incompatible type "PriceTicks"; expected "Cents"  [arg-type]',
    ),
    "cents_quoted_as_a_bid": (
        "def f(margin: Cents, price: PriceTicks) -> Tick:\n"
        "    return Tick('BTC', margin, price, 1)\n",
        'Argument 2 to "Tick" has incompatible type "Cents"; expected "PriceTicks"  [arg-type]',
    ),
    "price_as_a_closes_pnl": (
        "def f(price: PriceTicks, qty: QtyUnits, margin: Cents) -> PositionClosed:\n"
        "    side, reason = Side.LONG, CloseReason.CLOSED\n"
        "    return PositionClosed(\n"
        "        1, 1, 'BTC', side, reason, qty, margin, price, price, price, qty, margin,\n"
        "        None, 9,\n"
        "    )\n",
        'Argument 10 to "PositionClosed" has incompatible type "PriceTicks"; expected "Cents"  '
        "[arg-type]",
    ),
    "cents_as_a_quantity_step": (
        "def f(notional: Cents, price: PriceTicks, d: ValueDivisor) -> QtyUnits:\n"
        "    return quantity_for(notional, price, d, notional)\n",
        'Argument 4 to "quantity_for" has incompatible type "Cents"; expected "QtyUnits"  '
        "[arg-type]",
    ),
}

# Refusals that need nothing but the money types: the control run checks them again with the
# types made plain ``int``, where each must pass.
ARITHMETIC = [
    "price_returned_as_cents",
    "cents_added_to_a_price",
    "price_less_quantity",
    "cents_compared_with_a_price",
    "value_taken_for_a_quantity",
    "product_taken_for_cents",
    "bps_added_to_cents",
]

PLAIN_INTS = """\
PriceQty = int
Cents = int
PriceTicks = int
QtyUnits = int
Bps = int
ValueDivisor = int
"""

IN_PLACE = """\
from cryptocfd.core.money import BPS, Bps, Cents, PriceQty, PriceTicks, QtyUnits, ValueDivisor
from cryptocfd.trading.margin import capped_pnl, liquidation_price, quantity_for


def pnl(open_: PriceTicks, close: PriceTicks, qty: QtyUnits, d: ValueDivisor) -> Cents:
    return (close - open_) * qty // d


def bought(notional: Cents, price: PriceTicks, d: ValueDivisor, step: QtyUnits) -> QtyUnits:
    raw = notional * d // price
    return raw - raw % step


def margin_of(margin: Cents, fraction: Bps) -> Cents:
    return -(-margin * fraction // BPS)


def free(balance: Cents, used: Cents, pnls: list[Cents]) -> Cents:
    total = sum(pnls, Cents(0))
    return balance - used + total if total < 0 else balance - used


def value(price: PriceTicks, qty: QtyUnits) -> PriceQty:
    return price * qty + qty * price


def ratio(equity: Cents, used: Cents) -> int:
    return equity * BPS // used


def spread(price: PriceTicks, bps: Bps) -> PriceTicks:
    return abs(price - price // 2) * bps // (2 * BPS)


def plain(margin: Cents, price: PriceTicks) -> int:
    as_int: int = margin
    return as_int + price + 1


def rules(price: PriceTicks, qty: QtyUnits, margin: Cents, bps: Bps, d: ValueDivisor) -> bool:
    liq = liquidation_price(True, price, qty, margin, bps, d)
    profit = capped_pnl(True, price, liq, qty, margin, d)
    return quantity_for(margin, price, d, qty) > 0 and profit > -margin
"""


def _mypy(folder: Path, files: list[Path]) -> str:
    out, err, _status = api.run(
        [
            "--strict",
            "--no-error-summary",
            "--follow-imports=silent",
            "--config-file",
            str(PROJECT / "pyproject.toml"),
            "--cache-dir",
            str(folder / "cache"),
            *map(str, files),
        ]
    )
    assert not err
    return out


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """mypy --strict's errors by snippet, in one run (a run costs seconds)."""
    folder = tmp_path_factory.mktemp("snippets")
    files = []
    for name, (body, _error) in REFUSALS.items():
        files.append(folder / f"{name}.py")
        files[-1].write_text(f"{HEADER}\n\n{body}")
    files.append(folder / "in_place.py")
    files[-1].write_text(IN_PLACE)
    return _errors(_mypy(folder, files))


@pytest.fixture(scope="module")
def plain_findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The same arithmetic refusals checked with every scale a plain ``int``."""
    folder = tmp_path_factory.mktemp("plain")
    files = []
    for name in ARITHMETIC:
        files.append(folder / f"{name}.py")
        files[-1].write_text(f"{PLAIN_INTS}\n\n{REFUSALS[name][0]}")
    return _errors(_mypy(folder, files))


def _errors(out: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        if " error: " in line:
            where, message = line.split(" error: ")
            found.setdefault(Path(where.split(":")[0]).stem, []).append(message)
    return found


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_mypy_when_two_scales_are_mixed_up_refuses_it(
    findings: dict[str, list[str]], name: str
) -> None:
    assert findings.get(name) == [REFUSALS[name][1]]


@pytest.mark.parametrize("name", ARITHMETIC)
def test_mypy_when_the_scales_are_plain_ints_lets_the_same_mix_up_pass(
    plain_findings: dict[str, list[str]], name: str
) -> None:
    assert plain_findings.get(name) is None


def test_mypy_when_each_amount_is_in_its_place_accepts_the_engines_arithmetic(
    findings: dict[str, list[str]],
) -> None:
    assert findings.get("in_place") is None


def test_money_types_are_plain_ints_at_run_time() -> None:
    amount = 1_000_000
    amounts = (Cents(amount), PriceTicks(6_500_000), QtyUnits(10**8), Bps(5000), ValueDivisor(1))

    assert [type(a) for a in amounts] == [int] * 5
    assert Cents(amount) is amount  # no wrapper object: int(x) of an int is x
    assert amounts == (1_000_000, 6_500_000, 100_000_000, 5000, 1)


class _PlainPlaceOrder(msgspec.Struct, frozen=True, tag="PlaceOrder", gc=False):
    """``PlaceOrder`` as it was declared before its fields said their scale."""

    request_id: str
    ts: Int
    account_id: Int
    asset: str
    side: Side
    margin: Int
    leverage: Int
    order_type: OrderType = OrderType.MARKET
    price: Int | None = None
    take_profit: Int | None = None
    stop_loss: Int | None = None
    trailing_distance: Int | None = None
    expected_price: Int | None = None
    slippage_bps: Int | None = None
    expires_at: Int | None = None
    fingerprint: Int | None = None


class _PlainPositionClosed(
    msgspec.Struct, frozen=True, tag="PositionClosed", gc=False, array_like=True
):
    """``PositionClosed`` with every amount a plain ``int``."""

    order_id: int
    account_id: int
    asset: str
    side: Side
    reason: CloseReason
    quantity: int
    margin: int
    open_price: int
    close_price: int
    pnl: int
    remaining_quantity: int
    remaining_margin: int
    liquidation_price: int | None
    ts: int
    leverage: int = 0
    opened_at: int | None = None


T0 = 1_700_000_000_000


def test_a_command_with_scaled_fields_encodes_to_the_bytes_of_its_plain_int_twin() -> None:
    typed = PlaceOrder(
        "r1", T0, 7, "BTC", Side.SHORT, Cents(10_000), 10, OrderType.LIMIT, PriceTicks(6_600_000),
        PriceTicks(6_000_000), PriceTicks(6_700_000), PriceTicks(5_000), None, Bps(25), T0 + 9,
    )  # fmt: skip
    plain = _PlainPlaceOrder(
        "r1", T0, 7, "BTC", Side.SHORT, 10_000, 10, OrderType.LIMIT, 6_600_000,
        6_000_000, 6_700_000, 5_000, None, 25, T0 + 9,
    )  # fmt: skip

    for codec in (msgspec.msgpack, msgspec.json):
        assert codec.encode(typed) == codec.encode(plain)
        assert codec.decode(codec.encode(plain), type=PlaceOrder) == typed


def test_an_event_with_scaled_fields_encodes_to_the_bytes_of_its_plain_int_twin() -> None:
    typed = PositionClosed(
        7, 3, "BTC", Side.LONG, CloseReason.STOP_LOSS, QtyUnits(769_000), Cents(5_000),
        PriceTicks(6_500_000), PriceTicks(6_490_000), Cents(-769), QtyUnits(769_000),
        Cents(5_000), PriceTicks(6_175_001), T0 + 60_000, 10, T0,
    )  # fmt: skip
    plain = _PlainPositionClosed(
        7, 3, "BTC", Side.LONG, CloseReason.STOP_LOSS, 769_000, 5_000, 6_500_000, 6_490_000,
        -769, 769_000, 5_000, 6_175_001, T0 + 60_000, 10, T0,
    )  # fmt: skip

    assert msgspec.msgpack.encode(typed) == msgspec.msgpack.encode(plain)
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(plain), type=PositionClosed) == typed


def test_decoding_a_scaled_command_field_still_holds_the_53_bit_bound() -> None:
    plain = _PlainPlaceOrder("r1", T0, 7, "BTC", Side.LONG, 2**53 + 1, 10)

    with pytest.raises(msgspec.ValidationError, match=r"Expected `int` <= 9007199254740992"):
        msgspec.json.decode(msgspec.json.encode(plain), type=PlaceOrder)
