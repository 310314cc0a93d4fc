"""Orders sized by quantity through the gateway: the position holds exactly the quantity
asked, and the margin is quantity x price / leverage rounded up to the cent, at the fill's
price, for a market order and a pending entry alike (real app, engine, Redis and
PostgreSQL). The figures are recomputed here with ``Decimal`` from the answer's prices."""

from __future__ import annotations

import uuid
from decimal import ROUND_CEILING, Decimal

from httpx import Response

from tests.integration.gateway_harness import Gateway

BTC_BID, BTC_ASK = 6_400_000, 6_401_000  # 64,000.00 / 64,010.00
CENT = Decimal("0.01")


def _email() -> str:
    return f"sizer-{uuid.uuid4().hex[:10]}@example.com"


async def signed_in_with_a_quote(gateway: Gateway) -> dict[str, str]:
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    return headers


async def create(gateway: Gateway, headers: dict[str, str], **order: object) -> Response:
    return await gateway.client.post("/api/v1/trade/create", headers=headers, json=order)


def margin_of(quantity: str, price: str, leverage: int) -> str:
    held = Decimal(quantity) * Decimal(price) / leverage
    return str(held.quantize(CENT, rounding=ROUND_CEILING))


async def test_a_market_order_by_quantity_opens_that_quantity_with_the_margin_rounded_up(
    gateway: Gateway,
) -> None:
    headers = await signed_in_with_a_quote(gateway)

    created = await create(
        gateway, headers, **{"asset": "BTC", "side": "long", "quantity": "0.012345", "leverage": 7}
    )
    balance = (await gateway.client.get("/api/v1/balance", headers=headers)).json()

    assert created.status_code == 200, created.text
    position = created.json()["position"]
    assert position["quantity"] == "0.01234500"
    # At the house's ask (the feed's plus its markup): 0.012345 x ask / 7, up to the cent.
    assert position["margin"] == margin_of("0.012345", position["open_price"], 7)
    exact = Decimal("0.012345") * Decimal(position["open_price"]) / 7
    assert Decimal(position["margin"]) - CENT < exact <= Decimal(position["margin"])
    assert balance["used_margin"] == position["margin"]


async def test_a_short_by_quantity_fills_at_the_bid_and_a_close_books_that_quantity(
    gateway: Gateway,
) -> None:
    headers = await signed_in_with_a_quote(gateway)

    created = await create(
        gateway, headers, **{"asset": "BTC", "type": "sell", "quantity": 0.5, "leverage": "20"}
    )
    position = created.json()["position"]
    closed = await gateway.client.post(
        "/api/v1/trade/close", headers=headers, json={"order_id": position["order_id"]}
    )

    assert created.status_code == 200, created.text
    assert Decimal(position["open_price"]) < Decimal("64000.00")  # the bid, less the markup
    assert position["quantity"] == "0.50000000"
    assert position["margin"] == margin_of("0.5", position["open_price"], 20)
    assert closed.status_code == 200, closed.text
    assert closed.json()["quantity"] == "0.50000000"


async def test_a_limit_entry_by_quantity_reserves_at_its_price_and_fills_with_the_fill_s_margin(
    gateway: Gateway,
) -> None:
    headers = await signed_in_with_a_quote(gateway)

    created = await create(
        gateway,
        headers,
        **{
            "asset": "BTC",
            "side": "long",
            "quantity": "0.003",
            "leverage": 3,
            "order_type": "limit",
            "price": "63333.33",
        },
    )
    order = created.json()["order"]
    path = f"/api/v1/trade/orders/{order['order_id']}"
    fetched = (await gateway.client.get(path, headers=headers)).json()
    await gateway.tick("BTC", 6_320_000, 6_321_000)  # the ask falls through the limit
    listed = (await gateway.client.get("/api/v1/trade/open", headers=headers)).json()

    assert created.status_code == 200, created.text
    assert order["quantity"] == "0.00300000"
    # 0.003 x 63,333.33 / 3 is 63.33333: rounded up, 63.34
    assert order["margin"] == margin_of("0.003", "63333.33", 3) == "63.34"
    (position,) = listed["positions"]
    assert fetched["quantity"] == "0.00300000" and fetched["status"] == "pending"
    assert position["order_id"] == order["order_id"]
    assert position["quantity"] == "0.00300000"
    # It filled at the ask, below its price: the margin at that price backs it, the rest is free.
    assert Decimal(position["open_price"]) < Decimal("63333.33")
    assert position["margin"] == margin_of("0.003", position["open_price"], 3) != "63.34"


async def test_a_quantity_whose_margin_exceeds_the_free_margin_is_refused_and_opens_nothing(
    gateway: Gateway,
) -> None:
    headers = await signed_in_with_a_quote(gateway)

    # 2 BTC at 64,010.00 with 10x is 12,802.00 of margin; the demo account holds 10,000.00.
    refused = await create(
        gateway, headers, **{"asset": "BTC", "side": "long", "quantity": "2", "leverage": 10}
    )
    listed = (await gateway.client.get("/api/v1/trade/open", headers=headers)).json()

    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "INSUFFICIENT_BALANCE"
    assert listed["positions"] == [] and listed["pending"] == []
