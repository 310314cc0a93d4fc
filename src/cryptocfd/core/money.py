"""Integer money with named scales, and the only place decimals are parsed or printed.

Account currency is held in integer cents, quantities in integer units of 1e-8 and prices in
integer ticks whose scale is the asset's price decimals. Every division says which way it rounds.

Each scale has its type so the type checker tells them apart: a ``PriceTicks`` passed where
``Cents`` are expected is an error, and so is adding one to the other. Their arithmetic keeps
the scale it means (``docs/engine.md``, "Scales"): ``Cents + Cents`` is ``Cents``, a price
times a quantity is a ``PriceQty``, and that divided by the asset's ``ValueDivisor`` is
``Cents`` again. They are plain ``int`` at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Self, TypeVar, overload

if TYPE_CHECKING:
    # What the type checker sees: each scale is an ``int`` subclass whose operators keep the
    # scale where the arithmetic means one (cents plus cents are cents, a price times a
    # quantity is a ``PriceQty``) and refuse to mix two scales (cents plus a price). A scaled
    # value still passes wherever a plain ``int`` is asked for; arithmetic with a plain ``int``
    # gives a plain ``int``, except that multiplying or dividing by one keeps the scale.
    #
    # Narrowing ``int``'s operators breaks its signatures on purpose, hence the ignores.

    class _Additive(int):
        """A scale that adds, subtracts and compares only with itself."""

        def __new__(cls, value: int, /) -> Self: ...
        def __add__(self, other: Self, /) -> Self: ...  # type: ignore[override]
        def __radd__(self, other: Self, /) -> Self: ...  # type: ignore[override]
        def __sub__(self, other: Self, /) -> Self: ...  # type: ignore[override]
        def __rsub__(self, other: Self, /) -> Self: ...  # type: ignore[override]
        def __neg__(self) -> Self: ...
        def __pos__(self) -> Self: ...
        def __abs__(self) -> Self: ...
        def __lt__(self, other: Self, /) -> bool: ...  # type: ignore[override]
        def __le__(self, other: Self, /) -> bool: ...  # type: ignore[override]
        def __gt__(self, other: Self, /) -> bool: ...  # type: ignore[override]
        def __ge__(self, other: Self, /) -> bool: ...  # type: ignore[override]

    class _Amount(_Additive):
        """An amount that a plain factor scales and a plain divisor divides, keeping its scale;
        divided by its own scale it is a plain ratio."""

        def __mul__(self, other: int, /) -> Self: ...
        def __mod__(self, other: int, /) -> Self: ...
        @overload
        def __floordiv__(self, other: Self, /) -> int: ...
        @overload
        def __floordiv__(self, other: int, /) -> Self: ...
        def __floordiv__(self, other: int, /) -> int: ...

    class Cents(_Amount):
        """Account currency in hundredths: ``1_000_000`` is 10,000.00 USD."""

        @overload
        def __mul__(self, other: ValueDivisor, /) -> PriceQty: ...
        @overload
        def __mul__(self, other: int, /) -> Cents: ...
        def __mul__(self, other: int, /) -> int: ...
        def __rmul__(self, other: int, /) -> Cents: ...

    class PriceTicks(_Amount):
        """A price in ticks of ``10^-price_decimals`` of the quote currency, at its asset's
        ``price_decimals`` (``AssetSpec``): BTC at 2 decimals, ``6_500_000`` is 65,000.00.
        A difference of two prices (a trailing distance, a move) is in ticks too."""

        @overload
        def __mul__(self, other: QtyUnits, /) -> PriceQty: ...
        @overload
        def __mul__(self, other: int, /) -> PriceTicks: ...
        def __mul__(self, other: int, /) -> int: ...

    class QtyUnits(_Amount):
        """A quantity in units of 1e-8 of the asset: ``100_000_000`` is one coin."""

        @overload
        def __mul__(self, other: PriceTicks, /) -> PriceQty: ...
        @overload
        def __mul__(self, other: int, /) -> QtyUnits: ...
        def __mul__(self, other: int, /) -> int: ...

    class Bps(_Additive):
        """Basis points, hundredths of a percent: ``10_000`` is the whole. Multiplying by
        basis points scales the other factor (``price * bps // BPS`` is a price)."""

    class PriceQty(_Additive):
        """A price times a quantity (``PriceTicks * QtyUnits``), or cents times an asset's
        ``ValueDivisor``: the same scale, ``10^-(price_decimals + 8)`` of the quote currency.
        Dividing it by the divisor gives cents, by a price a quantity, by a quantity a price."""

        def __mul__(self, other: int, /) -> PriceQty: ...
        @overload
        def __floordiv__(self, other: ValueDivisor, /) -> Cents: ...
        @overload
        def __floordiv__(self, other: PriceTicks, /) -> QtyUnits: ...
        @overload
        def __floordiv__(self, other: QtyUnits, /) -> PriceTicks: ...
        @overload
        def __floordiv__(self, other: int, /) -> int: ...
        def __floordiv__(self, other: int, /) -> int: ...

    class ValueDivisor(int):
        """An asset's ``price_ticks * quantity_units`` per cent (``AssetSpec.value_divisor``)."""

        def __new__(cls, value: int, /) -> ValueDivisor: ...

else:
    # At run time each is ``int`` itself: no wrapper object, no call through Python, and the
    # wire and the snapshots hold the same plain ints. ``Cents(x)`` is ``int(x)``, which hands
    # back ``x`` itself for an int.
    Cents = PriceTicks = QtyUnits = Bps = PriceQty = ValueDivisor = int

S = TypeVar("S", bound=int)

CENTS_DECIMALS = 2
CENTS_SCALE = 10**CENTS_DECIMALS
QTY_DECIMALS = 8
QTY_SCALE = 10**QTY_DECIMALS
BPS = Bps(10_000)

# Decimal strings longer than this are refused before any digit is read.
MAX_DECIMAL_CHARS = 32


class DecimalFormatError(ValueError):
    """A decimal string that cannot be an amount at the requested scale."""


def floor_div(numerator: int, denominator: int) -> int:
    """Divide rounding toward minus infinity (Python's own ``//``), named for the reader."""
    return numerator // denominator


def ceil_div(numerator: int, denominator: int) -> int:
    """Divide rounding toward plus infinity."""
    return -(-numerator // denominator)


def parse_scaled(text: str, decimals: int) -> int:
    """Parse a plain decimal string into an integer at ``decimals`` places, exactly.

    The result has whatever scale ``decimals`` names; ``cents`` says its own.

    Refuses exponents, NaN, infinities, signs other than a leading minus, negative zero and more
    fractional digits than the scale holds: nothing is silently rounded at the edge.
    """
    if not text or len(text) > MAX_DECIMAL_CHARS:
        raise DecimalFormatError("not a decimal of a reasonable length")
    body = text[1:] if text.startswith("-") else text
    whole, dot, frac = body.partition(".")
    if (
        not whole.isdigit()
        or not whole.isascii()
        or (dot and not (frac.isdigit() and frac.isascii()))
    ):
        raise DecimalFormatError("expected digits with an optional fraction, like 12.34")
    if len(frac) > decimals:
        raise DecimalFormatError(f"at most {decimals} decimal places")
    if text.startswith("-") and not (whole + frac).strip("0"):
        raise DecimalFormatError("negative zero is not an amount")
    # Built from the digits themselves: Decimal arithmetic would round past 28 digits.
    value = int(whole + frac.ljust(decimals, "0"))
    return -value if text.startswith("-") else value


def format_scaled(value: int, decimals: int) -> str:
    """Print an integer at ``decimals`` places as a plain decimal string (any scale)."""
    if decimals == 0:
        return str(value)
    sign = "-" if value < 0 else ""
    digits = str(abs(value)).rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


def cents(text: str) -> Cents:
    """Parse an account-currency amount like ``"10000.00"`` into cents."""
    return Cents(parse_scaled(text, CENTS_DECIMALS))


def format_cents(value: Cents) -> str:
    """Print cents as a currency amount with two decimals."""
    return format_scaled(value, CENTS_DECIMALS)


def scaled_or_none(scale: Callable[[int], S], value: int | None) -> S | None:
    """An optional amount read at an edge, at its scale: ``scale(value)``, ``None`` kept."""
    return None if value is None else scale(value)
