"""Trading through the gateway: real HTTP app, real engine, real Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from tests.integration.gateway_harness import Gateway, running_gateway

BTC_BID, BTC_ASK = 6_400_000, 6_401_000  # 64,000.00 / 64,010.00


def _email() -> str:
    return f"trader-{uuid.uuid4().hex[:10]}@example.com"


async def test_create_when_signed_in_opens_a_position_that_open_and_balance_show(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)

    created = await gateway.client.post(
        "/api/v1/trade/create",
        headers=headers,
        json={"asset": "BTC", "side": "long", "margin": "100.00", "leverage": 10},
    )
    listed = await gateway.client.get("/api/v1/trade/open", headers=headers)
    balance = await gateway.client.get("/api/v1/balance", headers=headers)

    assert created.status_code == 200, created.text
    body = created.json()
    assert body["status"] == "open"
    assert body["position"]["margin"] == "100.00"
    assert body["position"]["side"] == "long"
    assert [p["order_id"] for p in listed.json()["positions"]] == [body["order_id"]]
    figures = balance.json()
    assert figures["balance"] == "10000.00"
    assert figures["used_margin"] == "100.00"
    assert figures["unrealized_pnl"] == body["position"]["unrealized_pnl"]


async def test_close_when_partial_then_full_books_pnl_into_the_balance(gateway: Gateway) -> None:
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    opened = await gateway.client.post(
        "/api/v1/trade/create",
        headers=headers,
        json={"asset": "BTC", "type": "sell", "margin": 200, "leverage": "5"},
    )
    order_id = opened.json()["order_id"]
    await gateway.tick("BTC", 6_300_000, 6_301_000)  # the short gains

    half = await gateway.client.post(
        "/api/v1/trade/close", headers=headers, json={"order_id": order_id, "fraction": "0.5"}
    )
    rest = await gateway.client.post(
        "/api/v1/trade/close", headers=headers, json={"order_id": order_id}
    )
    balance = (await gateway.client.get("/api/v1/balance", headers=headers)).json()

    assert half.status_code == 200, half.text
    assert rest.status_code == 200, rest.text
    assert half.json()["remaining_quantity"] != "0.00000000"
    assert rest.json()["remaining_quantity"] == "0.00000000"
    pnl_cents = sum(round(float(c.json()["pnl"]) * 100) for c in (half, rest))
    assert pnl_cents > 0
    assert int(balance["balance"].replace(".", "")) == 1_000_000 + pnl_cents
    assert balance["used_margin"] == "0.00"


async def test_pending_when_modified_and_cancelled_releases_its_margin(gateway: Gateway) -> None:
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    placed = await gateway.client.post(
        "/api/v1/trade/create",
        headers=headers,
        json={
            "asset": "BTC",
            "side": "long",
            "margin": "50",
            "leverage": 2,
            "order_type": "limit",
            "price": "60000.00",
        },
    )
    assert placed.status_code == 200, placed.text
    assert placed.json()["status"] == "pending"
    order_id = placed.json()["order_id"]
    used = (await gateway.client.get("/api/v1/balance", headers=headers)).json()["used_margin"]

    cancelled = await gateway.client.post(
        "/api/v1/trade/cancel", headers=headers, json={"order_id": order_id}
    )
    after = (await gateway.client.get("/api/v1/balance", headers=headers)).json()["used_margin"]

    assert used == "50.00"
    assert cancelled.json() == {"order_id": order_id, "released_margin": "50.00"}
    assert after == "0.00"


async def test_modify_when_a_field_is_omitted_keeps_it_and_null_removes_it(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    opened = await gateway.client.post(
        "/api/v1/trade/create",
        headers=headers,
        json={
            "asset": "BTC",
            "side": "long",
            "margin": "100",
            "leverage": 10,
            "take_profit": "70000",
            "stop_loss": "62000",
        },
    )
    order_id = opened.json()["order_id"]

    changed = await gateway.client.post(
        "/api/v1/trade/modify",
        headers=headers,
        json={"order_id": order_id, "stop_loss": None, "trailing_distance": "500.5"},
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["take_profit"] == "70000.00"
    assert changed.json()["stop_loss"] is None
    assert changed.json()["trailing_distance"] == "500.50"


async def test_orders_when_another_user_asks_are_not_found(gateway: Gateway) -> None:
    alice = await gateway.sign_in(_email())
    bob = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    position = await gateway.client.post(
        "/api/v1/trade/create",
        headers=alice,
        json={"asset": "BTC", "side": "long", "margin": "10", "leverage": 2},
    )
    entry = await gateway.client.post(
        "/api/v1/trade/create",
        headers=alice,
        json={"asset": "BTC", "side": "long", "margin": "10", "leverage": 2,
              "order_type": "limit", "price": "50000"},
    )  # fmt: skip
    position_id, entry_id = position.json()["order_id"], entry.json()["order_id"]

    answers = [
        await gateway.client.post(
            "/api/v1/trade/close", headers=bob, json={"order_id": position_id}
        ),
        await gateway.client.post(
            "/api/v1/trade/modify", headers=bob, json={"order_id": position_id, "stop_loss": "1"}
        ),
        await gateway.client.post("/api/v1/trade/cancel", headers=bob, json={"order_id": entry_id}),
    ]
    bobs = (await gateway.client.get("/api/v1/trade/open", headers=bob)).json()
    alices = (await gateway.client.get("/api/v1/trade/open", headers=alice)).json()

    assert [a.status_code for a in answers] == [404, 404, 404]
    assert {a.json()["error"]["code"] for a in answers} == {"ORDER_NOT_FOUND"}
    assert bobs == {"positions": [], "pending": []}
    assert len(alices["positions"]) == 1
    assert len(alices["pending"]) == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"asset":"BTC","side":"long","margin":NaN,"leverage":10}', "INVALID_JSON"),
        (b'{"asset":"BTC","side":"long","margin":Infinity,"leverage":10}', "INVALID_JSON"),
        (b'{"asset":"BTC","side":"long","margin":"NaN","leverage":10}', "INVALID_NUMBER"),
        (b'{"asset":"BTC","side":"long","margin":"Infinity","leverage":10}', "INVALID_NUMBER"),
        (b'{"asset":"BTC","side":"long","margin":1e2,"leverage":10}', "INVALID_NUMBER"),
        (b'{"asset":"BTC","side":"long","margin":"1E2","leverage":10}', "INVALID_NUMBER"),
        (b'{"asset":"BTC","side":"long","margin":"-0","leverage":10}', "INVALID_NUMBER"),
        (b'{"asset":"BTC","side":"long","margin":-0.0,"leverage":10}', "INVALID_NUMBER"),
        (b'{"asset":"BTC","side":"long","margin":"1.001","leverage":10}', "INVALID_NUMBER"),
        (
            b'{"asset":"BTC","side":"long","margin":1234567890123456789012345678901234567890,'
            b'"leverage":10}',
            "INVALID_NUMBER",
        ),
        (b'{"asset":"BTC","side":"long","margin":true,"leverage":10}', "INVALID_NUMBER"),
        (
            b'{"asset":"BTC","side":"long","margin":"99999999999999999999999999.00","leverage":1}',
            "INVALID_NUMBER",
        ),
        (
            b'{"asset":"BTC","side":"long","margin":"10","leverage":1,'
            b'"take_profit":"184467440737095516.15"}',
            "INVALID_NUMBER",
        ),
        (
            b'{"asset":"BTC","side":"long","margin":"10","leverage":1,"order_type":"limit",'
            b'"price":"60000","expires_at":"9999-12-31T23:59:59-14:00"}',
            "INVALID_EXPIRY",
        ),
        (b'{"asset":"BTC","side":"long","margin":"10","leverage":[1]}', "INVALID_NUMBER"),
        (b'{"asset":7,"side":"long","margin":"10","leverage":10}', "INVALID_REQUEST"),
        (b'{"asset":"BTC","side":"up","margin":"10","leverage":10}', "INVALID_REQUEST"),
        (b'{"asset":"BTC","side":"long","leverage":10}', "INVALID_MARGIN"),  # nor a quantity
        (b'{"asset":"BTC","side":"long","margin":"10","leverage":10,"x":1}', "INVALID_REQUEST"),
        (b'{"asset":"NOPE","side":"long","margin":"10","leverage":10}', "UNKNOWN_ASSET"),
        (b'{"asset":"BTC","side":"long","margin":"10","leverage":101}', "LEVERAGE_OUT_OF_RANGE"),
        (b'{"asset":"BTC","side":"long","margin":"10","leverage":0}', "LEVERAGE_OUT_OF_RANGE"),
        (b'{"asset":"BTC","side":"long","margin":"0","leverage":10}', "INVALID_MARGIN"),
        (b'{"asset":"BTC","side":"long","margin":"-5","leverage":10}', "INVALID_MARGIN"),
        (
            b'{"asset":"BTC","side":"long","margin":"10","leverage":10,"order_type":"limit"}',
            "INVALID_ORDER_PRICE",
        ),
        (
            b'{"asset":"BTC","side":"long","margin":"10","leverage":10,"price":"64000"}',
            "INVALID_ORDER_PRICE",
        ),
        (
            b'{"asset":"BTC","side":"long","margin":"10","leverage":10,"slippage_bps":50}',
            "INVALID_SLIPPAGE",
        ),
        (
            b'{"asset":"BTC","side":"long","margin":"10","leverage":10,"slippage_bps":50,'
            b'"expected_price":"0"}',
            "INVALID_SLIPPAGE",
        ),
        (
            b'{"asset":"BTC","side":"long","margin":"10","leverage":10,'
            b'"expires_at":"2030-01-01T00:00:00Z"}',
            "INVALID_EXPIRY",
        ),
        (
            b'{"asset":"BTC","side":"long","margin":"10","quantity":"0.01","leverage":10}',
            "INVALID_QUANTITY",
        ),
        (b'{"asset":"BTC","side":"long","quantity":"0","leverage":10}', "INVALID_QUANTITY"),
        (  # BTC trades in steps of 0.000001
            b'{"asset":"BTC","side":"long","quantity":"0.0000015","leverage":10}',
            "INVALID_QUANTITY",
        ),
        (
            b'{"asset":"BTC","side":"long","quantity":"0.000000001","leverage":10}',
            "INVALID_NUMBER",
        ),
        (b"[]", "INVALID_REQUEST"),
        (b"{", "INVALID_JSON"),
        (  # deeper than the decoder recurses, yet inside the body size limit
            b'{"asset":"BTC","side":"long","margin":' + b"[" * 5_000 + b"]" * 5_000 + b"}",
            "INVALID_JSON",
        ),
    ],
)
async def test_create_when_the_input_is_bad_is_refused_before_the_engine(
    gateway: Gateway, body: bytes, code: str
) -> None:
    headers = await gateway.sign_in(_email())
    records_before = await gateway.redis.xlen(gateway.streams.records)

    answer = await gateway.client.post(
        "/api/v1/trade/create",
        headers={**headers, "Content-Type": "application/json"},
        content=body,
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"]
    assert await gateway.redis.xlen(gateway.streams.records) == records_before


async def test_create_when_margin_exceeds_free_margin_is_refused_with_the_engine_code(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)

    answer = await gateway.client.post(
        "/api/v1/trade/create",
        headers=headers,
        json={"asset": "BTC", "side": "long", "margin": "10000.01", "leverage": 2},
    )

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "INSUFFICIENT_BALANCE"


async def test_create_and_modify_when_stop_loss_is_past_liquidation_are_422_and_change_nothing(
    gateway: Gateway,
) -> None:
    # 100.00 at 10x on an ask of about 64,036: liquidation near 60,834, below which a long's
    # stop-loss could never fire (liquidation comes first).
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    order = {"asset": "BTC", "side": "long", "margin": "100", "leverage": 10}

    refused = await gateway.client.post(
        "/api/v1/trade/create", headers=headers, json={**order, "stop_loss": "60000"}
    )
    listed = (await gateway.client.get("/api/v1/trade/open", headers=headers)).json()
    opened = await gateway.client.post(
        "/api/v1/trade/create", headers=headers, json={**order, "stop_loss": "62000"}
    )
    position = opened.json()["position"]
    at_liquidation = await gateway.client.post(
        "/api/v1/trade/modify",
        headers=headers,
        json={"order_id": opened.json()["order_id"], "stop_loss": position["liquidation_price"]},
    )
    after = (await gateway.client.get("/api/v1/trade/open", headers=headers)).json()

    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "STOP_LOSS_BEYOND_LIQUIDATION"
    assert listed == {"positions": [], "pending": []}
    assert opened.status_code == 200, opened.text
    assert at_liquidation.status_code == 422, at_liquidation.text
    assert at_liquidation.json()["error"]["code"] == "STOP_LOSS_BEYOND_LIQUIDATION"
    assert [p["stop_loss"] for p in after["positions"]] == ["62000.00"]


async def test_create_when_retried_with_the_same_key_opens_one_position(gateway: Gateway) -> None:
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    body = {"asset": "BTC", "side": "long", "margin": "10", "leverage": 2, "client_order_id": "k1"}

    first = await gateway.client.post("/api/v1/trade/create", headers=headers, json=body)
    again = await gateway.client.post("/api/v1/trade/create", headers=headers, json=body)
    listed = (await gateway.client.get("/api/v1/trade/open", headers=headers)).json()

    assert first.json()["order_id"] == again.json()["order_id"]
    assert len(listed["positions"]) == 1


async def test_demo_reset_when_positions_are_open_closes_them_and_restores_the_balance(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    await gateway.client.post(
        "/api/v1/trade/create",
        headers=headers,
        json={"asset": "BTC", "side": "long", "margin": "300", "leverage": 20},
    )
    await gateway.tick("BTC", 6_350_000, 6_351_000)  # a loss

    reset = await gateway.client.post("/api/v1/account/demo/reset", headers=headers)

    assert reset.status_code == 200, reset.text
    assert reset.json()["closed_positions"] == 1
    assert reset.json()["balance"]["balance"] == "10000.00"
    assert reset.json()["balance"]["used_margin"] == "0.00"


async def test_demo_reset_when_in_profit_with_an_entry_pending_cancels_it_and_trims_the_balance(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    await gateway.client.post(
        "/api/v1/trade/create",
        headers=headers,
        json={"asset": "BTC", "side": "long", "margin": "300", "leverage": 20},
    )
    await gateway.client.post(
        "/api/v1/trade/create",
        headers=headers,
        json={"asset": "BTC", "side": "long", "margin": "50", "leverage": 2,
              "order_type": "limit", "price": "60000"},
    )  # fmt: skip
    await gateway.tick("BTC", 6_450_000, 6_451_000)  # a profit

    reset = await gateway.client.post("/api/v1/account/demo/reset", headers=headers)
    listed = (await gateway.client.get("/api/v1/trade/open", headers=headers)).json()

    assert reset.status_code == 200, reset.text
    assert (reset.json()["closed_positions"], reset.json()["cancelled_orders"]) == (1, 1)
    assert reset.json()["balance"]["balance"] == "10000.00"
    assert reset.json()["balance"]["equity"] == "10000.00"
    assert listed == {"positions": [], "pending": []}


async def test_trade_when_over_the_user_rate_limit_is_429_with_retry_after(
    redis_client: Redis, redis_url: str, database_url: str, streams: Streams, tmp_path: Path
) -> None:
    async with running_gateway(
        redis_client, redis_url, database_url, streams, tmp_path, rate_per_user_per_min=3
    ) as gateway:
        headers = await gateway.sign_in(_email())
        writes = [
            await gateway.client.post("/api/v1/trade/cancel", headers=headers, json={"order_id": 1})
            for _ in range(4)
        ]
        read = await gateway.client.get("/api/v1/trade/open", headers=headers)

    assert [w.status_code for w in writes] == [404, 404, 404, 429]
    assert writes[-1].json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(writes[-1].headers["Retry-After"]) <= 60
    assert read.status_code == 200  # reads count against the IP limit only


@pytest.mark.parametrize("order_id", [0, -1, 10**30, "7", 1.5, None])
async def test_close_when_the_order_id_is_not_a_sane_integer_is_a_400(
    gateway: Gateway, order_id: object
) -> None:
    headers = await gateway.sign_in(_email())

    answer = await gateway.client.post(
        "/api/v1/trade/close", headers=headers, json={"order_id": order_id}
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "INVALID_REQUEST"


async def test_idempotency_key_when_reused_for_another_order_is_409_and_opens_nothing(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    await gateway.tick("XRP", 5_000, 5_010)
    keyed = {**headers, "Idempotency-Key": "k1"}
    btc = {"asset": "BTC", "side": "long", "margin": "10", "leverage": 2}

    first = await gateway.client.post("/api/v1/trade/create", headers=keyed, json=btc)
    other_asset = await gateway.client.post(
        "/api/v1/trade/create",
        headers=keyed,
        json={"asset": "XRP", "side": "long", "margin": "10", "leverage": 2},
    )
    other_margin = await gateway.client.post(
        "/api/v1/trade/create", headers=keyed, json={**btc, "margin": "11"}
    )
    listed = (await gateway.client.get("/api/v1/trade/open", headers=headers)).json()
    close = await gateway.client.post(
        "/api/v1/trade/close", headers=keyed, json={"order_id": first.json()["order_id"]}
    )

    assert first.status_code == 200, first.text
    for reused in (other_asset, other_margin):
        assert reused.status_code == 409, reused.text
        assert reused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert [p["order_id"] for p in listed["positions"]] == [first.json()["order_id"]]
    assert close.status_code == 200, close.text  # same key, another operation: its own request


async def test_close_when_retried_with_the_same_key_answers_the_first_close_again(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    opened = await gateway.client.post(
        "/api/v1/trade/create",
        headers=headers,
        json={"asset": "BTC", "side": "long", "margin": "100", "leverage": 5},
    )
    order_id = opened.json()["order_id"]
    keyed = {**headers, "Idempotency-Key": "close-1"}

    first = await gateway.client.post(
        "/api/v1/trade/close", headers=keyed, json={"order_id": order_id}
    )
    await gateway.tick("BTC", 6_500_000, 6_501_000)  # the price moves before the retry
    again = await gateway.client.post(
        "/api/v1/trade/close", headers=keyed, json={"order_id": order_id}
    )
    other = await gateway.client.post(
        "/api/v1/trade/close", headers=keyed, json={"order_id": order_id, "fraction": "0.5"}
    )
    fresh = await gateway.client.post(
        "/api/v1/trade/close", headers=headers, json={"order_id": order_id}
    )
    balance = (await gateway.client.get("/api/v1/balance", headers=headers)).json()

    assert first.status_code == 200, first.text
    assert (again.status_code, again.json()) == (200, first.json())
    assert first.json()["leverage"] == 5
    assert first.json()["opened_at"] == opened.json()["position"]["opened_at"]
    assert other.status_code == 409, other.text
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert fresh.status_code == 404  # without the key it is a new close: nothing left to close
    assert balance["used_margin"] == "0.00"


async def test_partial_close_when_retried_with_the_same_key_closes_only_once(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    opened = await gateway.client.post(
        "/api/v1/trade/create",
        headers=headers,
        json={"asset": "BTC", "side": "short", "margin": "100", "leverage": 5},
    )
    order_id = opened.json()["order_id"]
    keyed = {**headers, "Idempotency-Key": "half"}
    half = {"order_id": order_id, "fraction": "0.5"}

    first = await gateway.client.post("/api/v1/trade/close", headers=keyed, json=half)
    again = await gateway.client.post("/api/v1/trade/close", headers=keyed, json=half)
    listed = (await gateway.client.get("/api/v1/trade/open", headers=headers)).json()

    assert first.status_code == 200, first.text
    assert (again.status_code, again.json()) == (200, first.json())
    assert [p["margin"] for p in listed["positions"]] == ["50.00"]


async def test_modify_and_cancel_when_retried_with_the_same_key_answer_the_first_time_again(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    opened = await gateway.client.post(
        "/api/v1/trade/create",
        headers=headers,
        json={"asset": "BTC", "side": "long", "margin": "100", "leverage": 5},
    )
    placed = await gateway.client.post(
        "/api/v1/trade/create",
        headers=headers,
        json={"asset": "BTC", "side": "long", "margin": "50", "leverage": 2,
              "order_type": "limit", "price": "60000"},
    )  # fmt: skip
    keyed = {**headers, "Idempotency-Key": "again"}
    change = {"order_id": opened.json()["order_id"], "take_profit": "70000"}
    entry = {"order_id": placed.json()["order_id"]}

    modified = await gateway.client.post("/api/v1/trade/modify", headers=keyed, json=change)
    modified_again = await gateway.client.post("/api/v1/trade/modify", headers=keyed, json=change)
    other_change = await gateway.client.post(
        "/api/v1/trade/modify", headers=keyed, json={**change, "take_profit": "71000"}
    )
    cancelled = await gateway.client.post("/api/v1/trade/cancel", headers=keyed, json=entry)
    cancelled_again = await gateway.client.post("/api/v1/trade/cancel", headers=keyed, json=entry)
    listed = (await gateway.client.get("/api/v1/trade/open", headers=headers)).json()

    assert modified.status_code == 200, modified.text
    assert (modified_again.status_code, modified_again.json()) == (200, modified.json())
    assert other_change.status_code == 409, other_change.text
    assert other_change.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert [p["take_profit"] for p in listed["positions"]] == ["70000.00"]
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled_again.status_code, cancelled_again.json()) == (200, cancelled.json())
    assert listed["pending"] == []


async def test_demo_reset_when_sent_five_times_at_once_leaves_exactly_the_demo_balance(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    await gateway.client.post(
        "/api/v1/trade/create",
        headers=headers,
        json={"asset": "BTC", "side": "long", "margin": "5000", "leverage": 100},
    )
    await gateway.tick("BTC", 6_300_000, 6_301_000)  # liquidated: the balance is down

    answers = await asyncio.gather(
        *(gateway.client.post("/api/v1/account/demo/reset", headers=headers) for _ in range(5))
    )
    balance = (await gateway.client.get("/api/v1/balance", headers=headers)).json()

    assert {a.status_code for a in answers} <= {200, 409}
    assert 200 in {a.status_code for a in answers}
    assert balance["balance"] == "10000.00"
