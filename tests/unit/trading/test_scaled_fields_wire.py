"""Typing a field with its scale (``Cents``, ``PriceTicks``, ``QtyUnits``, ``Bps``) leaves the
wire alone: these bytes were encoded by the structs while every field was a plain ``int``, and
the typed structs encode and decode them unchanged."""

from __future__ import annotations

import msgspec
import pytest

from cryptocfd.core.assets import AssetSpec
from cryptocfd.core.money import Bps, Cents, PriceTicks, QtyUnits
from cryptocfd.store.history import ClosedTrade
from cryptocfd.trading.commands import OrderType, Side
from cryptocfd.trading.events import Accepted, CloseReason, PositionClosed, PositionOpened
from cryptocfd.trading.views import PositionView

T0 = 1_700_000_000_000

OPENED = PositionOpened(
    7, 3, "BTC", Side.LONG, OrderType.MARKET, Cents(10_000), 10, QtyUnits(1_538_000),
    PriceTicks(6_500_000),
    PriceTicks(6_175_001), None, PriceTicks(6_200_000), None, T0,
)  # fmt: skip
CLOSED = PositionClosed(
    7, 3, "BTC", Side.LONG, CloseReason.STOP_LOSS, QtyUnits(769_000), Cents(5_000),
    PriceTicks(6_500_000), PriceTicks(6_490_000),
    Cents(-769), QtyUnits(769_000), Cents(5_000), PriceTicks(6_175_001), T0 + 60_000, 10, T0,
)  # fmt: skip
VIEW = PositionView(
    7, "BTC", Side.LONG, Cents(10_000), 10, QtyUnits(1_538_000), PriceTicks(6_500_000), None,
    PriceTicks(6_200_000), None,
    PriceTicks(6_175_001), Cents(-1_538), T0,
)  # fmt: skip

# Encoded before the fields said their scale (msgpack, as the log and replies carry them).
ACCEPTED_BYTES = bytes.fromhex(
    "92a86163636570746564929fae506f736974696f6e4f70656e65640703a3425443a46c6f6e67a66d61726b6574"
    "cd27100ace001777d0ce00632ea0ce005e3919c0ce005e9ac0c0cf0000018bcfe56800dc0011ae506f736974696f"
    "6e436c6f7365640703a3425443a46c6f6e67a973746f705f6c6f7373ce000bbbe8cd1388ce00632ea0ce00630790"
    "d1fcffce000bbbe8cd1388ce005e3919cf0000018bcfe652600acf0000018bcfe56800"
)
VIEW_BYTES = bytes.fromhex(
    "9d07a3425443a46c6f6e67cd27100ace001777d0ce00632ea0c0ce005e9ac0c0ce005e3919d1f9fecf0000018bcf"
    "e56800"
)
SPEC_JSON = (
    b'{"symbol":"DOGE","name":"Dogecoin","price_decimals":5,"quantity_decimals":0,'
    b'"max_leverage":20,"maintenance_bps":5000,"spread_markup_bps":8,"staleness_ms":10000,'
    b'"sanity_band_bps":1000,"margin_call_bps":7500}'
)


def test_events_with_scaled_fields_encode_to_the_bytes_plain_ints_did() -> None:
    accepted = Accepted((OPENED, CLOSED))

    assert msgspec.msgpack.encode(accepted) == ACCEPTED_BYTES
    assert msgspec.msgpack.decode(ACCEPTED_BYTES, type=Accepted) == accepted


def test_a_position_view_with_scaled_fields_encodes_to_the_bytes_plain_ints_did() -> None:
    assert msgspec.msgpack.encode(VIEW) == VIEW_BYTES
    assert msgspec.msgpack.decode(VIEW_BYTES, type=PositionView) == VIEW


def test_an_asset_spec_with_bps_fields_encodes_and_reads_as_before() -> None:
    spec = AssetSpec("DOGE", "Dogecoin", 5, 0, 20, spread_markup_bps=Bps(8))

    assert msgspec.json.encode(spec) == SPEC_JSON
    assert msgspec.json.decode(SPEC_JSON, type=AssetSpec) == spec


def test_decoding_a_scaled_field_still_refuses_what_is_not_an_int() -> None:
    wrong = msgspec.msgpack.encode(
        ["PositionOpened", 7, 3, "BTC", "long", "market", 10_000, 10, "1.5", 6_500_000,
         6_175_001, None, None, None, T0]
    )  # fmt: skip

    with pytest.raises(msgspec.ValidationError, match=r"Expected `int`, got `str` - at `\$\[8\]`"):
        msgspec.msgpack.decode(wrong, type=PositionOpened)


def test_a_closed_trade_with_scaled_fields_encodes_as_plain_ints() -> None:
    trade = msgspec.convert(
        {"order_id": 7, "asset": "BTC", "side": "long", "leverage": 10, "quantity": 769_000,
         "margin": 5_000, "open_price": 6_500_000, "close_price": 6_490_000, "pnl": -769,
         "close_reason": "stop_loss", "take_profit": None, "stop_loss": 6_490_000,
         "trailing_distance": None, "liquidation_price": None, "opened_at": T0,
         "closed_at": T0 + 60_000},
        ClosedTrade,
    )  # fmt: skip

    assert msgspec.json.encode(trade) == (
        b'{"order_id":7,"asset":"BTC","side":"long","leverage":10,"quantity":769000,'
        b'"margin":5000,"open_price":6500000,"close_price":6490000,"pnl":-769,'
        b'"close_reason":"stop_loss","take_profit":null,"stop_loss":6490000,'
        b'"trailing_distance":null,"liquidation_price":null,"opened_at":1700000000000,'
        b'"closed_at":1700000060000}'
    )
