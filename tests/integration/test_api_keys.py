"""API keys end to end: made, listed and revoked by a signed-in user, and requests signed with
them (HMAC-SHA256 as the docs say, computed here with hmac alone) accepted or refused with
each rule's code, against the real gateway app, engine, Redis and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import asyncpg
import pytest

from cryptocfd.identity.apikeys import CLOCK_SKEW_MS
from cryptocfd.store.database import asyncpg_dsn
from tests.integration.gateway_harness import Client, Gateway

API = "/api/v1"
ORDER = {"asset": "BTC", "side": "long", "margin": "100.00", "leverage": 10}


def _email() -> str:
    return f"bot-{uuid.uuid4().hex[:10]}@example.com"


async def make_key(gateway: Gateway, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    request = {"label": "bot", "scopes": ["read", "trade"], **body}
    answer = await gateway.client.post(f"{API}/account/api-keys", headers=headers, json=request)
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def signed_headers(
    key: dict[str, Any],
    payload: bytes,
    *,
    timestamp: int | None = None,
    recv_window: str | None = "5000",
) -> dict[str, str]:
    stamp = str(time.time_ns() // 1_000_000 if timestamp is None else timestamp)
    text = (stamp + key["api_key"] + (recv_window or "")).encode() + payload
    signature = hmac.new(key["secret"].encode(), text, hashlib.sha256).hexdigest()
    headers = {"X-CFD-API-KEY": key["api_key"], "X-CFD-TIMESTAMP": stamp}
    if recv_window is not None:
        headers["X-CFD-RECV-WINDOW"] = recv_window
    return {**headers, "X-CFD-SIGNATURE": signature}


async def signed_post(client: Client, key: dict[str, Any], path: str, body: object, **how: Any):  # type: ignore[no-untyped-def]
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **signed_headers(key, raw, **how)}
    return await client.post(f"{API}{path}", content=raw, headers=headers)


async def signed_get(client: Client, key: dict[str, Any], path: str, query: str = ""):  # type: ignore[no-untyped-def]
    headers = signed_headers(key, query.encode())
    return await client.get(f"{API}{path}" + (f"?{query}" if query else ""), headers=headers)


def code_of(answer: Any) -> str:
    return str(answer.json()["error"]["code"])


async def test_a_key_when_made_is_listed_without_its_secret_and_stored_sealed(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())

    made = await make_key(gateway, headers, ip_allowlist=["203.0.113.0/24"])
    listed = (await gateway.client.get(f"{API}/account/api-keys", headers=headers)).json()

    assert made["api_key"].startswith("cfd_") and len(made["secret"]) == 64
    (shown,) = listed["keys"]
    assert shown["key_id"] == made["key_id"] and "secret" not in shown
    assert shown["scopes"] == ["read", "trade"] and shown["ip_allowlist"] == ["203.0.113.0/24"]
    conn = await asyncpg.connect(asyncpg_dsn(gateway.database_url))
    try:
        row = await conn.fetchrow("SELECT * FROM api_keys WHERE key_id = $1", made["key_id"])
    finally:
        await conn.close()
    assert row is not None
    secret = made["secret"].encode()
    assert all(secret not in str(value).encode() for value in row.values())
    assert secret not in row["sealed_secret"]


async def test_a_signed_request_when_its_signature_holds_trades_and_reads(gateway: Gateway) -> None:
    await gateway.tick("BTC", 6_400_000, 6_401_000)
    key = await make_key(gateway, await gateway.sign_in(_email()))

    created = await signed_post(gateway.client, key, "/trade/create", ORDER)
    opened = await signed_get(gateway.client, key, "/trade/open")
    balance = await signed_get(gateway.client, key, "/balance")
    page = await signed_get(gateway.client, key, "/trade/closed", "limit=5")

    assert created.status_code == 200, created.text
    assert [p["order_id"] for p in opened.json()["positions"]] == [created.json()["order_id"]]
    assert balance.status_code == 200 and balance.json()["used_margin"] == "100.00"
    assert page.status_code == 200, page.text


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ("body", "BAD_SIGNATURE"),
        ("old", "TIMESTAMP_OUTSIDE_RECV_WINDOW"),
        ("ahead", "TIMESTAMP_OUTSIDE_RECV_WINDOW"),
        ("unknown", "UNKNOWN_API_KEY"),
        ("secret", "BAD_SIGNATURE"),
    ],
)
async def test_a_signed_request_when_anything_is_off_is_refused_and_applies_nothing(
    gateway: Gateway, tamper: str, code: str
) -> None:
    await gateway.tick("BTC", 6_400_000, 6_401_000)
    key = await make_key(gateway, await gateway.sign_in(_email()))
    raw = json.dumps(ORDER).encode()
    now = time.time_ns() // 1_000_000
    stamp = {"old": now - 6_000, "ahead": now + 1_500}.get(tamper, now)
    signer = {**key, "secret": "0" * 64} if tamper == "secret" else key
    headers = signed_headers(signer, raw, timestamp=stamp)
    if tamper == "unknown":
        headers["X-CFD-API-KEY"] = "cfd_" + "0" * 32
    sent = raw.replace(b"100.00", b"900.00") if tamper == "body" else raw
    records_before = await gateway.redis.xlen(gateway.streams.records)

    answer = await gateway.client.post(
        f"{API}/trade/create",
        content=sent,
        headers={"Content-Type": "application/json", **headers},
    )

    assert (answer.status_code, code_of(answer)) == (401, code), answer.text
    assert await gateway.redis.xlen(gateway.streams.records) == records_before


async def test_a_signed_request_when_replayed_is_refused_and_applied_once(
    gateway: Gateway,
) -> None:
    await gateway.tick("BTC", 6_400_000, 6_401_000)
    key = await make_key(gateway, await gateway.sign_in(_email()))
    raw = json.dumps(ORDER).encode()
    headers = {"Content-Type": "application/json", **signed_headers(key, raw)}

    first = await gateway.client.post(f"{API}/trade/create", content=raw, headers=headers)
    again = await gateway.client.post(f"{API}/trade/create", content=raw, headers=headers)
    opened = await signed_get(gateway.client, key, "/trade/open")

    assert first.status_code == 200, first.text
    assert (again.status_code, code_of(again)) == (401, "BAD_SIGNATURE")
    assert len(opened.json()["positions"]) == 1


async def test_a_used_signature_when_marked_stays_marked_past_its_window_by_the_clock_skew(
    gateway: Gateway,
) -> None:
    key = await make_key(gateway, await gateway.sign_in(_email()))

    read = await signed_get(gateway.client, key, "/balance")
    marks = [
        k async for k in gateway.redis.scan_iter(f"{gateway.settings.redis_prefix}signature:*")
    ]
    ttls = [await gateway.redis.pttl(mark) for mark in marks]

    # A gateway whose clock is up to CLOCK_SKEW_MS behind still takes the request for inside
    # its 5 s window: the mark must outlive that, or it would accept the replay.
    assert read.status_code == 200
    assert len(ttls) == 1
    assert 5_000 + 1_000 + CLOCK_SKEW_MS - 2_000 < ttls[0] <= 5_000 + 1_000 + CLOCK_SKEW_MS


async def test_a_read_key_on_a_trade_route_is_refused_for_its_scope(gateway: Gateway) -> None:
    key = await make_key(gateway, await gateway.sign_in(_email()), scopes=["read"])

    trade = await signed_post(gateway.client, key, "/trade/create", ORDER)
    read = await signed_get(gateway.client, key, "/balance")

    assert (trade.status_code, code_of(trade)) == (403, "SCOPE_REQUIRED")
    assert read.status_code == 200


async def test_a_key_with_an_allowlist_when_called_from_elsewhere_is_refused(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())
    key = await make_key(gateway, headers, ip_allowlist=["198.51.100.0/24", "2001:db8::/32"])
    inside = gateway.client_from("198.51.100.20")
    mapped = gateway.client_from("::ffff:198.51.100.21")
    try:
        outside = await signed_get(gateway.client, key, "/balance")  # from 203.0.113.7
        allowed = await signed_get(inside, key, "/balance")
        allowed_mapped = await signed_get(mapped, key, "/balance")
    finally:
        await inside.aclose()
        await mapped.aclose()

    assert (outside.status_code, code_of(outside)) == (403, "IP_NOT_ALLOWED")
    assert allowed.status_code == 200 and allowed_mapped.status_code == 200


async def test_a_key_when_revoked_is_refused_at_once(gateway: Gateway) -> None:
    headers = await gateway.sign_in(_email())
    key = await make_key(gateway, headers)
    assert (await signed_get(gateway.client, key, "/balance")).status_code == 200  # cached now

    revoked = await gateway.client.delete(
        f"{API}/account/api-keys/{key['key_id']}", headers=headers
    )
    after = await signed_get(gateway.client, key, "/balance")
    listed = (await gateway.client.get(f"{API}/account/api-keys", headers=headers)).json()

    assert revoked.status_code == 204
    assert (after.status_code, code_of(after)) == (401, "UNKNOWN_API_KEY")
    assert listed["keys"] == []


async def test_keys_when_managed_take_a_signed_in_user_never_a_key_nor_another_user(
    gateway: Gateway,
) -> None:
    owner = await gateway.sign_in(_email())
    stranger = await gateway.sign_in(_email())
    key = await make_key(gateway, owner)

    by_key = await signed_post(
        gateway.client, key, "/account/api-keys", {"label": "x", "scopes": ["read"]}
    )
    listed_by_key = await signed_get(gateway.client, key, "/account/api-keys")
    by_stranger = await gateway.client.delete(
        f"{API}/account/api-keys/{key['key_id']}", headers=stranger
    )
    me_by_key = await signed_get(gateway.client, key, "/auth/me")

    assert (by_key.status_code, code_of(by_key)) == (403, "API_KEY_NOT_ALLOWED")
    assert (listed_by_key.status_code, code_of(listed_by_key)) == (403, "API_KEY_NOT_ALLOWED")
    assert (by_stranger.status_code, code_of(by_stranger)) == (404, "API_KEY_NOT_FOUND")
    assert (me_by_key.status_code, code_of(me_by_key)) == (403, "API_KEY_NOT_ALLOWED")
    assert (await signed_get(gateway.client, key, "/balance")).status_code == 200


async def test_keys_when_twenty_are_live_refuse_the_next_until_one_is_revoked(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())
    keys = [await make_key(gateway, headers, label=f"k{n}") for n in range(20)]

    refused = await gateway.client.post(
        f"{API}/account/api-keys", headers=headers, json={"label": "21", "scopes": ["read"]}
    )
    await gateway.client.delete(f"{API}/account/api-keys/{keys[0]['key_id']}", headers=headers)
    after_revoking = await gateway.client.post(
        f"{API}/account/api-keys", headers=headers, json={"label": "21", "scopes": ["read"]}
    )

    assert (refused.status_code, code_of(refused)) == (409, "TOO_MANY_API_KEYS")
    assert after_revoking.status_code == 201


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"label": "x", "scopes": ["withdraw"]}, "INVALID_REQUEST"),
        ({"label": "x", "scopes": []}, "INVALID_REQUEST"),
        ({"label": "", "scopes": ["read"]}, "INVALID_REQUEST"),
        ({"label": "a\u0000b", "scopes": ["read"]}, "INVALID_REQUEST"),
        ({"label": "x", "scopes": ["read"], "ip_allowlist": ["10.0.0.5/24"]}, "INVALID_REQUEST"),
        ({"label": "x", "scopes": ["read"], "ip_allowlist": ["not-an-ip"]}, "INVALID_REQUEST"),
    ],
)
async def test_a_key_request_when_malformed_is_a_400(
    gateway: Gateway, body: dict[str, Any], code: str
) -> None:
    headers = await gateway.sign_in(_email())

    answer = await gateway.client.post(f"{API}/account/api-keys", headers=headers, json=body)

    assert (answer.status_code, code_of(answer)) == (400, code), answer.text


async def test_a_signed_request_when_its_headers_are_malformed_is_a_401(gateway: Gateway) -> None:
    key = await make_key(gateway, await gateway.sign_in(_email()))
    wide = signed_headers(key, b"", recv_window="60001")
    text = {**signed_headers(key, b""), "X-CFD-TIMESTAMP": "+1700000000000"}

    # A signature of bytes that are not ASCII (Latin-1, as HTTP headers may carry).
    accented = {**signed_headers(key, b""), "X-CFD-SIGNATURE": "\u00e9" * 64}

    too_wide = await gateway.client.get(f"{API}/balance", headers=wide)
    not_digits = await gateway.client.get(f"{API}/balance", headers=text)
    not_ascii = await gateway.client.get(
        f"{API}/balance", headers={k.encode(): v.encode("latin-1") for k, v in accented.items()}
    )
    default_window = await gateway.client.get(
        f"{API}/balance", headers=signed_headers(key, b"", recv_window=None)
    )

    assert (too_wide.status_code, code_of(too_wide)) == (401, "BAD_SIGNATURE")
    assert (not_digits.status_code, code_of(not_digits)) == (401, "BAD_SIGNATURE")
    assert (not_ascii.status_code, code_of(not_ascii)) == (401, "BAD_SIGNATURE")
    assert default_window.status_code == 200, default_window.text


async def test_time_when_asked_is_the_server_clock_in_unix_ms(gateway: Gateway) -> None:
    before = time.time_ns() // 1_000_000

    answer = await gateway.client.get(f"{API}/time")

    assert answer.status_code == 200
    assert before <= answer.json()["server_time"] <= time.time_ns() // 1_000_000
