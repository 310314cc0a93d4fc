"""Position arithmetic in integers, every rounding toward the house.

``D`` below is an asset's value divisor: ``price_ticks * quantity_units // D`` is cents.

Each function says the scale of what it returns (``core.money``), wrapped once at its return.
Most arguments are still plain ``int``: the rules pass figures their own arithmetic computes,
which will say their scale when the rules' code does (without a NewType call per value).
"""

from __future__ import annotations

from cryptocfd.core.money import BPS, Bps, Cents, PriceTicks, QtyUnits


def quantity_for(notional: int, price: int, divisor: int, step: QtyUnits) -> QtyUnits:
    """Quantity bought by ``notional`` cents at ``price``, rounded down to the asset's step."""
    raw = notional * divisor // price
    return QtyUnits(raw - raw % step)


def pnl(long: bool, open_price: int, close_price: int, quantity: int, divisor: int) -> Cents:  # noqa: FBT001
    """Profit in cents of closing ``quantity`` at ``close_price``, floored (toward the house)."""
    move = close_price - open_price if long else open_price - close_price
    return Cents(move * quantity // divisor)


def capped_pnl(
    long: bool,  # noqa: FBT001
    open_price: int,
    close_price: int,
    quantity: int,
    margin: int,
    divisor: int,
) -> Cents:
    """PnL with negative balance protection: a position never loses more than its margin."""
    value = pnl(long, open_price, close_price, quantity, divisor)
    return value if value > -margin else Cents(-margin)


def liquidation_price(
    long: bool,  # noqa: FBT001
    open_price: int,
    quantity: int,
    margin: int,
    maintenance_bps: Bps,
    divisor: int,
) -> PriceTicks:
    """Mark price at which the position's equity falls to ``maintenance_bps`` of its margin.

    The distance from the open price is floored, so the trigger sits at or before the exact point:
    a long's at or above it, a short's at or below it.
    """
    distance = margin * (BPS - maintenance_bps) * divisor // (quantity * BPS)
    return PriceTicks(open_price - distance if long else open_price + distance)
