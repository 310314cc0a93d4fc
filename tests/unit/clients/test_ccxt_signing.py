"""The ccxt class's requests as the API-key scheme states them (docs/interfaces.md), checked
against an HMAC computed here from the documented formula with hmac alone."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from ccxt.base.errors import ArgumentsRequired, AuthenticationError, InvalidOrder

from cryptocfd_ccxt import cryptocfd

KEY = "cfd_" + "a" * 32
SECRET = "b" * 64
BASE = "http://203.0.113.7:9000/api/v1"


def _exchange(**config: Any) -> cryptocfd:
    return cryptocfd({"apiKey": KEY, "secret": SECRET, "urls": {"api": BASE + "/"}, **config})


def _expected(headers: dict[str, str], payload: str) -> str:
    text = headers["X-CFD-TIMESTAMP"] + KEY + headers["X-CFD-RECV-WINDOW"] + payload
    return hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()


def test_a_private_get_when_signed_covers_its_query_string_as_sent() -> None:
    request = _exchange().sign("trade/closed", "private", "GET", {"limit": 5, "asset": "BTC"})

    url, headers = request["url"], request["headers"]
    assert url == f"{BASE}/trade/closed?limit=5&asset=BTC" and request["body"] is None
    assert headers["X-CFD-API-KEY"] == KEY and headers["X-CFD-RECV-WINDOW"] == "5000"
    assert headers["X-CFD-SIGNATURE"] == _expected(headers, "limit=5&asset=BTC")


def test_a_private_post_when_signed_covers_its_json_body_as_sent() -> None:
    body = {"asset": "BTC", "side": "long", "margin": "100.00", "leverage": "10"}

    request = _exchange(options={"recvWindow": 20_000}).sign(
        "trade/create", "private", "POST", body
    )

    headers = request["headers"]
    assert json.loads(request["body"]) == body
    assert headers["Content-Type"] == "application/json"
    assert headers["X-CFD-RECV-WINDOW"] == "20000"
    assert headers["X-CFD-SIGNATURE"] == _expected(headers, request["body"])


def test_a_path_parameter_when_signed_fills_the_path_and_leaves_the_query_empty() -> None:
    request = _exchange().sign("trade/orders/{order_id}", "private", "GET", {"order_id": 42})

    assert request["url"] == f"{BASE}/trade/orders/42"
    assert request["headers"]["X-CFD-SIGNATURE"] == _expected(request["headers"], "")


def test_a_public_request_when_built_carries_no_key() -> None:
    request = _exchange().sign("candles", "public", "GET", {"asset": "BTC", "interval": "1m"})

    assert request["url"] == f"{BASE}/candles?asset=BTC&interval=1m"
    assert request["headers"] == {}


def test_the_timestamp_when_the_clock_differs_is_the_servers() -> None:
    exchange = _exchange(options={"timeDifference": 90_000})
    now = exchange.milliseconds()

    stamp = int(exchange.sign("balance", "private", "GET", {})["headers"]["X-CFD-TIMESTAMP"])

    assert now - 91_000 < stamp <= now - 90_000 + 1_000


def test_a_private_request_when_the_key_is_missing_is_refused_before_sending() -> None:
    with pytest.raises(AuthenticationError):
        cryptocfd({"urls": {"api": BASE}}).sign("balance", "private", "GET", {})


def test_an_order_when_neither_amount_nor_margin_is_given_is_refused_before_sending() -> None:
    exchange = _exchange()
    exchange.set_markets([exchange.parse_market(_ASSET)])

    with pytest.raises(ArgumentsRequired, match="amount or params"):
        exchange._order_request("BTC/USD:USD", "market", "buy", None, None, {})

    body = exchange._order_request("BTC/USD:USD", "limit", "sell", 0.0123456789, 64_000.123, {})
    assert body == {
        "asset": "BTC",
        "side": "short",
        "order_type": "limit",
        "leverage": "1",
        "quantity": "0.012345",  # truncated to the asset's six decimals
        "price": "64000.12",
    }


def test_a_stop_when_asked_through_ccxts_helpers_is_a_stop_entry_and_never_a_stop_limit() -> None:
    exchange = _exchange()
    exchange.set_markets([exchange.parse_market(_ASSET)])
    margin = {"margin": "50", "leverage": 5}

    body = exchange._order_request(
        "BTC/USD:USD", "market", "buy", None, None, {**margin, "stopPrice": 70_000}
    )

    assert (body["order_type"], body["price"], body["margin"]) == ("stop", "70000", "50")
    assert "stopPrice" not in body and "quantity" not in body
    with pytest.raises(InvalidOrder, match="no stop-limit"):
        exchange._order_request(
            "BTC/USD:USD", "limit", "buy", None, 69_000, {**margin, "triggerPrice": 70_000}
        )


_ASSET = {
    "symbol": "BTC",
    "name": "Bitcoin",
    "price_decimals": 2,
    "quantity_decimals": 6,
    "max_leverage": 100,
    "maintenance_margin": "0.5000",
}
