"""What a request leaves behind: one audit row per back-office action (who, what, before,
after, from where), and an email to the trader for every change, through the outbox and a
real SMTP server, each change also shown by ``GET /live/requests``."""

from __future__ import annotations

from typing import Any

from cryptocfd.services.outbox_sender import OutboxSender, SmtpMailer
from cryptocfd.store.keyfiles import server_key
from tests.integration.gateway_harness import Gateway
from tests.integration.journal_world import own_pool
from tests.integration.live_funding import (
    LIVE,
    REQUESTS,
    Trader,
    approve,
    ask,
    new_trader,
    reject,
    submit_kyc,
)
from tests.integration.operators import SignedOperator, raised_operator
from tests.integration.smtp_inbox import Inbox


async def _trail(gateway: Gateway, request_id: int) -> list[Any]:
    return await gateway.sql(
        "SELECT actor_id, actor, action, before::text, after::text, client_addr"
        " FROM audit_log WHERE target = $1 ORDER BY id",
        f"request:{request_id}",
    )


async def _every_kind_of_action(
    gateway: Gateway, trader: Trader, first: SignedOperator, second: SignedOperator
) -> dict[str, int]:
    """KYC verified, a four-eyes deposit, a rejected and a paid withdrawal, a document view."""
    kyc = (await submit_kyc(gateway, trader)).json()["request_id"]
    await approve(gateway, first, kyc)
    deposit = (await ask(gateway, trader, "deposits", "1500.00")).json()["request_id"]
    await approve(gateway, first, deposit)
    await approve(gateway, second, deposit)
    refused = (await ask(gateway, trader, "withdrawals", "100.00")).json()["request_id"]
    await reject(gateway, first, refused, "wrong bank account")
    paid = (await ask(gateway, trader, "withdrawals", "200.00")).json()["request_id"]
    await approve(gateway, second, paid)
    await gateway.client.post(
        f"{REQUESTS}/{paid}/paid", headers=first.raised, json={"reference": "SEPA-7"}
    )
    await gateway.client.get(f"{REQUESTS}/{kyc}/documents/1", headers=second.raised)
    return {"kyc": kyc, "deposit": deposit, "refused": refused, "paid": paid}


async def test_every_back_office_action_when_taken_appends_one_audit_row(
    gateway: Gateway,
) -> None:
    first, second = await raised_operator(gateway), await raised_operator(gateway)
    trader = await new_trader(gateway)
    ids = await _every_kind_of_action(gateway, trader, first, second)

    trails = {name: await _trail(gateway, rid) for name, rid in ids.items()}

    def actions(name: str) -> list[tuple[int, str]]:
        return [(row["actor_id"], row["action"]) for row in trails[name]]

    assert actions("kyc") == [(first.user_id, "kyc.verify"), (second.user_id, "kyc.document.view")]
    assert actions("deposit") == [
        (first.user_id, "deposit.approve"),
        (second.user_id, "deposit.approve"),
    ]
    assert actions("refused") == [(first.user_id, "withdrawal.reject")]
    assert actions("paid") == [
        (second.user_id, "withdrawal.approve"),
        (first.user_id, "withdrawal.paid"),
    ]
    one, two = trails["deposit"]
    assert '"status": "requested"' in one["after"] and '"approvals": 1' in one["after"]
    assert '"approvals": 1' in two["before"] and '"status": "approved"' in two["after"]
    assert '"booked_amount": "1500.00"' in two["after"]
    assert '"reason": "wrong bank account"' in trails["refused"][0]["after"]
    assert '"payout_reference": "SEPA-7"' in trails["paid"][1]["after"]
    rows = [row for trail in trails.values() for row in trail]
    assert {row["client_addr"] for row in rows} == {"203.0.113.7"}
    assert {row["actor"] for row in rows} == {first.email, second.email}


async def test_every_change_of_a_request_when_made_is_emailed_and_listed(
    own_gateway: Gateway, smtp_server: tuple[Inbox, int]
) -> None:
    gateway = own_gateway
    inbox, port = smtp_server
    first, second = await raised_operator(gateway), await raised_operator(gateway)
    trader = await new_trader(gateway)
    ids = await _every_kind_of_action(gateway, trader, first, second)
    mine = (await gateway.client.get(f"{LIVE}/requests", headers=trader.headers)).json()

    async with own_pool(gateway.database_url) as pool:
        mailer = SmtpMailer("127.0.0.1", port, "CryptoCFD <no-reply@test>")
        await OutboxSender(pool, mailer, server_key(gateway.settings)).send_due()

    to_trader = [text for to, text in inbox.messages if to == [trader.email]]
    subjects = [
        line.removeprefix("Subject: ")
        for text in to_trader
        for line in text.splitlines()
        if line.startswith("Subject: ") and "(request " in line  # not the sign-in link
    ]
    expected = [
        ("kyc", "We received your identity documents"),
        ("kyc", "Your identity is verified"),
        ("deposit", "Your deposit request: how to transfer the money"),
        ("deposit", "Your deposit is credited"),
        ("refused", "Your withdrawal request is received"),
        ("refused", "Your withdrawal request was rejected"),
        ("paid", "Your withdrawal request is received"),
        ("paid", "Your withdrawal is approved"),
        ("paid", "Your withdrawal is paid out"),
    ]
    assert len(subjects) == len(expected)
    for subject, (name, start) in zip(subjects, expected, strict=True):
        assert subject.startswith(start) and subject.endswith(f"(request {ids[name]})"), subject
    reference = next(r["reference"] for r in mine["requests"] if r["request_id"] == ids["deposit"])
    assert any(reference in text for text in to_trader)  # the deposit email says what to quote
    changes = {r["request_id"]: [c["status"] for c in r["changes"]] for r in mine["requests"]}
    assert changes == {
        ids["kyc"]: ["submitted", "verified"],
        ids["deposit"]: ["requested", "approved"],
        ids["refused"]: ["requested", "rejected"],
        ids["paid"]: ["requested", "approved", "paid"],
    }
