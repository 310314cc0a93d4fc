"""A user's demo and live accounts through the gateway: real app, engine, Redis, PostgreSQL.

Every trade, balance and history route acts on the account the request names
(``account=demo|live`` in the query or the body), else on the user's active one."""

from __future__ import annotations

import httpx

from tests.integration.gateway_harness import Gateway
from tests.integration.journal_world import caught_up, own_pool, running_journaler
from tests.integration.live_accounts import Trader, open_live, signed_in_trader
from tests.integration.test_api_keys import make_key, signed_get, signed_post

BTC_BID, BTC_ASK = 6_400_000, 6_401_000
LONG = {"asset": "BTC", "side": "long", "margin": "100.00", "leverage": 10}


async def live_trader(gateway: Gateway, cents: int) -> Trader:
    """A signed-in trader whose live account is open with ``cents``, BTC freshly quoted."""
    trader = await signed_in_trader(gateway)
    await open_live(gateway, trader.user_id, cents)
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    return trader


def _code(answer: httpx.Response) -> str:
    return str(answer.json()["error"]["code"])


async def _balance(gateway: Gateway, trader: Trader, query: str = "") -> dict[str, str]:
    answer = await gateway.client.get(f"/api/v1/balance{query}", headers=trader.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_routes_when_the_live_account_is_not_open_answer_409_and_change_nothing(
    gateway: Gateway,
) -> None:
    trader = await signed_in_trader(gateway)
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    client, headers = gateway.client, trader.headers

    answers = [
        await client.get("/api/v1/balance?account=live", headers=headers),
        await client.get("/api/v1/trade/open?account=live", headers=headers),
        await client.get("/api/v1/trade/orders/1?account=live", headers=headers),
        await client.post(
            "/api/v1/trade/create", headers=headers, json={**LONG, "account": "live"}
        ),
        await client.post(
            "/api/v1/trade/close?account=live", headers=headers, json={"order_id": 1}
        ),
        await client.post(
            "/api/v1/trade/cancel", headers=headers, json={"order_id": 1, "account": "live"}
        ),
        await client.post("/api/v1/account/active", headers=headers, json={"account": "live"}),
    ]
    accounts = await client.get("/api/v1/account", headers=headers)

    assert [(a.status_code, _code(a)) for a in answers] == [(409, "LIVE_ACCOUNT_NOT_OPEN")] * 7
    assert accounts.json() == {
        "active": "demo",
        "accounts": [{"account": "demo", "open": True}, {"account": "live", "open": False}],
    }
    assert (await _balance(gateway, trader))["used_margin"] == "0.00"


async def test_trade_when_account_is_live_acts_on_the_live_account_alone(gateway: Gateway) -> None:
    trader = await live_trader(gateway, 100_000)
    client, headers = gateway.client, trader.headers

    live = await client.post(
        "/api/v1/trade/create", headers=headers, json={**LONG, "account": "live"}
    )
    demo = await client.post("/api/v1/trade/create", headers=headers, json={**LONG, "margin": "30"})
    live_open = (await client.get("/api/v1/trade/open?account=live", headers=headers)).json()
    demo_open = (await client.get("/api/v1/trade/open", headers=headers)).json()
    live_figures = await _balance(gateway, trader, "?account=live")
    demo_figures = await _balance(gateway, trader, "?account=demo")

    assert live.status_code == 200, live.text
    assert demo.status_code == 200, demo.text
    live_id, demo_id = live.json()["order_id"], demo.json()["order_id"]
    assert [p["order_id"] for p in live_open["positions"]] == [live_id]
    assert [p["order_id"] for p in demo_open["positions"]] == [demo_id]
    assert (live_figures["balance"], live_figures["used_margin"]) == ("1000.00", "100.00")
    assert (demo_figures["balance"], demo_figures["used_margin"]) == ("10000.00", "30.00")


async def test_orders_when_asked_on_the_other_account_or_by_another_user_are_404(
    gateway: Gateway,
) -> None:
    trader, stranger = await signed_in_trader(gateway), await signed_in_trader(gateway)
    await open_live(gateway, trader.user_id, cents=100_000)
    await open_live(gateway, stranger.user_id, cents=100_000)
    await gateway.tick("BTC", BTC_BID, BTC_ASK)
    client = gateway.client
    live = await client.post("/api/v1/trade/create?account=live", headers=trader.headers, json=LONG)
    order_id = live.json()["order_id"]
    path = f"/api/v1/trade/orders/{order_id}"

    own_live = await client.get(f"{path}?account=live", headers=trader.headers)
    own_demo = await client.get(path, headers=trader.headers)
    theirs = await client.get(f"{path}?account=live", headers=stranger.headers)
    their_close = await client.post(
        "/api/v1/trade/close",
        headers=stranger.headers,
        json={"order_id": order_id, "account": "live"},
    )
    demo_close = await client.post(
        "/api/v1/trade/close", headers=trader.headers, json={"order_id": order_id}
    )

    assert own_live.status_code == 200, own_live.text
    assert own_live.json()["status"] == "open"
    for answer in (own_demo, theirs, their_close, demo_close):
        assert (answer.status_code, _code(answer)) == (404, "ORDER_NOT_FOUND"), answer.text


async def test_close_modify_and_cancel_when_account_is_live_in_the_query_or_body_act_on_live(
    gateway: Gateway,
) -> None:
    trader = await live_trader(gateway, 100_000)
    client, headers = gateway.client, trader.headers
    opened = await client.post("/api/v1/trade/create?account=live", headers=headers, json=LONG)
    limit = {**LONG, "order_type": "limit", "price": "60000", "account": "live"}
    placed = await client.post("/api/v1/trade/create", headers=headers, json=limit)
    position_id, pending_id = opened.json()["order_id"], placed.json()["order_id"]

    modified = await client.post(
        "/api/v1/trade/modify?account=live",
        headers=headers,
        json={"order_id": position_id, "stop_loss": "62000"},
    )
    cancelled = await client.post(
        "/api/v1/trade/cancel", headers=headers, json={"order_id": pending_id, "account": "live"}
    )
    closed = await client.post(
        "/api/v1/trade/close",
        headers=headers,
        json={"order_id": position_id, "account": "live"},
    )
    figures = await _balance(gateway, trader, "?account=live")

    assert modified.status_code == 200, modified.text
    assert modified.json()["stop_loss"] == "62000.00"
    assert cancelled.json() == {"order_id": pending_id, "released_margin": "100.00"}
    assert closed.status_code == 200, closed.text
    assert figures["used_margin"] == "0.00"
    assert int(figures["balance"].replace(".", "")) == 100_000 + round(
        float(closed.json()["pnl"]) * 100
    )
    assert (await _balance(gateway, trader))["balance"] == "10000.00"  # demo untouched


async def test_switch_when_live_is_open_makes_it_the_default_of_every_route_until_switched_back(
    gateway: Gateway,
) -> None:
    trader = await live_trader(gateway, 50_000)
    client, headers = gateway.client, trader.headers

    to_live = await client.post("/api/v1/account/active", headers=headers, json={"account": "live"})
    shown = (await client.get("/api/v1/account", headers=headers)).json()
    live_default = await _balance(gateway, trader)
    created = await client.post("/api/v1/trade/create", headers=headers, json=LONG)
    named_demo = await _balance(gateway, trader, "?account=demo")
    to_demo = await client.post("/api/v1/account/active", headers=headers, json={"account": "demo"})
    demo_default = await _balance(gateway, trader)
    stored = await gateway.sql("SELECT active_account FROM users WHERE id = $1", trader.user_id)

    assert to_live.status_code == 200, to_live.text
    assert to_live.json()["active"] == "live"
    assert shown == {
        "active": "live",
        "accounts": [{"account": "demo", "open": True}, {"account": "live", "open": True}],
    }
    assert live_default["balance"] == "500.00"
    assert created.status_code == 200, created.text
    assert named_demo["used_margin"] == "0.00"  # the default's order went to live
    assert to_demo.json()["active"] == "demo"
    assert (demo_default["balance"], demo_default["used_margin"]) == ("10000.00", "0.00")
    assert stored[0]["active_account"] == "demo"


async def test_account_when_named_badly_or_twice_differently_is_422_and_nothing_is_done(
    gateway: Gateway,
) -> None:
    trader = await live_trader(gateway, 0)
    client, headers = gateway.client, trader.headers

    answers = [
        await client.get("/api/v1/balance?account=foo", headers=headers),
        await client.get("/api/v1/trade/open?account=LIVE", headers=headers),
        await client.post("/api/v1/trade/create", headers=headers, json={**LONG, "account": "x"}),
        await client.post("/api/v1/trade/create", headers=headers, json={**LONG, "account": 1}),
        await client.post("/api/v1/account/active", headers=headers, json={"account": "foo"}),
    ]
    conflicts = [
        await client.post(
            "/api/v1/trade/create?account=demo", headers=headers, json={**LONG, "account": "live"}
        ),
        await client.get("/api/v1/balance?account=demo&account=live", headers=headers),
    ]
    agreeing = await client.post(
        "/api/v1/trade/create?account=demo", headers=headers, json={**LONG, "account": "demo"}
    )

    assert [(a.status_code, _code(a)) for a in answers] == [(422, "INVALID_ACCOUNT")] * 5
    assert [(a.status_code, _code(a)) for a in conflicts] == [(422, "ACCOUNT_CONFLICT")] * 2
    assert agreeing.status_code == 200, agreeing.text
    assert (await _balance(gateway, trader))["used_margin"] == "100.00"  # the agreeing one only


async def test_reset_when_the_account_is_live_is_refused_and_the_live_money_stays(
    gateway: Gateway,
) -> None:
    trader = await signed_in_trader(gateway)
    await open_live(gateway, trader.user_id, cents=20_000)
    client, headers = gateway.client, trader.headers

    named = await client.post("/api/v1/account/demo/reset?account=live", headers=headers)
    await client.post("/api/v1/account/active", headers=headers, json={"account": "live"})
    by_default = await client.post("/api/v1/account/demo/reset", headers=headers)
    demo = await client.post("/api/v1/account/demo/reset?account=demo", headers=headers)

    assert (named.status_code, _code(named)) == (409, "NOT_A_DEMO_ACCOUNT")
    assert (by_default.status_code, _code(by_default)) == (409, "NOT_A_DEMO_ACCOUNT")
    assert demo.status_code == 200, demo.text
    assert (await _balance(gateway, trader, "?account=live"))["balance"] == "200.00"


async def test_idempotency_key_when_sent_on_each_account_is_a_request_of_each(
    gateway: Gateway,
) -> None:
    trader = await live_trader(gateway, 100_000)
    client = gateway.client
    headers = {**trader.headers, "Idempotency-Key": "same-key"}
    keyed = {**LONG, "client_order_id": "same-order"}

    demo = await client.post("/api/v1/trade/create", headers=headers, json=LONG)
    live = await client.post("/api/v1/trade/create?account=live", headers=headers, json=LONG)
    live_again = await client.post("/api/v1/trade/create?account=live", headers=headers, json=LONG)
    by_id_demo = await client.post("/api/v1/trade/create", headers=trader.headers, json=keyed)
    by_id_live = await client.post(
        "/api/v1/trade/create", headers=trader.headers, json={**keyed, "account": "live"}
    )

    for answer in (demo, live, live_again, by_id_demo, by_id_live):
        assert answer.status_code == 200, answer.text
    assert demo.json()["order_id"] != live.json()["order_id"]
    assert live_again.json()["order_id"] == live.json()["order_id"]  # a retry: one order
    assert by_id_demo.json()["order_id"] != by_id_live.json()["order_id"]
    assert (await _balance(gateway, trader, "?account=live"))["used_margin"] == "200.00"


async def test_api_key_when_a_request_names_live_acts_on_live_and_a_posts_query_is_refused(
    gateway: Gateway,
) -> None:
    trader = await live_trader(gateway, 100_000)
    key = await make_key(gateway, trader.headers)
    client = gateway.client

    live = await signed_post(client, key, "/trade/create", {**LONG, "account": "live"})
    unsigned = await signed_post(client, key, "/trade/create?account=live", LONG)
    live_figures = await signed_get(client, key, "/balance", "account=live")
    default = await signed_get(client, key, "/balance")

    assert live.status_code == 200, live.text
    assert (unsigned.status_code, _code(unsigned)) == (400, "ACCOUNT_NOT_SIGNED")
    assert live_figures.json()["used_margin"] == "100.00"  # the refused one placed nothing
    assert default.json()["used_margin"] == "0.00"  # the active account: demo


async def test_history_when_each_account_closed_a_trade_lists_only_that_accounts_closes(
    gateway: Gateway,
) -> None:
    trader = await live_trader(gateway, 100_000)
    client, headers = gateway.client, trader.headers
    closed: dict[str, int] = {}
    for account in ("live", "demo"):
        opened = await client.post(
            f"/api/v1/trade/create?account={account}", headers=headers, json=LONG
        )
        order_id = opened.json()["order_id"]
        close = await client.post(
            "/api/v1/trade/close", headers=headers, json={"order_id": order_id, "account": account}
        )
        assert close.status_code == 200, close.text
        closed[account] = order_id

    async with (
        own_pool(gateway.database_url) as pool,
        running_journaler(gateway.redis, gateway.streams, pool),
    ):
        await caught_up(pool, gateway.redis, gateway.streams)
        live_page = await client.get("/api/v1/trade/closed?account=live", headers=headers)
        demo_page = await client.get("/api/v1/trade/close", headers=headers)  # the default: demo
        live_order = await client.get(
            f"/api/v1/trade/orders/{closed['live']}?account=live", headers=headers
        )
        across = await client.get(f"/api/v1/trade/orders/{closed['live']}", headers=headers)

    assert [t["order_id"] for t in live_page.json()["items"]] == [closed["live"]]
    assert [t["order_id"] for t in demo_page.json()["items"]] == [closed["demo"]]
    assert live_order.json()["status"] == "closed"
    assert (across.status_code, _code(across)) == (404, "ORDER_NOT_FOUND")
