"""Tradable assets and their risk parameters, from configuration or the built-in defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from cryptocfd.core.money import BPS, QTY_DECIMALS, Bps, QtyUnits, ValueDivisor


class AssetSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the engine needs to know about one asset.

    ``maintenance_bps`` is the share of a position's margin at which it is liquidated (5000 means
    the position is stopped out when its equity falls to half its margin). ``spread_markup_bps``
    is the total spread the house adds to the feed's, half on each side. ``sanity_band_bps`` is
    the largest move from the last accepted mid that a single tick may make before it is held for
    confirmation. ``margin_call_bps`` is the share of its margin at which a position's equity
    gives the trader a margin call; it lies above ``maintenance_bps``, so the call comes before the
    liquidation.
    """

    symbol: str
    name: str
    price_decimals: int
    quantity_decimals: int
    max_leverage: int
    maintenance_bps: Bps = Bps(5000)
    spread_markup_bps: Bps = Bps(4)
    staleness_ms: int = 10_000
    sanity_band_bps: Bps = Bps(1000)
    margin_call_bps: Bps = Bps(7500)

    def __post_init__(self) -> None:
        problems = []
        symbol = self.symbol
        if not (symbol.isascii() and symbol.isalnum() and symbol.isupper() and len(symbol) <= 10):
            problems.append("symbol must be 1-10 upper-case ASCII letters or digits")
        if not 0 <= self.price_decimals <= 10:
            problems.append("price_decimals must be 0..10")
        if not 0 <= self.quantity_decimals <= QTY_DECIMALS:
            problems.append(f"quantity_decimals must be 0..{QTY_DECIMALS}")
        if not 1 <= self.max_leverage <= 1000:
            problems.append("max_leverage must be 1..1000")
        if not 0 <= self.maintenance_bps < BPS:
            problems.append("maintenance_bps must be 0..9999")
        if not self.maintenance_bps < self.margin_call_bps <= BPS:
            problems.append("margin_call_bps must be above maintenance_bps and at most 10000")
        if not 0 <= self.spread_markup_bps <= 1000:
            problems.append("spread_markup_bps must be 0..1000")
        if self.staleness_ms <= 0 or self.sanity_band_bps <= 0:
            problems.append("staleness_ms and sanity_band_bps must be positive")
        if problems:
            raise ValueError(f"asset {self.symbol!r}: " + "; ".join(problems))

    @property
    def value_divisor(self) -> ValueDivisor:
        """Divide ``price_ticks * quantity_units`` by this to get cents (10^(price_decimals+6))."""
        return ValueDivisor(10 ** (self.price_decimals + QTY_DECIMALS - 2))

    @property
    def quantity_step(self) -> QtyUnits:
        """The smallest tradable quantity, in 1e-8 units."""
        return QtyUnits(10 ** (QTY_DECIMALS - self.quantity_decimals))


DEFAULT_ASSETS: tuple[AssetSpec, ...] = (
    AssetSpec("BTC", "Bitcoin", price_decimals=2, quantity_decimals=6, max_leverage=100),
    AssetSpec("ETH", "Ethereum", price_decimals=2, quantity_decimals=5, max_leverage=100),
    AssetSpec("SOL", "Solana", price_decimals=3, quantity_decimals=3, max_leverage=50),
    AssetSpec("BNB", "BNB", price_decimals=2, quantity_decimals=4, max_leverage=50),
    AssetSpec("XRP", "XRP", price_decimals=4, quantity_decimals=1, max_leverage=50),
    AssetSpec(
        "DOGE",
        "Dogecoin",
        price_decimals=5,
        quantity_decimals=0,
        max_leverage=20,
        spread_markup_bps=Bps(8),
    ),
)


def assets_from_mapping(raw: Mapping[str, Any]) -> tuple[AssetSpec, ...]:
    """Build asset specs from configuration shaped like ``{"BTC": {"name": ..., ...}, ...}``.

    The key is the symbol; a ``symbol`` field, if present, must agree with it.
    """
    specs = []
    for symbol, fields in raw.items():
        if fields.get("symbol", symbol) != symbol:
            raise ValueError(f"asset {symbol!r} says its symbol is {fields['symbol']!r}")
        specs.append(msgspec.convert({**fields, "symbol": symbol}, AssetSpec))
    if not specs:
        raise ValueError("at least one asset must be configured")
    return tuple(specs)
