"""KYC: an application opens the live account at 0.00 and waits for an operator; documents
are checked by content and kept sealed, for operators only; only a verified trader funds."""

from __future__ import annotations

import pytest

from tests.integration.gateway_harness import Gateway
from tests.integration.live_funding import (
    JPEG,
    LIVE,
    PASSPORT,
    PDF,
    PNG,
    REQUESTS,
    Doc,
    approve,
    ask,
    code_of,
    live_figures,
    new_trader,
    queue,
    reject,
    submit_kyc,
    verified_trader,
)
from tests.integration.operators import raised_operator

FIVE_MB = 5 * 1024 * 1024


async def test_kyc_when_submitted_opens_the_live_account_at_zero_and_waits_for_review(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    trader = await new_trader(gateway)

    before = await gateway.client.get(f"{LIVE}/kyc", headers=trader.headers)
    submitted = await submit_kyc(gateway, trader, [PASSPORT, ("bill.pdf", PDF, "application/pdf")])
    after = await gateway.client.get(f"{LIVE}/kyc", headers=trader.headers)
    again = await submit_kyc(gateway, trader)
    waiting = [
        e
        for e in await queue(gateway, operator, kind="kyc")
        if e["trader"]["user_id"] == trader.user_id
    ]

    assert before.json()["status"] == "none"
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["status"] == "submitted"
    assert after.json()["status"] == "submitted"
    assert again.status_code == 409 and code_of(again) == "KYC_UNDER_REVIEW"
    assert live_figures(gateway, trader) == (0, 0)  # opened with nothing, never the demo 10,000
    demo = gateway.engine.engine.state.accounts.get(trader.user_id)
    assert demo is None or demo.balance == 1_000_000
    (entry,) = waiting
    assert entry["status"] == "submitted" and entry["trader"]["kyc_status"] == "submitted"
    assert entry["applicant"] == {
        "full_name": "Ada Trader",
        "date_of_birth": "1990-05-17",
        "country": "DE",
        "address": "1 Unter den Linden, Berlin",
    }
    assert [(d["position"], d["content_type"], d["size_bytes"]) for d in entry["documents"]] == [
        (1, "image/png", len(PNG)),
        (2, "application/pdf", len(PDF)),
    ]


async def test_kyc_documents_when_stored_are_sealed_outside_the_web_root_for_operators_only(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    risk = await raised_operator(gateway, "risk")
    trader = await new_trader(gateway)
    submitted = await submit_kyc(gateway, trader, [("scan.jpg", JPEG, "image/jpeg")])
    request_id = submitted.json()["request_id"]
    path = f"{REQUESTS}/{request_id}/documents/1"

    fetched = await gateway.client.get(path, headers=operator.raised)
    as_trader = await gateway.client.get(path, headers=trader.headers)
    as_risk = await gateway.client.get(path, headers=risk.raised)
    missing = await gateway.client.get(
        f"{REQUESTS}/{request_id}/documents/2", headers=operator.raised
    )
    stored = list((gateway.settings.state_path / "kyc").iterdir())
    views = await gateway.sql(
        "SELECT actor_id, action, client_addr FROM audit_log WHERE target = $1 AND action = $2",
        f"request:{request_id}",
        "kyc.document.view",
    )

    assert fetched.status_code == 200 and fetched.content == JPEG
    assert fetched.headers["content-type"] == "image/jpeg"
    assert fetched.headers["cache-control"] == "no-store"
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert as_trader.status_code == 403 and code_of(as_trader) == "OPERATOR_ROLE_REQUIRED"
    assert as_risk.status_code == 403 and code_of(as_risk) == "OPERATOR_ROLE_REQUIRED"
    assert missing.status_code == 404 and code_of(missing) == "DOCUMENT_NOT_FOUND"
    assert all(JPEG not in f.read_bytes() for f in stored) and stored
    assert [(v["actor_id"], v["client_addr"]) for v in views] == [(operator.user_id, "203.0.113.7")]


@pytest.mark.parametrize(
    ("documents", "code"),
    [
        ([("big.png", PNG + bytes(FIVE_MB), "image/png")], "DOCUMENT_TOO_LARGE"),
        ([("id.pdf", PNG, "application/pdf")], "DOCUMENT_TYPE_MISMATCH"),
        ([("id.png", PDF, "image/png")], "DOCUMENT_TYPE_MISMATCH"),
        ([("notes.txt", b"just text", "text/plain")], "DOCUMENT_TYPE_UNSUPPORTED"),
        ([("empty.png", b"", "image/png")], "DOCUMENT_EMPTY"),
        ([PASSPORT, PASSPORT, PASSPORT], "TOO_MANY_DOCUMENTS"),
        ([], "DOCUMENT_REQUIRED"),
    ],
)
async def test_kyc_when_a_document_is_bad_is_refused_and_nothing_is_stored(
    gateway: Gateway, documents: list[Doc], code: str
) -> None:
    trader = await new_trader(gateway)

    answer = await submit_kyc(gateway, trader, documents)
    status = await gateway.client.get(f"{LIVE}/kyc", headers=trader.headers)

    assert answer.status_code == 422, answer.text
    assert code_of(answer) == code
    assert status.json()["status"] == "none"
    assert (
        await gateway.sql("SELECT id FROM live_requests WHERE user_id = $1", trader.user_id) == []
    )
    assert trader.user_id + (1 << 40) not in gateway.engine.engine.state.accounts


async def test_kyc_when_a_document_is_exactly_five_mb_is_accepted(gateway: Gateway) -> None:
    trader = await new_trader(gateway)
    content = PNG + bytes(FIVE_MB - len(PNG))

    answer = await submit_kyc(gateway, trader, [("id.png", content, "image/png")])

    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    "fields",
    [
        {"full_name": ""},
        {"date_of_birth": "17/05/1990"},
        {"date_of_birth": "2020-01-01"},  # a child
        {"country": "Germany"},
        {"address": "x" * 501},
    ],
)
async def test_kyc_when_a_field_is_bad_is_refused_invalid_kyc(
    gateway: Gateway, fields: dict[str, str]
) -> None:
    trader = await new_trader(gateway)

    answer = await submit_kyc(gateway, trader, fields=fields)

    assert answer.status_code == 422 and code_of(answer) == "INVALID_KYC", answer.text


async def test_kyc_when_not_multipart_is_refused(gateway: Gateway) -> None:
    trader = await new_trader(gateway)

    answer = await gateway.client.post(f"{LIVE}/kyc", headers=trader.headers, json={})

    assert answer.status_code == 400 and code_of(answer) == "MULTIPART_REQUIRED"


async def test_kyc_when_rejected_may_be_submitted_again_and_once_verified_no_more(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    trader = await new_trader(gateway)
    first = (await submit_kyc(gateway, trader)).json()["request_id"]

    rejected = await reject(gateway, operator, first, "the photo is blurred")
    status = (await gateway.client.get(f"{LIVE}/kyc", headers=trader.headers)).json()
    second = await submit_kyc(gateway, trader)
    verified = await approve(gateway, operator, second.json()["request_id"])
    replayed = await approve(gateway, operator, second.json()["request_id"])
    third = await submit_kyc(gateway, trader)
    final = (await gateway.client.get(f"{LIVE}/kyc", headers=trader.headers)).json()

    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert status["status"] == "rejected" and status["reason"] == "the photo is blurred"
    assert second.status_code == 201 and second.json()["status"] == "submitted"
    assert verified.status_code == 200 and verified.json()["status"] == "verified"
    assert replayed.status_code == 409 and code_of(replayed) == "REQUEST_ALREADY_DECIDED"
    assert third.status_code == 409 and code_of(third) == "KYC_ALREADY_VERIFIED"
    assert final["status"] == "verified" and final["request_id"] == second.json()["request_id"]
    assert verified.json()["trader"]["history"][0]["status"] == "rejected"
    assert live_figures(gateway, trader) == (0, 0)  # re-opened nothing


@pytest.mark.parametrize("stage", ["none", "submitted", "rejected"])
async def test_funding_when_the_trader_is_not_verified_is_refused_kyc_required(
    gateway: Gateway, stage: str
) -> None:
    operator = await raised_operator(gateway)
    trader = await new_trader(gateway)
    if stage != "none":
        submitted = await submit_kyc(gateway, trader)
        if stage == "rejected":
            await reject(gateway, operator, submitted.json()["request_id"])

    deposit = await ask(gateway, trader, "deposits", "100.00")
    withdrawal = await ask(gateway, trader, "withdrawals", "100.00")
    requests = await gateway.sql(
        "SELECT kind FROM live_requests WHERE user_id = $1 AND kind <> 'kyc'", trader.user_id
    )

    assert deposit.status_code == 403 and code_of(deposit) == "KYC_REQUIRED"
    assert withdrawal.status_code == 403 and code_of(withdrawal) == "KYC_REQUIRED"
    assert requests == []


async def test_funding_when_the_trader_is_verified_is_let_through(gateway: Gateway) -> None:
    operator = await raised_operator(gateway)
    trader = await verified_trader(gateway, operator)

    deposit = await ask(gateway, trader, "deposits", "100.00")

    assert deposit.status_code == 201, deposit.text


async def test_kyc_document_when_this_gateway_cannot_reach_the_file_is_503_not_500(
    gateway: Gateway,
) -> None:
    operator = await raised_operator(gateway)
    trader = await new_trader(gateway)
    request_id = (await submit_kyc(gateway, trader)).json()["request_id"]
    for stored in (gateway.settings.state_path / "kyc").iterdir():
        stored.unlink()  # as on a gateway whose state directory is not the shared one

    answer = await gateway.client.get(
        f"{REQUESTS}/{request_id}/documents/1", headers=operator.raised
    )

    assert answer.status_code == 503 and code_of(answer) == "DOCUMENT_UNAVAILABLE"
