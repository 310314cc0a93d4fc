"""The API's shapes for the risk console and the asset controls (``/admin/risk``,
``/admin/assets/{asset}``)."""

from __future__ import annotations

from typing import Literal

import msgspec

from cryptocfd.gateway.body import NO_AMOUNT, OptionalAmount
from cryptocfd.gateway.schemas import Money, Price, Quantity

Mode = Literal["open", "close_only", "halted"]


class AssetControlsOut(msgspec.Struct, frozen=True):
    """An asset's controls: ``max_net_exposure`` in dollars and ``max_leverage`` (live accounts
    only) are ``null`` for no limit."""

    asset: str
    mode: Mode
    max_net_exposure: Money | None
    max_leverage: int | None


class AssetRiskOut(msgspec.Struct, frozen=True):
    """One asset's open positions of the kind asked for, valued at ``mark`` (``null`` before
    the asset's first quote): quantities in units of the asset, amounts in dollars. A net
    short has a negative ``net_notional``; ``house_unrealized_pnl`` is minus the traders'."""

    asset: str
    mark: Price | None
    long_quantity: Quantity
    short_quantity: Quantity
    net_notional: Money
    gross_notional: Money
    house_unrealized_pnl: Money
    controls: AssetControlsOut


class AccountExposureOut(msgspec.Struct, frozen=True):
    """An account among the largest by exposure: its open positions' gross notional at the
    marks (from the journal, which may trail the engine by moments)."""

    account_id: int
    user_id: int
    email: str | None
    gross_notional: Money
    positions: int


class RiskOut(msgspec.Struct, frozen=True):
    """The house's exposure to live or demo accounts (never both in one total)."""

    account_kind: Literal["live", "demo"]
    assets: list[AssetRiskOut]
    house_realized_pnl_today: Money
    house_realized_pnl_total: Money
    largest_accounts: list[AccountExposureOut]


class AssetControlsRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Set an asset's controls whole: ``mode``, and optionally the largest net exposure (in
    dollars, at the mark, per kind of account) and the highest leverage a live account may
    use; a limit left out or ``null`` is no limit."""

    mode: Mode
    max_net_exposure: OptionalAmount = NO_AMOUNT
    max_leverage: int | None = None
