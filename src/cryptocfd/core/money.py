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

from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    # What the type checker sees: each scale is an ``int`` subclass whose operators keep the
    # scale where the arithmetic means one (cents plus cents are cents, a price times a
    # quantity is a ``PriceQty``) and refuse to mix two scales (cents plus a price). A scaled
    # value still passes wherever a plain ``int`` is asked for; arithmetic with a plain ``int``
    # gives a plain ``int``, except that multiplying or dividing by one keeps the scale.
    #
    # Narrowing ``int``'s operators breaks its signatures on purpose, hence the ignores.

    class Cents(int):
        """Account currency in hundredths: ``1_000_000`` is 10,000.00 USD."""

        def __new__(cls, value: int, /) -> Cents: ...
        def __add__(self, other: Cents, /) -> Cents: ...  # type: ignore[override]
        def __radd__(self, other: Cents, /) -> Cents: ...  # type: ignore[override]
        def __sub__(self, other: Cents, /) -> Cents: ...  # type: ignore[override]
        def __rsub__(self, other: Cents, /) -> Cents: ...  # type: ignore[override]
        def __neg__(self) -> Cents: ...
        def __pos__(self) -> Cents: ...
        def __abs__(self) -> Cents: ...
        @overload
        def __mul__(self, other: ValueDivisor, /) -> PriceQty: ...
        @overload
        def __mul__(self, other: int, /) -> Cents: ...
        def __mul__(self, other: int, /) -> int: ...
        def __rmul__(self, other: int, /) -> Cents: ...
        @overload
        def __floordiv__(self, other: Cents, /) -> int: ...
        @overload
        def __floordiv__(self, other: int, /) -> Cents: ...
        def __floordiv__(self, other: int, /) -> int: ...
        def __mod__(self, other: int, /) -> Cents: ...
        def __lt__(self, other: Cents, /) -> bool: ...  # type: ignore[override]
        def __le__(self, other: Cents, /) -> bool: ...  # type: ignore[override]
        def __gt__(self, other: Cents, /) -> bool: ...  # type: ignore[override]
        def __ge__(self, other: Cents, /) -> bool: ...  # type: ignore[override]

    class PriceTicks(int):
        """A price in ticks of ``10^-price_decimals`` of the quote currency, at its asset's
        ``price_decimals`` (``AssetSpec``): BTC at 2 decimals, ``6_500_000`` is 65,000.00.
        A difference of two prices (a trailing distance, a move) is in ticks too."""

        def __new__(cls, value: int, /) -> PriceTicks: ...
        def __add__(self, other: PriceTicks, /) -> PriceTicks: ...  # type: ignore[override]
        def __radd__(self, other: PriceTicks, /) -> PriceTicks: ...  # type: ignore[override]
        def __sub__(self, other: PriceTicks, /) -> PriceTicks: ...  # type: ignore[override]
        def __rsub__(self, other: PriceTicks, /) -> PriceTicks: ...  # type: ignore[override]
        def __neg__(self) -> PriceTicks: ...
        def __pos__(self) -> PriceTicks: ...
        def __abs__(self) -> PriceTicks: ...
        @overload
        def __mul__(self, other: QtyUnits, /) -> PriceQty: ...
        @overload
        def __mul__(self, other: int, /) -> PriceTicks: ...
        def __mul__(self, other: int, /) -> int: ...
        @overload
        def __floordiv__(self, other: PriceTicks, /) -> int: ...
        @overload
        def __floordiv__(self, other: int, /) -> PriceTicks: ...
        def __floordiv__(self, other: int, /) -> int: ...
        def __mod__(self, other: int, /) -> PriceTicks: ...
        def __lt__(self, other: PriceTicks, /) -> bool: ...  # type: ignore[override]
        def __le__(self, other: PriceTicks, /) -> bool: ...  # type: ignore[override]
        def __gt__(self, other: PriceTicks, /) -> bool: ...  # type: ignore[override]
        def __ge__(self, other: PriceTicks, /) -> bool: ...  # type: ignore[override]

    class QtyUnits(int):
        """A quantity in units of 1e-8 of the asset: ``100_000_000`` is one coin."""

        def __new__(cls, value: int, /) -> QtyUnits: ...
        def __add__(self, other: QtyUnits, /) -> QtyUnits: ...  # type: ignore[override]
        def __radd__(self, other: QtyUnits, /) -> QtyUnits: ...  # type: ignore[override]
        def __sub__(self, other: QtyUnits, /) -> QtyUnits: ...  # type: ignore[override]
        def __rsub__(self, other: QtyUnits, /) -> QtyUnits: ...  # type: ignore[override]
        def __neg__(self) -> QtyUnits: ...
        def __pos__(self) -> QtyUnits: ...
        def __abs__(self) -> QtyUnits: ...
        @overload
        def __mul__(self, other: PriceTicks, /) -> PriceQty: ...
        @overload
        def __mul__(self, other: int, /) -> QtyUnits: ...
        def __mul__(self, other: int, /) -> int: ...
        @overload
        def __floordiv__(self, other: QtyUnits, /) -> int: ...
        @overload
        def __floordiv__(self, other: int, /) -> QtyUnits: ...
        def __floordiv__(self, other: int, /) -> int: ...
        def __mod__(self, other: int, /) -> QtyUnits: ...
        def __lt__(self, other: QtyUnits, /) -> bool: ...  # type: ignore[override]
        def __le__(self, other: QtyUnits, /) -> bool: ...  # type: ignore[override]
        def __gt__(self, other: QtyUnits, /) -> bool: ...  # type: ignore[override]
        def __ge__(self, other: QtyUnits, /) -> bool: ...  # type: ignore[override]

    class Bps(int):
        """Basis points, hundredths of a percent: ``10_000`` is the whole."""

        def __new__(cls, value: int, /) -> Bps: ...
        def __add__(self, other: Bps, /) -> Bps: ...  # type: ignore[override]
        def __radd__(self, other: Bps, /) -> Bps: ...  # type: ignore[override]
        def __sub__(self, other: Bps, /) -> Bps: ...  # type: ignore[override]
        def __rsub__(self, other: Bps, /) -> Bps: ...  # type: ignore[override]
        def __neg__(self) -> Bps: ...
        def __lt__(self, other: Bps, /) -> bool: ...  # type: ignore[override]
        def __le__(self, other: Bps, /) -> bool: ...  # type: ignore[override]
        def __gt__(self, other: Bps, /) -> bool: ...  # type: ignore[override]
        def __ge__(self, other: Bps, /) -> bool: ...  # type: ignore[override]

    class PriceQty(int):
        """A price times a quantity (``PriceTicks * QtyUnits``), or cents times an asset's
        ``ValueDivisor``: the same scale, ``10^-(price_decimals + 8)`` of the quote currency.
        Dividing it by the divisor gives cents, by a price a quantity, by a quantity a price."""

        def __new__(cls, value: int, /) -> PriceQty: ...
        def __add__(self, other: PriceQty, /) -> PriceQty: ...  # type: ignore[override]
        def __radd__(self, other: PriceQty, /) -> PriceQty: ...  # type: ignore[override]
        def __sub__(self, other: PriceQty, /) -> PriceQty: ...  # type: ignore[override]
        def __rsub__(self, other: PriceQty, /) -> PriceQty: ...  # type: ignore[override]
        def __neg__(self) -> PriceQty: ...
        def __mul__(self, other: int, /) -> PriceQty: ...
        def __rmul__(self, other: int, /) -> PriceQty: ...
        @overload
        def __floordiv__(self, other: ValueDivisor, /) -> Cents: ...
        @overload
        def __floordiv__(self, other: PriceTicks, /) -> QtyUnits: ...
        @overload
        def __floordiv__(self, other: QtyUnits, /) -> PriceTicks: ...
        @overload
        def __floordiv__(self, other: int, /) -> int: ...
        def __floordiv__(self, other: int, /) -> int: ...
        def __lt__(self, other: PriceQty, /) -> bool: ...  # type: ignore[override]
        def __le__(self, other: PriceQty, /) -> bool: ...  # type: ignore[override]
        def __gt__(self, other: PriceQty, /) -> bool: ...  # type: ignore[override]
        def __ge__(self, other: PriceQty, /) -> bool: ...  # type: ignore[override]

    class ValueDivisor(int):
        """An asset's ``price_ticks * quantity_units`` per cent (``AssetSpec.value_divisor``)."""

        def __new__(cls, value: int, /) -> ValueDivisor: ...

else:
    # At run time each is ``int`` itself: no wrapper object, no call through Python, and the
    # wire and the snapshots hold the same plain ints. ``Cents(x)`` is ``int(x)``, which hands
    # back ``x`` itself for an int.
    Cents = PriceTicks = QtyUnits = Bps = PriceQty = ValueDivisor = int

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
