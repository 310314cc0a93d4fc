"""Four eyes: above the threshold a deposit or withdrawal needs two approvals by two
different operators; and only the operator and admin roles work the queues."""

from __future__ import annotations

from tests.integration.gateway_harness import Gateway
from tests.integration.live_funding import (
    REQUESTS,
    approve,
    ask,
    code_of,
    deposited,
    live_figures,
    new_trader,
    submit_kyc,
    verified_trader,
)
from tests.integration.operators import raised_operator


async def test_approve_when_above_the_threshold_needs_a_second_operator(gateway: Gateway) -> None:
    first, second = await raised_operator(gateway), await raised_operator(gateway, "admin")
    trader = await verified_trader(gateway, first)
    request_id = (await ask(gateway, trader, "deposits", "1000.01")).json()["request_id"]

    one = await approve(gateway, first, request_id)
    balance_after_one = live_figures(gateway, trader)
    same_again = await approve(gateway, first, request_id)
    two = await approve(gateway, second, request_id)

    assert one.status_code == 200, one.text
    assert one.json()["status"] == "requested"
    assert one.json()["approvals_needed"] == 2
    assert [a["operator_id"] for a in one.json()["approvals"]] == [first.user_id]
    assert balance_after_one == (0, 0)
    assert same_again.status_code == 403 and code_of(same_again) == "FOUR_EYES_SAME_OPERATOR"
    assert two.status_code == 200, two.text
    assert two.json()["status"] == "approved" and two.json()["booked_amount"] == "1000.01"
    assert [a["operator_id"] for a in two.json()["approvals"]] == [first.user_id, second.user_id]
    assert live_figures(gateway, trader) == (100_001, 100_001)


async def test_approve_when_at_the_threshold_one_operator_is_enough(gateway: Gateway) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)

    await deposited(gateway, trader, [operator], "1000.00")

    assert live_figures(gateway, trader) == (100_000, 100_000)


async def test_approve_when_a_correction_lifts_it_above_the_threshold_needs_two(
    gateway: Gateway,
) -> None:
    first, second = await raised_operator(gateway), await raised_operator(gateway)
    trader = await verified_trader(gateway, first)
    request_id = (await ask(gateway, trader, "deposits", "900.00")).json()["request_id"]

    one = await approve(gateway, first, request_id, "1500.00")
    differs = await approve(gateway, second, request_id, "1400.00")
    two = await approve(gateway, second, request_id, "1500.00")

    assert one.json()["status"] == "requested" and one.json()["approvals_needed"] == 2
    assert differs.status_code == 409 and code_of(differs) == "APPROVAL_AMOUNT_DIFFERS"
    assert two.json()["status"] == "approved" and two.json()["booked_amount"] == "1500.00"
    assert live_figures(gateway, trader) == (150_000, 150_000)


async def test_approve_when_a_withdrawal_is_above_the_threshold_needs_two(
    gateway: Gateway,
) -> None:
    first, second = await raised_operator(gateway), await raised_operator(gateway)
    trader = await verified_trader(gateway, first)
    await deposited(gateway, trader, [first, second], "3000.00")
    request_id = (await ask(gateway, trader, "withdrawals", "2000.00")).json()["request_id"]

    one = await approve(gateway, first, request_id)
    held = live_figures(gateway, trader)
    same = await approve(gateway, first, request_id)
    two = await approve(gateway, second, request_id)

    assert one.json()["status"] == "requested" and held == (300_000, 100_000)
    assert same.status_code == 403 and code_of(same) == "FOUR_EYES_SAME_OPERATOR"
    assert two.json()["status"] == "approved"
    assert live_figures(gateway, trader) == (100_000, 100_000)


async def test_the_queues_when_called_by_another_role_or_a_trader_are_refused(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    risk = await raised_operator(gateway, "risk")
    trader = await new_trader(gateway)
    request_id = (await submit_kyc(gateway, trader)).json()["request_id"]

    as_risk = await approve(gateway, risk, request_id)
    risk_list = await gateway.client.get(REQUESTS, headers=risk.raised)
    as_trader = await gateway.client.post(
        f"{REQUESTS}/{request_id}/approve", headers=trader.headers, json={}
    )
    status = (await gateway.client.get(REQUESTS, headers=operator.raised)).json()

    assert as_risk.status_code == 403 and code_of(as_risk) == "OPERATOR_ROLE_REQUIRED"
    assert risk_list.status_code == 403 and code_of(risk_list) == "OPERATOR_ROLE_REQUIRED"
    assert as_trader.status_code == 403 and code_of(as_trader) == "OPERATOR_ROLE_REQUIRED"
    assert request_id in [e["request_id"] for e in status["requests"]]  # still waiting
