"""The risk console and the asset controls through the real gateway, engine, Redis and
PostgreSQL, with operators signed in by a TOTP code: figures per kind of account, the largest
accounts from the journal, roles, bad input, the controls' effect on orders and their audit."""

from __future__ import annotations

from typing import Any

from cryptocfd.bus.client import EngineClient
from cryptocfd.core.accounts import LIVE_ACCOUNT_BASE
from cryptocfd.core.money import Cents
from cryptocfd.trading.commands import OpenAccount, PlaceOrder, Side
from cryptocfd.trading.events import Accepted
from tests.integration.gateway_harness import Gateway
from tests.integration.operators import code_of, new_email, raised_operator
from tests.integration.test_order_by_id import journaled  # noqa: F401 - a fixture
from tests.waiting import until

API = "/api/v1"
RISK = f"{API}/admin/risk"
BTC_CONTROLS = f"{API}/admin/assets/BTC"
MARKET = {"asset": "BTC", "side": "long", "margin": "100.00", "leverage": 10}


async def _user_id(gateway: Gateway, headers: dict[str, str]) -> int:
    return int((await gateway.client.get(f"{API}/auth/me", headers=headers)).json()["id"])


async def _live_short(gateway: Gateway, user_id: int) -> None:
    """A live account for ``user_id`` holding a short, made through the engine itself (the
    live funding routes are another part of the platform)."""
    client = EngineClient(gateway.redis, gateway.streams)
    await client.start()
    try:
        account_id = LIVE_ACCOUNT_BASE + user_id
        opened = await client.send(OpenAccount(f"live-{user_id}", 0, account_id, Cents(500_000)))
        short = PlaceOrder(f"short-{user_id}", 0, account_id, "BTC", Side.SHORT, Cents(5_000), 2)
        shorted = await client.send(short)
    finally:
        await client.close()
    assert isinstance(opened, Accepted) and isinstance(shorted, Accepted), (opened, shorted)


def _btc(figures: dict[str, Any]) -> dict[str, Any]:
    return next(row for row in figures["assets"] if row["asset"] == "BTC")


async def test_risk_when_traders_hold_positions_shows_each_kind_apart_and_the_largest(
    journaled: Gateway,  # noqa: F811 - the fixture imported above
) -> None:
    gateway = journaled
    await gateway.tick("BTC", 6_000_000, 6_001_000)
    trader = await gateway.sign_in(new_email("trader"))
    created = await gateway.client.post(f"{API}/trade/create", headers=trader, json=MARKET)
    assert created.status_code == 200, created.text
    quantity = created.json()["position"]["quantity"]
    user_id = await _user_id(gateway, trader)
    await _live_short(gateway, user_id)
    risk = await raised_operator(gateway, "risk")

    async def demo_ranked() -> dict[str, Any] | None:
        answer = await gateway.client.get(f"{RISK}?account_kind=demo", headers=risk.raised)
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.json()["largest_accounts"] else None

    demo = await until(demo_ranked, why="the journal to book the demo position")
    live = (await gateway.client.get(RISK, headers=risk.raised)).json()  # live by default

    btc = _btc(demo)
    assert (btc["long_quantity"], btc["short_quantity"]) == (quantity, "0.00000000")
    assert btc["mark"] == "60005.00"
    assert btc["net_notional"] == btc["gross_notional"]
    assert demo["account_kind"] == "demo"
    (largest,) = demo["largest_accounts"]
    assert (largest["account_id"], largest["user_id"], largest["positions"]) == (
        user_id,
        user_id,
        1,
    )
    assert largest["gross_notional"] == btc["gross_notional"]
    live_btc = _btc(live)
    assert live["account_kind"] == "live"
    assert live_btc["long_quantity"] == "0.00000000"
    assert live_btc["short_quantity"] != "0.00000000"
    assert live_btc["net_notional"].startswith("-")
    assert (live["house_realized_pnl_today"], live["house_realized_pnl_total"]) == ("0.00", "0.00")


async def test_risk_routes_when_the_caller_is_a_plain_operator_refuse_with_403(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway, "operator")
    risk = await raised_operator(gateway, "risk")

    read = await gateway.client.get(RISK, headers=operator.raised)
    write = await gateway.client.post(BTC_CONTROLS, headers=operator.raised, json={"mode": "open"})
    both = await gateway.client.get(f"{RISK}?account_kind=both", headers=risk.raised)

    assert read.status_code == 403 and code_of(read) == "OPERATOR_ROLE_REQUIRED"
    assert write.status_code == 403 and code_of(write) == "OPERATOR_ROLE_REQUIRED"
    assert both.status_code == 400


async def _audit(gateway: Gateway, headers: dict[str, str], actor: str) -> list[dict[str, Any]]:
    """The controls set by ``actor``, newest first (the run's tests share one database)."""
    answer = await gateway.client.get(
        f"{API}/admin/audit",
        headers=headers,
        params={"action": "asset.controls", "target": "asset:BTC", "actor": actor},
    )
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return entries


async def test_controls_when_set_bind_orders_and_closes_and_each_is_audited(
    gateway: Gateway,
) -> None:
    await gateway.tick("BTC", 6_000_000, 6_001_000)
    trader = await gateway.sign_in(new_email("trader"))
    opened = await gateway.client.post(f"{API}/trade/create", headers=trader, json=MARKET)
    order_id = opened.json()["order_id"]
    admin = await raised_operator(gateway, "admin")

    close_only = await gateway.client.post(
        BTC_CONTROLS, headers=admin.raised, json={"mode": "close_only", "max_leverage": 20}
    )
    refused_open = await gateway.client.post(f"{API}/trade/create", headers=trader, json=MARKET)
    halted = await gateway.client.post(BTC_CONTROLS, headers=admin.raised, json={"mode": "halted"})
    refused_close = await gateway.client.post(
        f"{API}/trade/close", headers=trader, json={"order_id": order_id}
    )
    limited = await gateway.client.post(
        BTC_CONTROLS, headers=admin.raised, json={"mode": "open", "max_net_exposure": "1500.00"}
    )
    too_big = await gateway.client.post(f"{API}/trade/create", headers=trader, json=MARKET)
    entries = await _audit(gateway, admin.raised, admin.email)

    assert close_only.status_code == 200, close_only.text
    assert close_only.json() == {
        "asset": "BTC",
        "mode": "close_only",
        "max_net_exposure": None,
        "max_leverage": 20,
    }
    assert refused_open.status_code == 422 and code_of(refused_open) == "ASSET_CLOSE_ONLY"
    assert halted.status_code == 200
    assert refused_close.status_code == 422 and code_of(refused_close) == "ASSET_HALTED"
    assert limited.json()["max_net_exposure"] == "1500.00"
    # 1,000.00 held already, 1,000.00 more would make about 2,000.00 at the mark.
    assert too_big.status_code == 422 and code_of(too_big) == "EXPOSURE_LIMIT"
    assert [e["after"]["mode"] for e in entries] == ["open", "halted", "close_only"]
    newest, _, oldest = entries
    assert oldest["before"] == {
        "asset": "BTC",
        "mode": "open",
        "max_net_exposure": None,
        "max_leverage": None,
    }
    assert newest["before"]["mode"] == "halted"
    assert newest["after"]["max_net_exposure"] == "1500.00"
    assert (newest["actor"], newest["actor_id"]) == (admin.email, admin.user_id)


async def test_controls_when_the_input_is_bad_refuse_with_a_stable_code_and_audit_nothing(
    gateway: Gateway,
) -> None:
    risk = await raised_operator(gateway, "risk")

    async def post(path: str, body: object) -> Any:
        return await gateway.client.post(path, headers=risk.raised, json=body)

    unknown = await post(f"{API}/admin/assets/NOPE", {"mode": "open"})
    negative = await post(BTC_CONTROLS, {"mode": "open", "max_net_exposure": "-1.00"})
    precise = await post(BTC_CONTROLS, {"mode": "open", "max_net_exposure": "1.001"})
    leverage = await post(BTC_CONTROLS, {"mode": "open", "max_leverage": 0})
    too_high = await post(BTC_CONTROLS, {"mode": "open", "max_leverage": 101})
    mode = await post(BTC_CONTROLS, {"mode": "paused"})
    extra = await post(BTC_CONTROLS, {"mode": "open", "colour": "red"})

    assert unknown.status_code == 404 and code_of(unknown) == "UNKNOWN_ASSET"
    assert negative.status_code == 400 and code_of(negative) == "INVALID_CONTROLS"
    assert precise.status_code == 400 and code_of(precise) == "INVALID_NUMBER"
    assert leverage.status_code == 400 and code_of(leverage) == "INVALID_CONTROLS"
    assert too_high.status_code == 400 and code_of(too_high) == "INVALID_CONTROLS"
    assert mode.status_code == 400 and code_of(mode) == "INVALID_REQUEST"
    assert extra.status_code == 400 and code_of(extra) == "INVALID_REQUEST"
    assert await _audit(gateway, risk.raised, risk.email) == []
