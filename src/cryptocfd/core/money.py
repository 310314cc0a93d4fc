"""Integer money with named scales, and the only place decimals are parsed or printed.

Account currency is held in integer cents, quantities in integer units of 1e-8 and prices in
integer ticks whose scale is the asset's price decimals. Every division says which way it rounds.

Each scale has its ``NewType`` so the type checker tells them apart: a ``PriceTicks`` passed
where ``Cents`` are expected is an error. They are plain ``int`` at run time; arithmetic on them
gives ``int`` again, so code that computes a new amount says its scale once, at the return of
the function that produces it.
"""

from __future__ import annotations

from typing import NewType

Cents = NewType("Cents", int)
"""Account currency in hundredths: ``1_000_000`` is 10,000.00 USD."""

PriceTicks = NewType("PriceTicks", int)
"""A price in ticks of ``10^-price_decimals`` of the quote currency, at its asset's
``price_decimals`` (``AssetSpec``): BTC at 2 decimals, ``6_500_000`` is 65,000.00."""

QtyUnits = NewType("QtyUnits", int)
"""A quantity in units of 1e-8 of the asset: ``100_000_000`` is one coin."""

Bps = NewType("Bps", int)
"""Basis points, hundredths of a percent: ``10_000`` is the whole."""

CENTS_DECIMALS = 2
CENTS_SCALE = 10**CENTS_DECIMALS
QTY_DECIMALS = 8
QTY_SCALE = 10**QTY_DECIMALS
BPS = 10_000

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


def format_cents(value: int) -> str:
    """Print cents as a currency amount with two decimals.

    It takes any ``int``, not only ``Cents``: most engine figures (balances, margins) are still
    plain ints where the rules compute them.
    """
    return format_scaled(value, CENTS_DECIMALS)
