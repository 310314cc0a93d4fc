"""Withdrawals: held from free margin when asked for (so the money cannot also back a
position), refused whole above it, released exactly when rejected, paid out when approved,
and the payout's reference recorded."""

from __future__ import annotations

import asyncio
import time

from cryptocfd.core.money import Cents
from cryptocfd.trading.commands import PlaceOrder, Side
from cryptocfd.trading.events import Accepted
from tests.integration.engine_clients import engine_client
from tests.integration.gateway_harness import Gateway
from tests.integration.live_funding import (
    LIVE,
    REQUESTS,
    approve,
    ask,
    code_of,
    deposited,
    live_figures,
    live_id,
    reject,
    verified_trader,
)
from tests.integration.operators import raised_operator


async def test_withdrawal_when_asked_for_holds_the_amount_from_free_margin_at_once(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)
    await deposited(gateway, trader, [operator], "500.00")

    asked = await ask(gateway, trader, "withdrawals", "300.00")
    held = live_figures(gateway, trader)
    above = await ask(gateway, trader, "withdrawals", "200.01")
    after_refusal = live_figures(gateway, trader)
    requests = await gateway.sql(
        "SELECT status FROM live_requests WHERE user_id = $1 AND kind = 'withdrawal'",
        trader.user_id,
    )

    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "requested" and asked.json()["amount"] == "300.00"
    assert held == (50_000, 20_000)  # the balance stays, the free margin falls
    assert above.status_code == 422 and code_of(above) == "INSUFFICIENT_BALANCE"
    assert after_refusal == held  # the refused one held nothing
    assert [r["status"] for r in requests] == ["requested"]  # and left no request


async def test_withdrawal_when_margin_is_in_use_may_not_take_it(
    gateway: Gateway, redis_url: str
) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)
    await deposited(gateway, trader, [operator], "500.00")
    await gateway.tick("BTC", 6_400_000, 6_401_000)
    order = PlaceOrder(
        f"live-order:{trader.user_id}",
        time.time_ns() // 1_000_000,
        live_id(trader),
        "BTC",
        Side.LONG,
        Cents(30_000),
        10,
    )
    async with engine_client(redis_url, gateway.streams) as client:
        assert isinstance(await client.send(order), Accepted)
    balance, free = live_figures(gateway, trader)

    too_much = await ask(
        gateway, trader, "withdrawals", f"{(free + 1) // 100}.{(free + 1) % 100:02d}"
    )
    exactly = await ask(gateway, trader, "withdrawals", f"{free // 100}.{free % 100:02d}")

    assert free < 20_000  # the margin in use and the spread's loss are not free
    assert too_much.status_code == 422 and code_of(too_much) == "INSUFFICIENT_BALANCE"
    assert exactly.status_code == 201, exactly.text
    assert live_figures(gateway, trader) == (balance, 0)


async def test_withdrawal_when_a_position_is_in_profit_may_not_take_the_profit(
    gateway: Gateway, redis_url: str
) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)
    await deposited(gateway, trader, [operator], "500.00")
    await gateway.tick("BTC", 6_400_000, 6_401_000)
    order = PlaceOrder(
        f"live-profit:{trader.user_id}",
        time.time_ns() // 1_000_000,
        live_id(trader),
        "BTC",
        Side.LONG,
        Cents(30_000),
        10,
    )
    async with engine_client(redis_url, gateway.streams) as client:
        assert isinstance(await client.send(order), Accepted)
    await gateway.tick("BTC", 6_600_000, 6_601_000)  # the long gains about 93 dollars

    profit = await ask(gateway, trader, "withdrawals", "200.01")
    cash = await ask(gateway, trader, "withdrawals", "200.00")

    assert profit.status_code == 422 and code_of(profit) == "INSUFFICIENT_BALANCE"
    assert cash.status_code == 201, cash.text
    assert live_figures(gateway, trader) == (50_000, 0)


async def test_reject_when_a_withdrawal_is_held_releases_exactly_what_it_held(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)
    await deposited(gateway, trader, [operator], "500.00")
    request_id = (await ask(gateway, trader, "withdrawals", "123.45")).json()["request_id"]

    rejected = await reject(gateway, operator, request_id, "account name does not match")
    released = live_figures(gateway, trader)
    again = await reject(gateway, operator, request_id)
    approved_late = await approve(gateway, operator, request_id)

    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert released == (50_000, 50_000)
    assert again.status_code == 409 and code_of(again) == "REQUEST_ALREADY_DECIDED"
    assert approved_late.status_code == 409 and code_of(approved_late) == "REQUEST_ALREADY_DECIDED"
    assert live_figures(gateway, trader) == (50_000, 50_000)


async def test_approve_when_a_withdrawal_is_held_pays_it_and_paid_records_the_payout(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)
    deposit_id = await deposited(gateway, trader, [operator], "500.00")
    request_id = (await ask(gateway, trader, "withdrawals", "200.00")).json()["request_id"]
    paid_path = f"{REQUESTS}/{request_id}/paid"

    early = await gateway.client.post(paid_path, headers=operator.raised, json={"reference": "X"})
    approved = await approve(gateway, operator, request_id)
    after_approval = live_figures(gateway, trader)
    blank = await gateway.client.post(paid_path, headers=operator.raised, json={"reference": " "})
    recorded = await gateway.client.post(
        paid_path, headers=operator.raised, json={"reference": "SEPA-0042"}
    )
    twice = await gateway.client.post(paid_path, headers=operator.raised, json={"reference": "Y"})
    on_deposit = await gateway.client.post(
        f"{REQUESTS}/{deposit_id}/paid", headers=operator.raised, json={"reference": "Z"}
    )
    mine = (await gateway.client.get(f"{LIVE}/requests", headers=trader.headers)).json()

    assert early.status_code == 409 and code_of(early) == "WITHDRAWAL_NOT_APPROVED"
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["booked_amount"] == "200.00"
    assert after_approval == (30_000, 30_000)  # the balance fell by the held amount
    assert blank.status_code == 400
    assert recorded.status_code == 200 and recorded.json()["status"] == "paid"
    assert recorded.json()["payout_reference"] == "SEPA-0042"
    assert twice.status_code == 409 and code_of(twice) == "WITHDRAWAL_NOT_APPROVED"
    assert on_deposit.status_code == 422 and code_of(on_deposit) == "NOT_A_WITHDRAWAL"
    assert live_figures(gateway, trader) == (30_000, 30_000)
    (withdrawal,) = [r for r in mine["requests"] if r["kind"] == "withdrawal"]
    assert [(c["status"], c["note"]) for c in withdrawal["changes"]] == [
        ("requested", None),
        ("approved", None),
        ("paid", "SEPA-0042"),
    ]


async def test_the_withdrawal_queue_when_listed_shows_approved_ones_until_paid(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)
    await deposited(gateway, trader, [operator], "500.00")
    waiting = (await ask(gateway, trader, "withdrawals", "10.00")).json()["request_id"]
    to_pay = (await ask(gateway, trader, "withdrawals", "20.00")).json()["request_id"]
    await approve(gateway, operator, to_pay)

    listed = await gateway.client.get(
        REQUESTS, headers=operator.raised, params={"kind": "withdrawal"}
    )

    mine = [e for e in listed.json()["requests"] if e["trader"]["user_id"] == trader.user_id]
    assert [(e["request_id"], e["status"]) for e in mine] == [
        (waiting, "requested"),
        (to_pay, "approved"),
    ]


async def test_withdrawal_when_retried_with_its_idempotency_key_holds_once(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)
    await deposited(gateway, trader, [operator], "500.00")
    keyed = {**trader.headers, "Idempotency-Key": "withdraw-1"}
    url = f"{LIVE}/withdrawals"

    first = await gateway.client.post(url, headers=keyed, json={"amount": "100.00"})
    again = await gateway.client.post(url, headers=keyed, json={"amount": "100.00"})
    other = await gateway.client.post(url, headers=keyed, json={"amount": "90.00"})
    at_once = await asyncio.gather(
        *(
            gateway.client.post(
                url, headers={**keyed, "Idempotency-Key": "withdraw-2"}, json={"amount": "50"}
            )
            for _ in range(2)
        )
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert other.status_code == 409 and code_of(other) == "IDEMPOTENCY_KEY_REUSED"
    assert [a.status_code for a in at_once] == [201, 201]
    assert at_once[0].json() == at_once[1].json()
    assert live_figures(gateway, trader) == (50_000, 35_000)  # 100 and 50 held, once each
