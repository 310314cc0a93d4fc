"""Builders for the live-funding tests: documents that are what they say (or not), a trader
through KYC, requests and the operators' answers, and the engine's view of a live account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from cryptocfd.core.accounts import AccountKind, account_id_of
from cryptocfd.store.keyfiles import server_key
from cryptocfd.store.outbox import open_body
from tests.integration.gateway_harness import Gateway
from tests.integration.operators import API, SignedOperator, new_email

LIVE = f"{API}/live"
REQUESTS = f"{API}/admin/requests"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
PDF = b"%PDF-1.7\n" + b"1 0 obj << >> endobj\n" * 4
JPEG = b"\xff\xd8\xff\xe0" + bytes(64)
APPLICANT = {
    "full_name": "Ada Trader",
    "date_of_birth": "1990-05-17",
    "country": "DE",
    "address": "1 Unter den Linden, Berlin",
}
Doc = tuple[str, bytes, str]  # file name, content, declared type
PASSPORT: Doc = ("passport.png", PNG, "image/png")


@dataclass
class Trader:
    """A signed-in trader: email, bearer headers and user id."""

    email: str
    headers: dict[str, str]
    user_id: int


async def new_trader(gateway: Gateway) -> Trader:
    email = new_email("trader")
    headers = await gateway.sign_in(email)
    me = await gateway.client.get(f"{API}/auth/me", headers=headers)
    return Trader(email, headers, int(me.json()["id"]))


async def submit_kyc(
    gateway: Gateway,
    trader: Trader,
    documents: list[Doc] | None = None,
    fields: dict[str, str] | None = None,
) -> httpx.Response:
    files = [("documents[]", doc) for doc in ([PASSPORT] if documents is None else documents)]
    return await gateway.client.post(
        f"{LIVE}/kyc", headers=trader.headers, data={**APPLICANT, **(fields or {})}, files=files
    )


async def approve(
    gateway: Gateway, operator: SignedOperator, request_id: int, amount: str | None = None
) -> httpx.Response:
    body = None if amount is None else {"amount": amount}
    return await gateway.client.post(
        f"{REQUESTS}/{request_id}/approve", headers=operator.raised, json=body
    )


async def reject(
    gateway: Gateway, operator: SignedOperator, request_id: int, reason: str = "not legible"
) -> httpx.Response:
    return await gateway.client.post(
        f"{REQUESTS}/{request_id}/reject", headers=operator.raised, json={"reason": reason}
    )


async def queue(gateway: Gateway, operator: SignedOperator, **params: str) -> list[Any]:
    answer = await gateway.client.get(REQUESTS, headers=operator.raised, params=params)
    assert answer.status_code == 200, answer.text
    found: list[Any] = answer.json()["requests"]
    return found


async def verified_trader(gateway: Gateway, operator: SignedOperator) -> Trader:
    """A trader whose KYC ``operator`` verified."""
    trader = await new_trader(gateway)
    submitted = await submit_kyc(gateway, trader)
    assert submitted.status_code == 201, submitted.text
    verified = await approve(gateway, operator, submitted.json()["request_id"])
    assert verified.status_code == 200, verified.text
    return trader


async def ask(gateway: Gateway, trader: Trader, kind: str, amount: object) -> httpx.Response:
    """``POST /live/deposits`` or ``/live/withdrawals`` with ``amount``."""
    return await gateway.client.post(
        f"{LIVE}/{kind}", headers=trader.headers, json={"amount": amount}
    )


async def deposited(
    gateway: Gateway, trader: Trader, operators: list[SignedOperator], amount: str
) -> int:
    """A deposit of ``amount`` asked for and approved by each of ``operators``; its id."""
    asked = await ask(gateway, trader, "deposits", amount)
    assert asked.status_code == 201, asked.text
    request_id: int = asked.json()["request_id"]
    for operator in operators:
        answer = await approve(gateway, operator, request_id)
        assert answer.status_code == 200, answer.text
    return request_id


def live_id(trader: Trader) -> int:
    return account_id_of(trader.user_id, AccountKind.LIVE)


def live_figures(gateway: Gateway, trader: Trader) -> tuple[int, int]:
    """The live account's balance and free margin in the engine, in cents."""
    state = gateway.engine.engine.state
    account = state.accounts[live_id(trader)]
    return int(account.balance), int(state.free_margin(account))


async def emails_to(gateway: Gateway, trader: Trader) -> list[tuple[str, str]]:
    """Every email queued for the trader, oldest first: subject and opened body."""
    rows = await gateway.sql(
        "SELECT subject, sealed_body FROM email_outbox WHERE recipient = $1 ORDER BY id",
        trader.email,
    )
    key = server_key(gateway.settings)
    return [(r["subject"], open_body(key, trader.email, r["sealed_body"])) for r in rows]


def code_of(answer: httpx.Response) -> str:
    return str(answer.json()["error"]["code"])
