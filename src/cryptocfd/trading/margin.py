"""Position arithmetic in integers, every rounding toward the house.

``D`` below is an asset's value divisor: ``price_ticks * quantity_units // D`` is cents.

Every argument and result says its scale (``core.money``), and the arithmetic keeps it: a
price times a quantity over the divisor is cents, cents times the divisor over a price is a
quantity, so nothing is wrapped but the step rounding.
"""

from __future__ import annotations

from cryptocfd.core.money import BPS, Bps, Cents, PriceTicks, QtyUnits, ValueDivisor


def quantity_for(
    notional: Cents, price: PriceTicks, divisor: ValueDivisor, step: QtyUnits
) -> QtyUnits:
    """Quantity bought by ``notional`` cents at ``price``, rounded down to the asset's step."""
    raw = notional * divisor // price
    return raw - raw % step


def margin_for(
    quantity: QtyUnits, price: PriceTicks, leverage: int, divisor: ValueDivisor
) -> Cents:
    """Margin that holds ``quantity`` at ``price`` with ``leverage``: the notional over the
    leverage, rounded up to the cent (toward the house: the trader posts the odd cent)."""
    # ceil(ceil(x / a) / b) is ceil(x / (a * b)): the notional in cents, rounded up, then over
    # the leverage, rounded up.
    notional = -(-(quantity * price) // divisor)
    return -(-notional // leverage)


def pnl(
    long: bool,  # noqa: FBT001
    open_price: PriceTicks,
    close_price: PriceTicks,
    quantity: QtyUnits,
    divisor: ValueDivisor,
) -> Cents:
    """Profit in cents of closing ``quantity`` at ``close_price``, floored (toward the house)."""
    move = close_price - open_price if long else open_price - close_price
    return move * quantity // divisor


def capped_pnl(
    long: bool,  # noqa: FBT001
    open_price: PriceTicks,
    close_price: PriceTicks,
    quantity: QtyUnits,
    margin: Cents,
    divisor: ValueDivisor,
) -> Cents:
    """PnL with negative balance protection: a position never loses more than its margin."""
    value = pnl(long, open_price, close_price, quantity, divisor)
    return value if value > -margin else -margin


def liquidation_price(
    long: bool,  # noqa: FBT001
    open_price: PriceTicks,
    quantity: QtyUnits,
    margin: Cents,
    maintenance_bps: Bps,
    divisor: ValueDivisor,
) -> PriceTicks:
    """Mark price at which the position's equity falls to ``maintenance_bps`` of its margin.

    The distance from the open price is floored, so the trigger sits at or before the exact point:
    a long's at or above it, a short's at or below it. With ``margin_call_bps`` in place of
    ``maintenance_bps`` it is the position's margin-call price, rounded the same way.
    """
    distance = margin * (BPS - maintenance_bps) * divisor // (quantity * BPS)
    return open_price - distance if long else open_price + distance


def margin_level_bps(
    long: bool,  # noqa: FBT001
    open_price: PriceTicks,
    mark: PriceTicks,
    quantity: QtyUnits,
    margin: Cents,
    divisor: ValueDivisor,
) -> Bps:
    """A position's equity at ``mark`` (margin plus capped PnL) as a share of its margin,
    floored."""
    equity = margin + capped_pnl(long, open_price, mark, quantity, margin, divisor)
    return Bps(equity * BPS // margin)
