"""Deposits: a verified trader asks and gets a transfer reference; an operator's approval books
it in the engine exactly once, however often it is approved or retried."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from cryptocfd.core.accounts import AccountKind
from cryptocfd.core.money import Cents
from cryptocfd.store.ledger import cash_account, funding_account
from cryptocfd.trading.commands import Deposit
from cryptocfd.trading.fingerprint import fingerprinted
from tests.integration.engine_clients import applied_once, engine_client
from tests.integration.gateway_harness import Gateway
from tests.integration.journal_world import caught_up, own_pool, running_journaler
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


async def test_deposit_when_requested_gets_a_unique_reference_and_waits_for_an_operator(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)

    first = await ask(gateway, trader, "deposits", "500.00")
    second = await ask(gateway, trader, "deposits", 250)
    mine = await gateway.client.get(f"{LIVE}/requests", headers=trader.headers)

    assert first.status_code == 201, first.text
    assert first.json()["status"] == "requested" and first.json()["amount"] == "500.00"
    assert second.json()["amount"] == "250.00"
    references = {first.json()["reference"], second.json()["reference"]}
    assert len(references) == 2
    assert all(re.fullmatch(r"CFD[0-9A-HJKMNP-TV-Z]{10}", ref) for ref in references)
    assert live_figures(gateway, trader) == (0, 0)  # nothing booked before an operator says so
    shown = mine.json()
    assert shown["kyc"]["status"] == "verified"
    assert [(r["kind"], r["status"]) for r in shown["requests"]] == [
        ("deposit", "requested"),
        ("deposit", "requested"),
        ("kyc", "verified"),
    ]
    assert shown["requests"][1]["reference"] == first.json()["reference"]


@pytest.mark.parametrize("amount", ["-5.00", "0", "0.00", "10.001", "abc", "1e3", -1, 0.5e-3, ""])
async def test_deposit_when_the_amount_is_bad_is_refused_and_nothing_is_recorded(
    gateway: Gateway, amount: object
) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)

    answer = await ask(gateway, trader, "deposits", amount)
    withdrawal = await ask(gateway, trader, "withdrawals", amount)
    stored = await gateway.sql(
        "SELECT id FROM live_requests WHERE user_id = $1 AND kind <> 'kyc'", trader.user_id
    )

    assert answer.status_code == 422 and code_of(answer) == "INVALID_AMOUNT", answer.text
    assert withdrawal.status_code == 422 and code_of(withdrawal) == "INVALID_AMOUNT"
    assert stored == []


async def test_approve_when_repeated_books_the_deposit_once_in_the_engine_and_the_ledger(
    own_gateway: Gateway, redis_url: str
) -> None:
    gateway = own_gateway
    operator = await raised_operator(gateway)
    other = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)
    asked = await ask(gateway, trader, "deposits", "500.00")
    request_id = asked.json()["request_id"]

    async with (
        own_pool(gateway.database_url) as pool,
        running_journaler(gateway.redis, gateway.streams, pool),
    ):
        first = await approve(gateway, operator, request_id)
        again = await approve(gateway, operator, request_id)
        by_other = await approve(gateway, other, request_id)
        await caught_up(pool, gateway.redis, gateway.streams)
        cash = await pool.fetch(
            "SELECT amount, event FROM ledger_entries WHERE ledger_account = $1",
            cash_account(live_id(trader)),
        )
        funding = await pool.fetch(
            "SELECT amount FROM ledger_entries WHERE ledger_account = $1",
            funding_account(AccountKind.LIVE),
        )

    assert first.status_code == 200, first.text
    assert first.json()["status"] == "approved" and first.json()["booked_amount"] == "500.00"
    for replay in (again, by_other):
        assert replay.status_code == 409 and code_of(replay) == "REQUEST_ALREADY_DECIDED"
    assert live_figures(gateway, trader) == (50_000, 50_000)
    assert [(r["amount"], r["event"]) for r in cash] == [(50_000, "FundsDeposited")]
    assert [r["amount"] for r in funding] == [-50_000]  # live money, apart from demo money
    applied = await applied_once(redis_url, gateway.streams)
    assert applied[f"funding:{request_id}:deposit"] == 1


async def test_approve_when_retried_after_the_engine_booked_books_nothing_again(
    gateway: Gateway, redis_url: str
) -> None:
    """A crash after the engine booked the deposit and before the status was committed: the
    retried approval sends the same request id, and the engine answers it with the first
    outcome."""
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)
    request_id = (await ask(gateway, trader, "deposits", "300.00")).json()["request_id"]
    now_ms = time.time_ns() // 1_000_000  # the engine remembers request ids for a day of ts
    rid = f"funding:{request_id}:deposit"
    booked_before = Deposit(rid, now_ms, live_id(trader), Cents(30_000))
    async with engine_client(redis_url, gateway.streams) as client:
        await client.send(fingerprinted(booked_before))

    answer = await approve(gateway, operator, request_id)

    assert answer.status_code == 200, answer.text
    assert answer.json()["booked_amount"] == "300.00"
    assert live_figures(gateway, trader) == (30_000, 30_000)
    assert (await applied_once(redis_url, gateway.streams))[f"funding:{request_id}:deposit"] == 1


async def test_approve_when_the_amount_is_corrected_books_what_arrived(gateway: Gateway) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)
    request_id = (await ask(gateway, trader, "deposits", "500.00")).json()["request_id"]

    bad = await approve(gateway, operator, request_id, "49.999")
    answer = await approve(gateway, operator, request_id, "480.50")
    mine = await gateway.client.get(f"{LIVE}/requests", headers=trader.headers)

    assert bad.status_code == 422 and code_of(bad) == "INVALID_AMOUNT"
    assert answer.status_code == 200, answer.text
    assert answer.json()["amount"] == "500.00" and answer.json()["booked_amount"] == "480.50"
    assert live_figures(gateway, trader) == (48_050, 48_050)
    assert mine.json()["requests"][0]["booked_amount"] == "480.50"


async def test_reject_when_a_deposit_waits_books_nothing_and_says_why(gateway: Gateway) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)
    request_id = (await ask(gateway, trader, "deposits", "500.00")).json()["request_id"]

    answer = await reject(gateway, operator, request_id, "no transfer arrived")
    late = await approve(gateway, operator, request_id)
    blank = await reject(gateway, operator, request_id, "   ")
    mine = (await gateway.client.get(f"{LIVE}/requests", headers=trader.headers)).json()

    assert answer.status_code == 200 and answer.json()["status"] == "rejected"
    assert late.status_code == 409 and code_of(late) == "REQUEST_ALREADY_DECIDED"
    assert blank.status_code == 400
    assert live_figures(gateway, trader) == (0, 0)
    assert mine["requests"][0]["reason"] == "no transfer arrived"
    assert [c["status"] for c in mine["requests"][0]["changes"]] == ["requested", "rejected"]


@pytest.mark.parametrize("action", ["approve", "reject", "paid"])
async def test_an_action_when_the_request_is_unknown_is_404(gateway: Gateway, action: str) -> None:
    operator = await raised_operator(gateway)
    body = {"approve": {}, "reject": {"reason": "x"}, "paid": {"reference": "x"}}[action]

    answer = await gateway.client.post(
        f"{REQUESTS}/987654321/{action}", headers=operator.raised, json=body
    )

    assert answer.status_code == 404 and code_of(answer) == "REQUEST_NOT_FOUND"


async def test_queue_when_listed_is_oldest_first_with_the_traders_history(gateway: Gateway) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)
    done = await deposited(gateway, trader, [operator], "10.00")
    first = (await ask(gateway, trader, "deposits", "20.00")).json()["request_id"]
    second = (await ask(gateway, trader, "deposits", "30.00")).json()["request_id"]

    listed = await gateway.client.get(REQUESTS, headers=operator.raised, params={"kind": "deposit"})
    approved = await gateway.client.get(
        REQUESTS, headers=operator.raised, params={"kind": "deposit", "status": "approved"}
    )
    bad = await gateway.client.get(REQUESTS, headers=operator.raised, params={"kind": "loan"})

    mine = [e for e in listed.json()["requests"] if e["trader"]["user_id"] == trader.user_id]
    assert [e["request_id"] for e in mine] == [first, second]
    history = mine[0]["trader"]["history"]
    assert mine[0]["trader"]["kyc_status"] == "verified"
    assert [h["request_id"] for h in history][:2] == [second, done]
    assert history[-1]["kind"] == "kyc"
    assert first not in [h["request_id"] for h in history]
    assert done in [e["request_id"] for e in approved.json()["requests"]]
    assert bad.status_code == 400


async def test_approve_when_two_operators_approve_at_once_books_the_deposit_once(
    gateway: Gateway,
) -> None:
    first, second = await raised_operator(gateway), await raised_operator(gateway)
    trader = await verified_trader(gateway, first)
    request_id = (await ask(gateway, trader, "deposits", "700.00")).json()["request_id"]

    answers = await asyncio.gather(
        approve(gateway, first, request_id), approve(gateway, second, request_id)
    )

    assert sorted(a.status_code for a in answers) == [200, 409]
    assert live_figures(gateway, trader) == (70_000, 70_000)
    approvals = await gateway.sql(
        "SELECT operator_id FROM live_request_approvals WHERE request_id = $1", request_id
    )
    assert len(approvals) == 1  # the refused one left nothing behind


async def test_live_requests_when_listed_show_only_the_callers_own(gateway: Gateway) -> None:
    operator = await raised_operator(gateway)
    one, other = await verified_trader(gateway, operator), await verified_trader(gateway, operator)
    mine = (await ask(gateway, one, "deposits", "5.00")).json()["request_id"]
    theirs = (await ask(gateway, other, "deposits", "6.00")).json()["request_id"]

    listed = (await gateway.client.get(f"{LIVE}/requests", headers=one.headers)).json()

    ids = [r["request_id"] for r in listed["requests"]]
    assert mine in ids and theirs not in ids
    assert {r["kind"] for r in listed["requests"]} == {"kyc", "deposit"}


async def test_deposit_when_retried_with_its_idempotency_key_is_the_same_request(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)
    keyed = {**trader.headers, "Idempotency-Key": "deposit-1"}
    url = f"{LIVE}/deposits"

    first = await gateway.client.post(url, headers=keyed, json={"amount": "100.00"})
    again = await gateway.client.post(url, headers=keyed, json={"amount": "100"})
    other = await gateway.client.post(url, headers=keyed, json={"amount": "100.01"})
    bad_key = await gateway.client.post(
        url, headers={**trader.headers, "Idempotency-Key": "x" * 65}, json={"amount": "1"}
    )
    stored = await gateway.sql(
        "SELECT id FROM live_requests WHERE user_id = $1 AND kind = 'deposit'", trader.user_id
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert other.status_code == 409 and code_of(other) == "IDEMPOTENCY_KEY_REUSED"
    assert bad_key.status_code == 400 and code_of(bad_key) == "INVALID_IDEMPOTENCY_KEY"
    assert len(stored) == 1
