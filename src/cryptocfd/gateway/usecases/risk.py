"""The risk console and the asset controls: the house's figures from the engine, the largest
accounts from the journal, and a control set by one engine command, audited with what it
replaced (the engine's own event says both, so a retried request audits the same)."""

from __future__ import annotations

import uuid

from msgspec import Raw

from cryptocfd.core.accounts import AccountKind, user_of
from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.clock import now_utc
from cryptocfd.core.money import (
    CENTS_DECIMALS,
    Cents,
    PriceTicks,
    ValueDivisor,
    format_cents,
    scaled_or_none,
)
from cryptocfd.gateway import present
from cryptocfd.gateway.auth import Operator
from cryptocfd.gateway.errors import ApiError
from cryptocfd.gateway.resources import Resources
from cryptocfd.gateway.risk_schemas import (
    AccountExposureOut,
    AssetControlsOut,
    AssetControlsRequest,
    AssetRiskOut,
    RiskOut,
)
from cryptocfd.gateway.usecases.send import GENERATED, UnexpectedOutcomeError, outcome_events
from cryptocfd.gateway.usecases.trading import optional_amount
from cryptocfd.store.audit import AuditEntry, append
from cryptocfd.store.exposure import largest_accounts
from cryptocfd.trading.book import AssetControls
from cryptocfd.trading.commands import AssetMode, SetAssetControls
from cryptocfd.trading.events import AssetControlsSet
from cryptocfd.trading.queries import GetRisk
from cryptocfd.trading.views import AssetRisk

SET_CONTROLS = "asset.controls"  # the audit action of setting an asset's controls


def _controls_out(asset: str, controls: AssetControls) -> AssetControlsOut:
    exposure = controls.max_net_exposure
    return AssetControlsOut(
        asset,
        controls.mode.value,
        None if exposure is None else format_cents(exposure),
        controls.max_live_leverage,
    )


def _asset_out(row: AssetRisk, spec: AssetSpec) -> AssetRiskOut:
    return AssetRiskOut(
        asset=row.asset,
        mark=None if row.mark is None else present.price(row.mark, spec),
        long_quantity=present.quantity(row.long_quantity),
        short_quantity=present.quantity(row.short_quantity),
        net_notional=format_cents(row.net_notional),
        gross_notional=format_cents(row.gross_notional),
        house_unrealized_pnl=format_cents(row.house_unrealized_pnl),
        controls=_controls_out(row.asset, row.controls),
    )


async def house_risk(resources: Resources, kind: AccountKind) -> RiskOut:
    """The engine's figures for ``kind`` (today by the gateway's clock), and the ten largest
    accounts of that kind, valued at the same marks."""
    query = GetRisk(f"q:{uuid.uuid4().hex}", kind, resources.clock.now_ms())
    figures = await resources.engine.risk(query)
    specs = resources.assets
    marks: dict[str, tuple[PriceTicks, ValueDivisor]] = {
        row.asset: (row.mark, specs[row.asset].value_divisor)
        for row in figures.assets
        if row.mark is not None and row.asset in specs
    }
    largest = await largest_accounts(resources.pool, kind, marks)
    return RiskOut(
        account_kind=kind.value,
        assets=[_asset_out(row, specs[row.asset]) for row in figures.assets if row.asset in specs],
        house_realized_pnl_today=format_cents(figures.house_realized_pnl_today),
        house_realized_pnl_total=format_cents(figures.house_realized_pnl_total),
        largest_accounts=[
            AccountExposureOut(
                a.account_id,
                user_of(a.account_id),
                a.email,
                format_cents(a.gross_notional),
                a.positions,
            )
            for a in largest
        ],
    )


async def set_controls(
    resources: Resources, operator: Operator, symbol: str, body: AssetControlsRequest
) -> AssetControlsOut:
    """Send the asset's new controls to the engine (which checks them: ``INVALID_CONTROLS``)
    and audit what they replaced and what they are now."""
    spec = resources.assets.get(symbol.upper())
    if spec is None:
        raise ApiError(404, "UNKNOWN_ASSET", f"unknown asset {symbol!r}; see /supportedAssets")
    exposure = _exposure(body.max_net_exposure)
    command = SetAssetControls(
        f"{GENERATED}{uuid.uuid4().hex}",
        resources.clock.now_ms(),
        spec.symbol,
        AssetMode(body.mode),
        scaled_or_none(Cents, exposure),
        body.max_leverage,
    )
    events = outcome_events(await resources.engine.send(command))
    event = events[0]  # an accepted SetAssetControls has exactly this one event
    if not isinstance(event, AssetControlsSet):
        raise UnexpectedOutcomeError("SetAssetControls", events[0])
    was = AssetControls(event.was_mode, event.was_max_net_exposure, event.was_max_live_leverage)
    now = AssetControls(event.mode, event.max_net_exposure, event.max_live_leverage)
    before, after = _controls_out(spec.symbol, was), _controls_out(spec.symbol, now)
    entry = AuditEntry(
        actor_id=operator.principal.user_id,
        actor=operator.email,
        action=SET_CONTROLS,
        target=f"asset:{spec.symbol}",
        before=before,
        after=after,
        client_addr=operator.client_ip,
        at=now_utc(resources.clock),
    )
    async with resources.pool.acquire() as conn, conn.transaction():
        await append(conn, entry)
    return after


def _exposure(raw: Raw) -> int | None:
    """The limit in cents, or ``None``; a malformed amount is a 400 (its sign is the engine's
    to refuse, with ``INVALID_CONTROLS``)."""
    return optional_amount(raw, CENTS_DECIMALS, "max_net_exposure")
