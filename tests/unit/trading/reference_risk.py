"""The reference model's house risk and asset controls, by brute force, from ``docs/engine.md``
("Controls", "The house's risk") alone.

Every figure is recounted from every open position (and every close ever made) each time it is
asked for: no sums are kept, so nothing can drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptocfd.core.accounts import LIVE_ACCOUNT_BASE, AccountKind
from cryptocfd.core.money import Cents, PriceTicks, QtyUnits
from cryptocfd.trading.book import AssetControls
from cryptocfd.trading.commands import AssetMode
from cryptocfd.trading.events import PositionClosed
from cryptocfd.trading.rejections import RejectCode, Rejection
from cryptocfd.trading.views import AssetRisk, Risk

if TYPE_CHECKING:
    from tests.unit.trading.reference import Reference

DAY_MS = 86_400_000


def kind(account_id: int) -> AccountKind:
    """Live at or above ``LIVE_ACCOUNT_BASE``, else demo."""
    return AccountKind.LIVE if account_id >= LIVE_ACCOUNT_BASE else AccountKind.DEMO


@dataclass
class RefControls:
    """An asset's controls; an asset without an entry is open with no limits."""

    mode: AssetMode = AssetMode.OPEN
    max_net_exposure: int | None = None
    max_live_leverage: int | None = None


def refuse(code: RejectCode) -> Rejection:
    return Rejection(code, f"reference: {code}")


def order_refused(ref: Reference, asset: str, account_id: int, leverage: int) -> Rejection | None:
    """The controls after the shape rules: halted, close-only, a live account's leverage."""
    controls = ref.controls.get(asset, RefControls())
    if controls.mode is AssetMode.HALTED:
        return refuse(RejectCode.ASSET_HALTED)
    if controls.mode is AssetMode.CLOSE_ONLY:
        return refuse(RejectCode.ASSET_CLOSE_ONLY)
    highest = controls.max_live_leverage
    if highest is not None and kind(account_id) is AccountKind.LIVE and leverage > highest:
        return refuse(RejectCode.LEVERAGE_OUT_OF_RANGE)
    return None


def halted(ref: Reference, asset: str) -> bool:
    return ref.controls.get(asset, RefControls()).mode is AssetMode.HALTED


def net_quantity(ref: Reference, asset: str, of_kind: AccountKind) -> int:
    """Long less short quantity of every open position of ``asset`` held by ``of_kind``."""
    return sum(
        (p.quantity if p.long else -p.quantity)
        for p in ref.positions
        if p.asset == asset and kind(p.account_id) is of_kind
    )


def exposure_refused(
    ref: Reference,
    asset: str,
    account_id: int,
    long: bool,
    quantity: int,
) -> Rejection | None:
    """``|after| > |net|`` and ``|after| * mark > max_net_exposure * D``."""
    limit = ref.controls.get(asset, RefControls()).max_net_exposure
    if limit is None:
        return None
    net = net_quantity(ref, asset, kind(account_id))
    after = net + quantity if long else net - quantity
    divisor = 10 ** (ref.specs[asset].price_decimals + 6)
    if abs(after) > abs(net) and abs(after) * ref.quotes[asset].mark > limit * divisor:
        return refuse(RejectCode.EXPOSURE_LIMIT)
    return None


def controls_of(ref: Reference, asset: str) -> AssetControls:
    """The asset's controls, as the risk view shows them."""
    c = ref.controls.get(asset, RefControls())
    exposure = None if c.max_net_exposure is None else Cents(c.max_net_exposure)
    return AssetControls(c.mode, exposure, c.max_live_leverage)


def brute_risk(ref: Reference, of_kind: AccountKind, ts: int | None) -> Risk:
    """The risk console's figures, recounted from every position and every close."""
    rows = []
    for symbol, spec in ref.specs.items():
        mine = [p for p in ref.positions if p.asset == symbol and kind(p.account_id) is of_kind]
        long_qty = sum(p.quantity for p in mine if p.long)
        short_qty = sum(p.quantity for p in mine if not p.long)
        quote = ref.quotes.get(symbol)
        if quote is None:
            zero = Cents(0)
            rows.append(
                AssetRisk(
                    symbol,
                    None,
                    QtyUnits(long_qty),
                    QtyUnits(short_qty),
                    zero,
                    zero,
                    zero,
                    controls_of(ref, symbol),
                )
            )
            continue
        divisor = 10 ** (spec.price_decimals + 6)
        mark = quote.mark
        # The traders' PnL at the mark, position by position, exact, then floored once.
        traders = sum(
            (mark - p.open_price) * p.quantity if p.long else (p.open_price - mark) * p.quantity
            for p in mine
        )
        net = sum(p.quantity if p.long else -p.quantity for p in mine)
        rows.append(
            AssetRisk(
                symbol,
                PriceTicks(mark),
                QtyUnits(long_qty),
                QtyUnits(short_qty),
                Cents(net * mark // divisor),
                Cents((long_qty + short_qty) * mark // divisor),
                Cents(-(traders // divisor)),
                controls_of(ref, symbol),
            )
        )
    closes = [c for c in ref.closes if kind(c.account_id) is of_kind]
    newest_day = max((c.ts // DAY_MS for c in ref.closes), default=-1)
    today = -sum(int(c.pnl) for c in closes if c.ts // DAY_MS == newest_day)
    if ts is not None and ts // DAY_MS > newest_day:
        today = 0
    total = -sum(int(c.pnl) for c in closes)
    return Risk(of_kind, tuple(rows), Cents(today), Cents(total))


def record_closes(ref: Reference, events: tuple[object, ...]) -> None:
    """Keep every close ever made: the realized PnL is recounted from them."""
    ref.closes.extend(e for e in events if isinstance(e, PositionClosed))
