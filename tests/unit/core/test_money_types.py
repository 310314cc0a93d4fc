"""The money types are told apart by the type checker: mypy, run on a snippet, refuses a price
returned as cents, cents passed as a quantity step and a price passed as a close's PnL, and
accepts each amount in its place (a scaled type still passes where a plain ``int`` is asked
for)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

from cryptocfd.core.money import Bps, Cents, PriceTicks, QtyUnits

PROJECT = Path(__file__).resolve().parents[3]

MIXED_UP = """
from cryptocfd.core.money import Cents, PriceTicks, QtyUnits
from cryptocfd.trading.commands import Side
from cryptocfd.trading.events import CloseReason, PositionClosed
from cryptocfd.trading.margin import quantity_for


def margin_of(price: PriceTicks) -> Cents:
    return price


def bought(notional: Cents, price: PriceTicks, divisor: int) -> QtyUnits:
    return quantity_for(notional, price, divisor, notional)


def closed(price: PriceTicks, qty: QtyUnits) -> PositionClosed:
    side, reason = Side.LONG, CloseReason.CLOSED
    return PositionClosed(1, 1, "BTC", side, reason, qty, 0, price, price, price, 0, 0, None, 9)
"""

IN_PLACE = """
from cryptocfd.core.money import Bps, Cents, PriceTicks, QtyUnits
from cryptocfd.trading.margin import capped_pnl, liquidation_price, quantity_for


def bought(notional: Cents, price: PriceTicks, divisor: int, step: QtyUnits) -> QtyUnits:
    return quantity_for(notional, price, divisor, step)


def profit(price: PriceTicks, quantity: QtyUnits, margin: Cents, divisor: int) -> Cents:
    return capped_pnl(True, price, price, quantity, margin, divisor)


def liquidation(price: PriceTicks, quantity: QtyUnits, margin: Cents, bps: Bps) -> PriceTicks:
    return liquidation_price(True, price, quantity, margin, bps, 10**6)
"""


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    """mypy --strict's findings on both snippets, in one run (a run costs seconds)."""
    folder = tmp_path_factory.mktemp("snippets")
    (folder / "mixed_up.py").write_text(MIXED_UP)
    (folder / "in_place.py").write_text(IN_PLACE)
    out, err, _status = api.run(
        [
            "--strict",
            "--no-error-summary",
            "--follow-imports=silent",
            "--config-file",
            str(PROJECT / "pyproject.toml"),
            "--cache-dir",
            str(folder / "cache"),
            str(folder / "mixed_up.py"),
            str(folder / "in_place.py"),
        ]
    )
    assert not err
    return out


def _errors(out: str, snippet: str) -> list[str]:
    return [line.split(" error: ")[1] for line in out.splitlines() if f"{snippet}.py:" in line]


def test_mypy_when_a_price_is_passed_as_cents_or_cents_as_a_quantity_refuses_both(
    mypy_output: str,
) -> None:
    assert _errors(mypy_output, "mixed_up") == [
        'Incompatible return value type (got "PriceTicks", expected "Cents")  [return-value]',
        'Argument 4 to "quantity_for" has incompatible type "Cents"; expected "QtyUnits"  '
        "[arg-type]",
        'Argument 10 to "PositionClosed" has incompatible type "PriceTicks"; expected "Cents"  '
        "[arg-type]",
    ]


def test_mypy_when_each_amount_is_in_its_place_accepts_it(mypy_output: str) -> None:
    assert _errors(mypy_output, "in_place") == []


def test_money_types_are_plain_ints_at_run_time() -> None:
    amounts = (Cents(1_000_000), PriceTicks(6_500_000), QtyUnits(100_000_000), Bps(5000))

    assert [type(amount) for amount in amounts] == [int] * 4
    assert amounts == (1_000_000, 6_500_000, 100_000_000, 5000)
