"""Ed25519 API keys end to end: a user uploads a public key, requests are signed with its
private half (``cryptography``'s Ed25519PrivateKey, as a bot would), and every rule of a signed
request holds as for an HMAC key, against the real gateway app, engine, Redis and PostgreSQL."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from cryptocfd.store.database import asyncpg_dsn
from tests.integration.gateway_harness import Client, Gateway
from tests.integration.test_api_keys import ORDER, code_of, make_key

API = "/api/v1"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _email() -> str:
    return f"ed-{uuid.uuid4().hex[:10]}@example.com"


def pem_of(private: Ed25519PrivateKey) -> str:
    return (
        private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    )


def raw_b64_of(private: Ed25519PrivateKey) -> str:
    return base64.b64encode(
        private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode()


def ed_headers(
    private: Ed25519PrivateKey, api_key: str, payload: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    stamp = str(time.time_ns() // 1_000_000 if timestamp is None else timestamp)
    text = (stamp + api_key + "5000").encode() + payload
    signature = base64.b64encode(private.sign(text)).decode()
    return {
        "X-CFD-API-KEY": api_key,
        "X-CFD-TIMESTAMP": stamp,
        "X-CFD-RECV-WINDOW": "5000",
        "X-CFD-SIGNATURE": signature,
    }


async def ed_post(
    client: Client, private: Ed25519PrivateKey, api_key: str, path: str, body: object
) -> Any:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **ed_headers(private, api_key, raw)}
    return await client.post(f"{API}{path}", content=raw, headers=headers)


async def ed_get(
    client: Client, private: Ed25519PrivateKey, api_key: str, path: str, query: str = ""
) -> Any:
    headers = ed_headers(private, api_key, query.encode())
    return await client.get(f"{API}{path}" + (f"?{query}" if query else ""), headers=headers)


def respelled(signature: str) -> str:
    """The same 64 bytes in other base64 text: the last character before ``==`` carries four
    bits no byte uses."""
    index = B64.index(signature[85])
    return signature[:85] + B64[index ^ 1] + signature[86:]


async def test_an_ed25519_key_when_made_answers_no_secret_and_stores_only_the_public_key(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())
    private = Ed25519PrivateKey.generate()

    made = await make_key(gateway, headers, public_key=pem_of(private))
    hmac_made = await make_key(gateway, headers)
    listed = (await gateway.client.get(f"{API}/account/api-keys", headers=headers)).json()

    assert made["kind"] == "ed25519" and made["api_key"].startswith("cfd_")
    assert "secret" not in made
    assert hmac_made["kind"] == "hmac" and len(hmac_made["secret"]) == 64
    kinds = {key["key_id"]: key["kind"] for key in listed["keys"]}
    assert kinds == {made["key_id"]: "ed25519", hmac_made["key_id"]: "hmac"}
    conn = await asyncpg.connect(asyncpg_dsn(gateway.database_url))
    try:
        row = await conn.fetchrow("SELECT * FROM api_keys WHERE key_id = $1", made["key_id"])
    finally:
        await conn.close()
    assert row is not None and row["kind"] == "ed25519" and row["sealed_secret"] is None
    assert bytes(row["public_key"]) == private.public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw
    )


@pytest.mark.parametrize("form", ["pem", "raw base64"])
async def test_an_ed25519_signed_request_when_its_signature_holds_trades_and_reads(
    gateway: Gateway, form: str
) -> None:
    await gateway.tick("BTC", 6_400_000, 6_401_000)
    private = Ed25519PrivateKey.generate()
    text = pem_of(private) if form == "pem" else raw_b64_of(private)
    key = await make_key(gateway, await gateway.sign_in(_email()), public_key=text)

    created = await ed_post(gateway.client, private, key["api_key"], "/trade/create", ORDER)
    opened = await ed_get(gateway.client, private, key["api_key"], "/trade/open")
    page = await ed_get(gateway.client, private, key["api_key"], "/trade/closed", "limit=5")

    assert created.status_code == 200, created.text
    assert [p["order_id"] for p in opened.json()["positions"]] == [created.json()["order_id"]]
    assert page.status_code == 200, page.text


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ("body", "BAD_SIGNATURE"),
        ("wrong key", "BAD_SIGNATURE"),
        ("not base64", "BAD_SIGNATURE"),
        ("short", "BAD_SIGNATURE"),
        ("hex hmac", "BAD_SIGNATURE"),
        ("old", "TIMESTAMP_OUTSIDE_RECV_WINDOW"),
    ],
)
async def test_an_ed25519_signed_request_when_anything_is_off_is_refused_and_applies_nothing(
    gateway: Gateway, tamper: str, code: str
) -> None:
    await gateway.tick("BTC", 6_400_000, 6_401_000)
    private = Ed25519PrivateKey.generate()
    key = await make_key(gateway, await gateway.sign_in(_email()), public_key=pem_of(private))
    raw = json.dumps(ORDER).encode()
    signer = Ed25519PrivateKey.generate() if tamper == "wrong key" else private
    stamp = time.time_ns() // 1_000_000 - (6_000 if tamper == "old" else 0)
    headers = ed_headers(signer, key["api_key"], raw, timestamp=stamp)
    signature = headers["X-CFD-SIGNATURE"]
    headers["X-CFD-SIGNATURE"] = {
        "not base64": signature[:-4] + "*!*=",
        "short": base64.b64encode(base64.b64decode(signature)[:63]).decode(),
        "hex hmac": base64.b64decode(signature).hex(),
    }.get(tamper, signature)
    sent = raw.replace(b"100.00", b"100.01") if tamper == "body" else raw
    records_before = await gateway.redis.xlen(gateway.streams.records)

    answer = await gateway.client.post(
        f"{API}/trade/create", content=sent, headers={"Content-Type": "application/json", **headers}
    )

    assert (answer.status_code, code_of(answer)) == (401, code), answer.text
    assert await gateway.redis.xlen(gateway.streams.records) == records_before


async def test_an_ed25519_signed_request_when_replayed_even_respelled_is_applied_once(
    gateway: Gateway,
) -> None:
    await gateway.tick("BTC", 6_400_000, 6_401_000)
    private = Ed25519PrivateKey.generate()
    key = await make_key(gateway, await gateway.sign_in(_email()), public_key=pem_of(private))
    raw = json.dumps(ORDER).encode()
    headers = {"Content-Type": "application/json", **ed_headers(private, key["api_key"], raw)}
    other_spelling = {**headers, "X-CFD-SIGNATURE": respelled(headers["X-CFD-SIGNATURE"])}

    first = await gateway.client.post(f"{API}/trade/create", content=raw, headers=headers)
    again = await gateway.client.post(f"{API}/trade/create", content=raw, headers=headers)
    respelt = await gateway.client.post(f"{API}/trade/create", content=raw, headers=other_spelling)
    opened = await ed_get(gateway.client, private, key["api_key"], "/trade/open")

    assert first.status_code == 200, first.text
    assert (again.status_code, code_of(again)) == (401, "BAD_SIGNATURE")
    assert (respelt.status_code, code_of(respelt)) == (401, "BAD_SIGNATURE"), respelt.text
    assert len(opened.json()["positions"]) == 1


async def test_an_ed25519_key_keeps_the_other_rules_scope_allowlist_and_revocation(
    gateway: Gateway,
) -> None:
    headers = await gateway.sign_in(_email())
    private = Ed25519PrivateKey.generate()
    key = await make_key(
        gateway,
        headers,
        public_key=pem_of(private),
        scopes=["read"],
        ip_allowlist=["198.51.100.0/24"],
    )
    inside = gateway.client_from("198.51.100.20")
    try:
        trade = await ed_post(inside, private, key["api_key"], "/trade/create", ORDER)
        outside = await ed_get(gateway.client, private, key["api_key"], "/balance")
        read = await ed_get(inside, private, key["api_key"], "/balance")
        by_key = await ed_get(inside, private, key["api_key"], "/account/api-keys")
        await gateway.client.delete(f"{API}/account/api-keys/{key['key_id']}", headers=headers)
        revoked = await ed_get(inside, private, key["api_key"], "/balance")
    finally:
        await inside.aclose()

    assert (trade.status_code, code_of(trade)) == (403, "SCOPE_REQUIRED")
    assert (outside.status_code, code_of(outside)) == (403, "IP_NOT_ALLOWED")
    assert read.status_code == 200, read.text
    assert (by_key.status_code, code_of(by_key)) == (403, "API_KEY_NOT_ALLOWED")
    assert (revoked.status_code, code_of(revoked)) == (401, "UNKNOWN_API_KEY")


def _not_ed25519_keys() -> dict[str, str]:
    ed = Ed25519PrivateKey.generate()
    ec_pem = (
        generate_private_key(SECP256R1())
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    x25519_pem = (
        X25519PrivateKey.generate()
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    private_pem = ed.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    pem = pem_of(ed)
    return {
        "an EC P-256 key": ec_pem.decode(),
        "an X25519 key": x25519_pem.decode(),
        "the private key": private_pem.decode(),
        "PEM with its DER broken": pem[:40] + "A" + pem[41:],  # the BIT STRING's tag
        "two PEM blocks": pem + "\n" + pem_of(Ed25519PrivateKey.generate()),
        "31 raw bytes": base64.b64encode(bytes(range(1, 32))).decode(),
        "hex, not base64": ed.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex(),
        "the identity point (anyone signs for it)": base64.b64encode(b"\x01" + bytes(31)).decode(),
        "not text of a key": "ssh-ed25519 AAAA",
        "empty": "",
    }


@pytest.mark.parametrize("case", sorted(_not_ed25519_keys()))
async def test_a_key_request_when_its_public_key_is_not_an_ed25519_key_is_a_422(
    gateway: Gateway, case: str
) -> None:
    headers = await gateway.sign_in(_email())
    body = {"label": "x", "scopes": ["read"], "public_key": _not_ed25519_keys()[case]}

    answer = await gateway.client.post(f"{API}/account/api-keys", headers=headers, json=body)
    listed = (await gateway.client.get(f"{API}/account/api-keys", headers=headers)).json()

    assert (answer.status_code, code_of(answer)) == (422, "INVALID_PUBLIC_KEY"), answer.text
    assert listed["keys"] == []
