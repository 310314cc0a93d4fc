"""Asset configuration: AssetSpec refuses bad values; assets_from_mapping builds specs from
configuration and refuses what AssetSpec refuses."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from cryptocfd.core.assets import DEFAULT_ASSETS, AssetSpec, assets_from_mapping
from cryptocfd.core.money import Bps, Cents
from cryptocfd.trading.commands import OpenAccount
from cryptocfd.trading.engine import Engine
from cryptocfd.trading.events import PositionOpened
from tests.unit.trading.builders import LONG, events_of, only, order, rid, tick

_GOOD: dict[str, Any] = {
    "symbol": "ABC",
    "name": "A coin",
    "price_decimals": 2,
    "quantity_decimals": 6,
    "max_leverage": 10,
}


def _spec(**changes: Any) -> AssetSpec:
    return AssetSpec(**{**_GOOD, **changes})


def test_asset_spec_when_only_required_fields_given_takes_the_documented_defaults() -> None:
    spec = _spec()

    assert (
        spec.maintenance_bps,
        spec.spread_markup_bps,
        spec.staleness_ms,
        spec.sanity_band_bps,
        spec.margin_call_bps,
    ) == (5000, 4, 10_000, 1000, 7500)


@pytest.mark.parametrize(
    ("price_decimals", "quantity_decimals", "divisor", "step"),
    [(2, 6, 10**8, 100), (5, 0, 10**11, 10**8), (4, 1, 10**10, 10**7), (0, 8, 10**6, 1)],
)
def test_asset_spec_when_decimals_given_derives_divisor_and_step(
    price_decimals: int, quantity_decimals: int, divisor: int, step: int
) -> None:
    # D = 10^(price_decimals + 6); step = 10^(8 - quantity_decimals).
    spec = _spec(price_decimals=price_decimals, quantity_decimals=quantity_decimals)

    assert (spec.value_divisor, spec.quantity_step) == (divisor, step)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("symbol", ""),
        ("symbol", "btc"),
        ("symbol", "ABCDEFGHIJK"),
        ("symbol", "ÄBC"),
        ("price_decimals", -1),
        ("price_decimals", 11),
        ("quantity_decimals", -1),
        ("quantity_decimals", 9),
        ("max_leverage", 0),
        ("max_leverage", 1001),
        ("maintenance_bps", -1),
        ("maintenance_bps", 10_000),
        ("margin_call_bps", 5000),  # at the maintenance level: the call would not come first
        ("margin_call_bps", 10_001),
        ("spread_markup_bps", -1),
        ("spread_markup_bps", 1001),
        ("staleness_ms", 0),
        ("staleness_ms", -1),
        ("sanity_band_bps", 0),
    ],
)
def test_asset_spec_when_a_value_is_out_of_range_raises_value_error(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field.split("_", maxsplit=1)[0]):
        _spec(**{field: value})


@pytest.mark.parametrize("symbol", ["B C", "BTC\n", "BT-C", "BTC/USD", " BTC"])
def test_asset_spec_when_symbol_has_characters_other_than_letters_and_digits_raises(
    symbol: str,
) -> None:
    # AssetSpec's rule: "symbol must be 1-10 upper-case ASCII letters or digits".
    with pytest.raises(ValueError, match="symbol"):
        _spec(symbol=symbol)


@pytest.mark.parametrize("symbol", ["BTC2", "1INCH"])
def test_asset_spec_when_symbol_mixes_upper_case_letters_and_digits_is_accepted(
    symbol: str,
) -> None:
    assert _spec(symbol=symbol).symbol == symbol


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("symbol", "ABCDEFGHIJ"),
        ("symbol", "A"),
        ("price_decimals", 0),
        ("price_decimals", 10),
        ("quantity_decimals", 0),
        ("quantity_decimals", 8),
        ("max_leverage", 1),
        ("max_leverage", 1000),
        ("maintenance_bps", 0),
        ("maintenance_bps", 7499),  # just below the default margin call, 7500
        ("margin_call_bps", 5001),
        ("margin_call_bps", 10_000),
        ("spread_markup_bps", 0),
        ("spread_markup_bps", 1000),
        ("staleness_ms", 1),
        ("sanity_band_bps", 1),
    ],
)
def test_asset_spec_when_a_value_is_on_the_edge_of_its_range_is_accepted(
    field: str, value: Any
) -> None:
    assert getattr(_spec(**{field: value}), field) == value


def test_asset_spec_when_maintenance_is_9999_and_margin_call_10000_is_accepted() -> None:
    spec = _spec(maintenance_bps=9999, margin_call_bps=10_000)

    assert (spec.maintenance_bps, spec.margin_call_bps) == (9999, 10_000)


def test_asset_spec_when_maintenance_is_at_or_above_the_margin_call_raises() -> None:
    with pytest.raises(ValueError, match="margin_call_bps must be above maintenance_bps"):
        _spec(maintenance_bps=7500)


def test_asset_spec_when_several_values_are_bad_names_every_problem() -> None:
    with pytest.raises(ValueError, match="asset 'btc'") as raised:
        _spec(symbol="btc", price_decimals=-1, max_leverage=0, staleness_ms=0)

    message = str(raised.value)
    for problem in ("symbol", "price_decimals", "max_leverage", "staleness_ms"):
        assert problem in message


def test_default_assets_when_loaded_are_valid_with_unique_symbols() -> None:
    symbols = [spec.symbol for spec in DEFAULT_ASSETS]

    assert symbols == ["BTC", "ETH", "SOL", "BNB", "XRP", "DOGE"]
    assert [spec.spread_markup_bps for spec in DEFAULT_ASSETS] == [4, 4, 4, 4, 4, 8]


def test_assets_from_mapping_when_valid_builds_specs_in_order_with_symbols_from_keys() -> None:
    raw = {
        "AAA": {"name": "A", "price_decimals": 2, "quantity_decimals": 4, "max_leverage": 5},
        "BBB": {
            "name": "B",
            "price_decimals": 0,
            "quantity_decimals": 8,
            "max_leverage": 2,
            "maintenance_bps": 2500,
            "spread_markup_bps": 0,
            "staleness_ms": 500,
            "sanity_band_bps": 200,
        },
    }

    specs = assets_from_mapping(raw)

    assert specs == (
        AssetSpec("AAA", "A", 2, 4, 5),
        AssetSpec("BBB", "B", 0, 8, 2, Bps(2500), Bps(0), 500, Bps(200)),
    )


def test_assets_from_mapping_when_empty_raises_value_error() -> None:
    with pytest.raises(ValueError, match="at least one asset"):
        assets_from_mapping({})


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "A", "price_decimals": 2, "quantity_decimals": 4, "max_leverage": 0},
        {"name": "A", "price_decimals": "2", "quantity_decimals": 4, "max_leverage": 5},
        {"name": "A", "price_decimals": True, "quantity_decimals": 4, "max_leverage": 5},
        {"name": "A", "price_decimals": 2.0, "quantity_decimals": 4, "max_leverage": 5},
        {"name": "A", "quantity_decimals": 4, "max_leverage": 5},
        {"name": "A", "price_decimals": 2, "quantity_decimals": 4, "max_leverage": 5, "x": 1},
    ],
    ids=["bad-value", "string", "bool", "float", "missing", "unknown-field"],
)
def test_assets_from_mapping_when_a_field_is_bad_raises_validation_error(
    fields: dict[str, Any],
) -> None:
    with pytest.raises(msgspec.ValidationError):
        assets_from_mapping({"AAA": fields})


def test_assets_from_mapping_when_symbol_key_is_lower_case_raises_validation_error() -> None:
    fields = {"name": "A", "price_decimals": 2, "quantity_decimals": 4, "max_leverage": 5}

    with pytest.raises(msgspec.ValidationError, match="symbol"):
        assets_from_mapping({"aaa": fields})


def test_engine_when_built_from_configured_assets_trades_them() -> None:
    specs = assets_from_mapping(
        {"AAA": {"name": "A", "price_decimals": 0, "quantity_decimals": 2, "max_leverage": 5}}
    )
    engine = Engine(assets=specs)
    events_of(engine.apply(OpenAccount(rid(), 0, 1, Cents(10_000))))
    events_of(tick(engine, 1000, asset="AAA", ts=0))

    opened = only(engine.apply(order(LONG, 1_000, 5, asset="AAA", ts=0)), PositionOpened)

    # The configured asset keeps the default 4 bps markup: ask' = 1000 + ceil(0.2) = 1001.
    # q = 1,000 * 5 * 10^6 // 1001 = 4,995,004 -> floored to the 10^6 step: 4,000,000.
    assert (opened.open_price, opened.quantity) == (1001, 4_000_000)
