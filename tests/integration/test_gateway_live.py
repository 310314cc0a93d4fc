"""The gateway as a real process: schemathesis against its own OpenAPI document, signed in
(every answer documented, none a 5xx), and its JSON logs."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from openapi_spec_validator import OpenAPIV31SpecValidator
from redis import asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect

from cryptocfd.bus.messages import FIELD, TickMessage, encode
from cryptocfd.bus.streams import Streams
from cryptocfd.bus.ticks import publish_ticks
from cryptocfd.core.assets import DEFAULT_ASSETS
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.market.candles import INTERVALS
from tests.integration.platform_process import Platform, running_platform
from tests.integration.schemathesis_signing import ANSWERS_ENV, SECRET_ENV
from tests.waiting import eventually

# Signing out would revoke the token every other call uses; its rules have their own tests.
EXAMPLES = int(os.environ.get("CRYPTOCFD_FUZZ_EXAMPLES", "30"))
SKIPPED = {("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/auth/mobile/pin")}
# A valid request is one the document allows; where the server refuses one for a rule no JSON
# Schema can state, that operation's 400 (with its stable code) counts as an answer too:
# name -> why. Each rule has its own tests; every other check still runs on these operations.
BEYOND_THE_SCHEMA = {
    "GET /api/v1/auth/verify": "a link's token works once: a generated one is never live",
    "POST /api/v1/auth/verify": "the same one-time token as GET /auth/verify",
    "GET /api/v1/candles": "`from` after `to` is INVALID_RANGE: a rule between two parameters",
    "POST /api/v1/auth/mobile/pin": "the most guessed PINs are refused (PIN_TOO_COMMON)",
    "POST /api/v1/trade/create": "leverage, prices and exits are checked against the asset",
    "POST /api/v1/trade/close": "a fraction is above 0 and at most 1, at four decimals",
    "POST /api/v1/trade/modify": "exits are checked against the position's side and price",
    "POST /api/v1/account/api-keys": "an allowlist entry is an IP address or network",
    "GET /api/v1/trade/open": "an asset filter names one of /supportedAssets",
    "GET /api/v1/trade/closed": "an asset filter names one of /supportedAssets",
    "GET /api/v1/trade/close": "an asset filter names one of /supportedAssets",
    "GET /api/v1/udf/symbols": "a symbol is one of the assets (any case, CRYPTOCFD: or not)",
    "GET /api/v1/udf/history": "the same symbols, and a resolution of the eight in /udf/config",
    "POST /api/v1/live/kyc": "documents are checked by content, an applicant is 18 or over",
    "POST /api/v1/live/deposits": "an amount is more than 0, at most 2 decimals",
    "POST /api/v1/live/withdrawals": "an amount is more than 0, at most 2 decimals",
}
# Of those, the ones refused with a 422 for a value no JSON Schema can check: name -> why.
UNPROCESSABLE = {
    "POST /api/v1/account/api-keys": "a public_key must be an Ed25519 point of large order",
    "POST /api/v1/live/kyc": "a document is a PDF, PNG or JPEG by its bytes (INVALID_KYC...)",
    "POST /api/v1/live/deposits": "INVALID_AMOUNT: the brief's code and status for a bad amount",
    "POST /api/v1/live/withdrawals": "INVALID_AMOUNT, as deposits",
}
SIGNING_HOOKS = Path(__file__).with_name("schemathesis_signing.py")
HEARTBEAT_S = 0.3
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis' default


@pytest.fixture(scope="module")
def platform(
    redis_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """An engine and a gateway process, with fresh quotes for every asset."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    state = Path(tmp_path_factory.mktemp("platform"))
    client = redis.Redis.from_url(redis_url)
    try:
        with running_platform(
            redis_url,
            database_url,
            prefix,
            state,
            CRYPTOCFD_RATE_PER_IP_PER_MIN="100000",
            # Schemathesis asks for hundreds of sign-in links; the later tests still sign in.
            CRYPTOCFD_LOGINS_PER_IP_PER_MIN="100000",
            CRYPTOCFD_WS_RECHECK_S="0.2",
            CRYPTOCFD_WS_HEARTBEAT_S=str(HEARTBEAT_S),
        ) as running:
            now = int(time.time() * 1000)
            for spec in DEFAULT_ASSETS:
                price = 10 ** (spec.price_decimals + 2)
                tick = Tick(spec.symbol, price, price + 10**spec.price_decimals, now)
                client.xadd(Streams(prefix).prices, {FIELD: encode(TickMessage(tick))})
            yield running
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(scope="module")
def bearer(platform: Platform, database_url: str) -> dict[str, str]:
    """A signed-in user's headers, through the emailed link."""
    return _signed_in(platform, database_url)


def _signed_in(platform: Platform, database_url: str) -> dict[str, str]:
    """A new user's bearer headers, through the emailed link."""
    import asyncio  # noqa: PLC0415

    from tests.integration.gateway_harness import newest_link, token_of  # noqa: PLC0415

    email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
    httpx.post(f"{platform.base_url}/api/v1/auth/login", json={"email": email}).raise_for_status()
    link = asyncio.run(newest_link(database_url, email, platform.server_key))
    answer = httpx.post(
        f"{platform.base_url}/api/v1/auth/verify",
        json={"token": token_of(link)},
        headers={"Accept": "application/json"},
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_openapi_when_served_is_a_valid_openapi_3_1_document(platform: Platform) -> None:
    document = httpx.get(f"{platform.base_url}/openapi.json").json()

    assert document["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(document).validate()  # raises, naming the first error


@pytest.mark.slow
def test_api_when_fuzzed_signed_in_with_every_check_answers_exactly_as_documented(
    platform: Platform, bearer: dict[str, str], tmp_path: Path
) -> None:
    """Schemathesis' own runner, every check and every phase: valid requests are accepted,
    invalid ones refused, answers, statuses, headers and ``Allow`` as documented, never a 5xx,
    and sign-in required exactly where documented."""
    skipped = [f"--exclude-name={method} {path}" for method, path in sorted(SKIPPED)]

    run = _schemathesis(
        platform, tmp_path, [f"--header=Authorization: {bearer['Authorization']}", *skipped]
    )
    tested = re.search(r"Tested: (\d+)", run.stdout)

    assert run.returncode == 0, run.stdout[-30_000:] + run.stderr[-5_000:]
    assert tested is not None
    assert int(tested[1]) >= 20, run.stdout


@pytest.mark.slow
def test_api_when_fuzzed_with_every_request_signed_by_an_api_key_answers_as_documented(
    platform: Platform, database_url: str, tmp_path: Path
) -> None:
    """The same run over every signed-in operation, each request signed with an HMAC key
    (``schemathesis_signing``) over the exact bytes sent: the routes a key may call answer as
    documented, the others 403 ``API_KEY_NOT_ALLOWED`` (documented too), none a 5xx, and
    ``ignored_auth`` sees an unsigned or wrongly keyed request refused."""
    headers = _signed_in(platform, database_url)
    made = httpx.post(
        f"{platform.base_url}/api/v1/account/api-keys",
        json={"label": "fuzz", "scopes": ["read", "trade"]},
        headers=headers,
    )
    made.raise_for_status()
    key = made.json()
    document = httpx.get(f"{platform.base_url}/openapi.json").json()
    operations = _signed_in_operations(document)
    refused = httpx.get(
        f"{platform.base_url}/api/v1/auth/me", headers=_signed(key, b"")
    )  # a route that takes no key
    answers = tmp_path / "answers.tsv"

    run = _schemathesis(
        platform,
        tmp_path,
        [
            f"--header=X-CFD-API-KEY: {key['api_key']}",
            *[f"--include-name={name}" for name in sorted(operations)],
        ],
        env={
            "SCHEMATHESIS_HOOKS": str(SIGNING_HOOKS),
            SECRET_ENV: key["secret"],
            ANSWERS_ENV: str(answers),
        },
    )
    statuses: dict[str, set[int]] = {name: set() for name in operations}
    for line in answers.read_text().splitlines():
        name, method, status = line.split("\t")
        if name.startswith(f"{method} "):  # not another method's answer, as OPTIONS gets
            statuses[name].add(int(status))

    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "API_KEY_NOT_ALLOWED")
    assert len([name for name, takes_key in operations.items() if takes_key]) >= 8
    assert run.returncode == 0, run.stdout[-30_000:] + run.stderr[-5_000:]
    # Signed requests got through on every route that takes a key (a 404 of an order id the
    # key's user has not is past the signature too), and through none that does not.
    assert {
        name
        for name, takes_key in operations.items()
        if takes_key and not statuses[name] - {401, 403}
    } == set()
    assert {
        name
        for name, takes_key in operations.items()
        if not takes_key and any(200 <= status < 300 for status in statuses[name])
    } == set()


def _signed_in_operations(document: dict[str, Any]) -> dict[str, bool]:
    """Every operation that takes a signed-in caller (but the skipped ones), and whether it
    takes an API key."""
    found = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            security = operation.get("security", []) if isinstance(operation, dict) else []
            if (method.upper(), path) not in SKIPPED and {"bearer": []} in security:
                found[f"{method.upper()} {path}"] = {"apiKey": []} in security
    return found


def _signed(key: dict[str, Any], payload: bytes) -> dict[str, str]:
    stamp = str(time.time_ns() // 1_000_000)
    text = (stamp + key["api_key"] + "5000").encode() + payload
    signature = hmac.new(key["secret"].encode(), text, hashlib.sha256).hexdigest()
    return {
        "X-CFD-API-KEY": key["api_key"],
        "X-CFD-TIMESTAMP": stamp,
        "X-CFD-RECV-WINDOW": "5000",
        "X-CFD-SIGNATURE": signature,
    }


def _schemathesis(
    platform: Platform, tmp_path: Path, options: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``schemathesis run`` against the platform with every check, these ``options`` added."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "".join(
            f'[[operations]]\ninclude-name = "{name}"\n'
            "checks.positive_data_acceptance.expected-statuses = "
            f"{[*ACCEPTED, '400', *(['422'] if name in UNPROCESSABLE else [])]}\n"
            for name in BEYOND_THE_SCHEMA
        )
    )
    return subprocess.run(  # noqa: S603 - the installed schemathesis command
        [
            str(Path(sys.executable).with_name("schemathesis")),
            f"--config-file={config}",
            "run",
            f"{platform.base_url}/openapi.json",
            "--checks=all",
            *options,
            f"--max-examples={EXAMPLES}",
            "--workers=1",
            "--continue-on-failure",
            "--no-color",
        ],
        cwd=tmp_path,  # its failure cache stays out of the repository
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_logs_when_a_request_carries_a_token_are_json_with_its_id_and_without_the_token(
    platform: Platform,
) -> None:
    secret = "do-not-log-" + uuid.uuid4().hex
    answer = httpx.get(
        f"{platform.base_url}/api/v1/auth/verify",
        params={"token": secret},
        headers={"X-Request-ID": "trace-42", "Authorization": f"Bearer {secret}"},
    )
    minted = httpx.get(f"{platform.base_url}/healthz").headers["x-request-id"]
    eventually(lambda: _access_logged(platform, "trace-42"))  # the line ends the request

    text = (platform.state_dir / "gateway.log").read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("request_id") == "trace-42"]

    assert answer.headers["x-request-id"] == "trace-42"
    assert len(minted) == 32
    assert secret not in text
    assert ours
    assert ours[-1]["path"] == "/api/v1/auth/verify"
    assert ours[-1]["status"] == 400
    assert {"timestamp", "level", "event"} <= set(ours[-1])


def _access_logged(platform: Platform, request_id: str) -> bool:
    """Whether the gateway's log holds the access line of ``request_id``'s request."""
    for line in (platform.state_dir / "gateway.log").read_text().splitlines():
        if line.startswith("{") and request_id in line:
            entry = json.loads(line)
            if entry.get("request_id") == request_id and entry.get("event") == "request":
                return True
    return False


async def _token(platform: Platform, database_url: str) -> str:
    from tests.integration.gateway_harness import newest_link, spend_link  # noqa: PLC0415

    email = f"live-{uuid.uuid4().hex[:8]}@example.com"
    async with httpx.AsyncClient(base_url=platform.base_url) as client:
        (await client.post("/api/v1/auth/login", json={"email": email})).raise_for_status()
        link = await newest_link(database_url, email, platform.server_key)
        answer = await spend_link(client, link)
        answer.raise_for_status()
        token: str = answer.json()["access_token"]
        return token


def _ws_url(platform: Platform) -> str:
    return platform.base_url.replace("http://", "ws://") + "/api/v1/ws"


async def _next(socket: ClientConnection, channel: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """The next message of ``channel`` (other messages are skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        message = json.loads(await asyncio.wait_for(socket.recv(), max(remaining, 0.01)))
        if message.get("channel") == channel or message.get("type") == channel:
            result: dict[str, Any] = message
            return result


async def _next_reply(socket: ClientConnection) -> str:
    """The next reply to a client message, as sent (a channel's data is skipped)."""
    while True:
        text = await asyncio.wait_for(socket.recv(), 5.0)
        assert isinstance(text, str)
        if not text.startswith(('{"channel":', '{"type":"heartbeat"')):
            return text


async def _publish(redis_url: str, platform: Platform, asset: str, bid: int, ask: int) -> None:
    client = aioredis.Redis.from_url(redis_url)
    # Twice: a jump past the sanity band is held until a second tick confirms it.
    now = int(time.time() * 1000)
    ticks = [Tick(asset, PriceTicks(bid), PriceTicks(ask), now + step) for step in range(2)]
    await publish_ticks(client, Streams(platform.prefix), ticks)
    await client.aclose()


async def test_ws_when_two_users_trade_each_receives_only_their_own_order_events(
    platform: Platform, database_url: str, redis_url: str
) -> None:
    alice, bob = await _token(platform, database_url), await _token(platform, database_url)
    await _publish(redis_url, platform, "BTC", 6_400_000, 6_401_000)
    async with connect(_ws_url(platform)) as alice_ws, connect(_ws_url(platform)) as bob_ws:
        for socket, token in ((alice_ws, alice), (bob_ws, bob)):
            await socket.send(json.dumps({"op": "auth", "access_token": token}))
            assert (await _next(socket, "authenticated"))["type"] == "authenticated"
            await socket.send(json.dumps({"op": "subscribe", "channels": ["orders"]}))
            assert (await _next(socket, "subscribed"))["channels"] == ["orders"]
        async with httpx.AsyncClient(base_url=platform.base_url) as http:
            opened = await http.post(
                "/api/v1/trade/create",
                headers={"Authorization": f"Bearer {alice}"},
                json={"asset": "BTC", "side": "long", "margin": "10", "leverage": 2},
            )
            assert opened.status_code == 200, opened.text
            event = await _next(alice_ws, "orders")
            closed = await http.post(
                "/api/v1/trade/close",
                headers={"Authorization": f"Bearer {alice}"},
                json={"order_id": opened.json()["order_id"]},
            )
            assert closed.status_code == 200, closed.text
            close_event = await _next(alice_ws, "orders")
        with pytest.raises(TimeoutError):
            await _next(bob_ws, "orders", timeout_s=0.5)

    assert event["data"]["event"] == "position_opened"
    assert event["data"]["order_id"] == opened.json()["order_id"]
    assert event["data"]["margin"] == "10.00"
    assert close_event["data"]["event"] == "position_closed"
    assert close_event["data"]["pnl"] == closed.json()["pnl"]


def _ws_auth(api_key: str, secret: str) -> str:
    """An ``auth`` op signed with an API key over the payload ``ws-auth`` (hmac alone)."""
    return _ws_auth_signed(
        api_key, lambda text: hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()
    )


def _ws_auth_signed(api_key: str, signature_of: Callable[[bytes], str]) -> str:
    """An ``auth`` op for ``api_key``, its signature ``signature_of`` the signed string."""
    stamp = str(time.time_ns() // 1_000_000)
    text = (stamp + api_key + "5000").encode() + b"ws-auth"
    fields = {"api_key": api_key, "timestamp": stamp, "recv_window": "5000"}
    return json.dumps({"op": "auth", **fields, "signature": signature_of(text)})


async def test_ws_when_signed_in_with_an_api_key_streams_orders_until_it_is_revoked(
    platform: Platform, database_url: str, redis_url: str
) -> None:
    token = await _token(platform, database_url)
    bearer_headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=platform.base_url, headers=bearer_headers) as http:
        made = await http.post(
            "/api/v1/account/api-keys", json={"label": "ws bot", "scopes": ["read"]}
        )
        key = made.json()
        await _publish(redis_url, platform, "BTC", 6_400_000, 6_401_000)
        auth = _ws_auth(key["api_key"], key["secret"])
        async with connect(_ws_url(platform)) as socket, connect(_ws_url(platform)) as replay:
            await socket.send(auth)
            signed_in = await _next(socket, "authenticated")
            await socket.send(json.dumps({"op": "subscribe", "channels": ["orders"]}))
            await _next(socket, "subscribed")
            await replay.send(auth)  # the same signature again: good once
            replayed = await _next(replay, "error")
            await replay.send(_ws_auth(key["api_key"], "0" * 64))
            forged = await _next(replay, "error")
            order = {"asset": "BTC", "side": "long", "margin": "10", "leverage": 2}
            opened = (await http.post("/api/v1/trade/create", json=order)).json()
            event = await _next(socket, "orders")
            await http.delete(f"/api/v1/account/api-keys/{key['key_id']}")
            stopped = await _next(socket, "error", timeout_s=5.0)

    assert made.status_code == 201, made.text
    assert signed_in["type"] == "authenticated"
    assert replayed["error"]["code"] == forged["error"]["code"] == "UNAUTHENTICATED"
    assert event["data"]["order_id"] == opened["order_id"]
    assert stopped["error"]["code"] == "UNAUTHENTICATED"


def _ws_auth_ed25519(api_key: str, private: Ed25519PrivateKey) -> str:
    """An ``auth`` op signed with an Ed25519 key over the payload ``ws-auth``."""
    return _ws_auth_signed(api_key, lambda text: base64.b64encode(private.sign(text)).decode())


async def test_ws_when_signed_in_with_an_ed25519_key_streams_orders_and_refuses_a_forgery(
    platform: Platform, database_url: str, redis_url: str
) -> None:
    token = await _token(platform, database_url)
    private = Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    bearer_headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=platform.base_url, headers=bearer_headers) as http:
        body = {"label": "ws bot", "scopes": ["read"], "public_key": pem.decode()}
        made = await http.post("/api/v1/account/api-keys", json=body)
        key = made.json()
        await _publish(redis_url, platform, "BTC", 6_400_000, 6_401_000)
        auth = _ws_auth_ed25519(key["api_key"], private)
        async with connect(_ws_url(platform)) as socket, connect(_ws_url(platform)) as other:
            await other.send(_ws_auth_ed25519(key["api_key"], Ed25519PrivateKey.generate()))
            forged = await _next(other, "error")
            await socket.send(auth)
            signed_in = await _next(socket, "authenticated")
            await socket.send(json.dumps({"op": "subscribe", "channels": ["orders"]}))
            await _next(socket, "subscribed")
            await other.send(auth)  # the same signature again: good once
            replayed = await _next(other, "error")
            order = {"asset": "BTC", "side": "long", "margin": "10", "leverage": 2}
            opened = (await http.post("/api/v1/trade/create", json=order)).json()
            event = await _next(socket, "orders")

    assert made.status_code == 201 and made.json()["kind"] == "ed25519", made.text
    assert signed_in["type"] == "authenticated"
    assert forged["error"]["code"] == replayed["error"]["code"] == "UNAUTHENTICATED"
    assert event["data"]["order_id"] == opened["order_id"]


async def test_ws_when_subscribed_to_prices_receives_quotes_as_they_move(
    platform: Platform, redis_url: str
) -> None:
    async with connect(_ws_url(platform)) as socket:
        channels = ["prices", "candles:ETH:5m"]
        await socket.send(json.dumps({"op": "subscribe", "channels": channels}))
        await _next(socket, "subscribed")
        await _publish(redis_url, platform, "ETH", 321_000, 321_100)
        seen: dict[str, Any] = {}
        while seen.get("asset") != "ETH" or seen.get("mark") != "3210.50":
            seen = (await _next(socket, "prices"))["data"]
        candle = (await _next(socket, "candles:ETH:5m"))["data"]

    assert {"bid", "ask", "mark", "ts"} <= set(seen)
    assert candle["time"] % 300 == 0  # stamped with its five-minute bucket
    assert float(candle["high"]) >= float(candle["close"]) >= float(candle["low"])
    assert float(seen["ask"]) > float(seen["bid"])  # the house spread on top of the feed's


async def test_ws_when_messages_are_bad_answers_error_frames_and_stays_open(
    platform: Platform,
) -> None:
    async with connect(_ws_url(platform)) as socket:
        answers = []
        for bad in ("not json", '{"op": "dance"}', '{"op": "subscribe", "channels": ["x"]}',
                    '{"op": "subscribe", "channels": ["orders"]}',
                    '{"op": "auth", "access_token": "v1.forged.token"}', "[" * 5000):  # fmt: skip
            await socket.send(bad)
            answers.append(await _next(socket, "error"))
        await socket.send(b'{"op": "ping"}')  # a binary frame
        answers.append(await _next(socket, "error"))
        await socket.send('{"op": "ping"}')
        pong = await _next(socket, "pong")

    assert [a["error"]["code"] for a in answers] == [
        "INVALID_MESSAGE",
        "INVALID_MESSAGE",
        "UNKNOWN_CHANNEL",
        "UNAUTHENTICATED",
        "UNAUTHENTICATED",
        "MESSAGE_TOO_LARGE",
        "INVALID_MESSAGE",
    ]
    assert pong == {"type": "pong"}


async def test_ws_when_open_sends_a_heartbeat_every_few_seconds_whatever_else_it_sends(
    platform: Platform,
) -> None:
    async with connect(_ws_url(platform)) as socket:
        await socket.send(json.dumps({"op": "subscribe", "channels": ["prices"]}))
        beats = [await _next(socket, "heartbeat") for _ in range(4)]
        gaps_s = [(b["ts"] - a["ts"]) / 1000 for a, b in itertools.pairwise(beats)]

    assert set(beats[0]) == {"type", "ts"}
    assert all(0 < gap < HEARTBEAT_S * 3 for gap in gaps_s), gaps_s


def test_prices_latest_when_quotes_arrived_lists_them_with_the_house_spread(
    platform: Platform,
) -> None:
    answer = httpx.get(f"{platform.base_url}/api/v1/prices/latest")
    assets = httpx.get(f"{platform.base_url}/api/v1/supportedAssets").json()

    assert answer.status_code == 200
    quotes = {q["asset"]: q for q in answer.json()}
    assert set(quotes) == {a["symbol"] for a in assets}
    assert all(float(q["ask"]) > float(q["bid"]) for q in quotes.values())
    assert {a["symbol"]: a["max_leverage"] for a in assets}["BTC"] == 100


async def test_ws_when_a_client_never_reads_the_others_still_get_every_newest_quote(
    platform: Platform, redis_url: str
) -> None:
    async with (
        connect(_ws_url(platform), max_queue=1) as stalled,
        connect(_ws_url(platform)) as reader,
    ):
        for socket in (stalled, reader):
            await socket.send(json.dumps({"op": "subscribe", "channels": ["prices"]}))
        await _next(reader, "subscribed")
        # The stalled client reads nothing from here on while quotes keep coming.
        for step in range(40):
            await _publish(redis_url, platform, "SOL", 150_000 + step * 10, 150_100 + step * 10)
        last: dict[str, Any] = {}
        while last.get("asset") != "SOL" or last.get("mark") != "150.440":
            last = (await _next(reader, "prices", timeout_s=10))["data"]
        await stalled.send(json.dumps({"op": "ping"}))
        pong = await _next(stalled, "pong", timeout_s=10)  # still served, its quotes conflated

    assert last["mark"] == "150.440"  # the newest quote: (150,390 + 150,490) / 2 ticks
    assert pong == {"type": "pong"}


async def test_ws_when_a_client_stops_reading_its_quotes_conflate_in_order_and_others_flow(
    platform: Platform, redis_url: str
) -> None:
    # A small receive buffer, a one-message queue and every candle channel besides prices: the
    # gateway's writes to this client back up past the kernel's buffers (megabytes), and its
    # transport asks it to stop writing to this client.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", int(platform.base_url.rsplit(":", 1)[1])))
    raw.setblocking(False)
    ticks = 5_000
    async with (
        connect(_ws_url(platform), sock=raw, max_queue=1) as stalled,
        connect(_ws_url(platform)) as reader,
    ):
        candles = [f"candles:XRP:{interval}" for interval in INTERVALS]
        for ws, channels in ((stalled, ["prices", *candles]), (reader, ["prices"])):
            await ws.send(json.dumps({"op": "subscribe", "channels": channels}))
            await _next(ws, "subscribed")
        client = aioredis.Redis.from_url(redis_url)
        start = int(time.time() * 1000)
        await publish_ticks(  # XRP's mark rises by one tick each time
            client,
            Streams(platform.prefix),
            [
                Tick("XRP", PriceTicks(600_000 + n * 2), PriceTicks(600_100 + n * 2), start + n)
                for n in range(ticks)
            ],
        )
        await client.aclose()
        mark = 600_050 + (ticks - 1) * 2
        final = f"{mark // 10**4}.{mark % 10**4:04d}"
        last: dict[str, Any] = {}
        while last.get("asset") != "XRP" or last.get("mark") != final:
            last = (await _next(reader, "prices", timeout_s=20))["data"]
        marks: list[str] = []
        while not marks or marks[-1] != final:  # now the stalled client reads its backlog
            data = (await _next(stalled, "prices", timeout_s=20))["data"]
            if data["asset"] == "XRP":
                marks.append(data["mark"])

    assert last["mark"] == final
    assert len(marks) < ticks  # some were replaced, unsent, by newer ones
    ours = [Decimal(m) for m in marks if Decimal(m) < 100]  # after the quote it started from
    assert ours == sorted(set(ours))  # each newer than the one before: never an older quote


async def test_ws_when_a_tick_comes_only_on_the_ticks_channel_quotes_it_by_the_engines_rules(
    platform: Platform, redis_url: str
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    streams = Streams(platform.prefix)
    async with connect(_ws_url(platform)) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channels": ["prices"]}))
        await _next(ws, "subscribed")
        now = int(time.time() * 1000)
        # The engine never sees these: the gateway alone quotes them. The first two jump past
        # the sanity band (held, then confirmed); the third is far off again (held, not shown).
        for n, bid in enumerate((20_000, 20_010, 90_000)):
            tick = Tick("DOGE", PriceTicks(bid), PriceTicks(bid + 20), now + n)
            await client.publish(streams.ticks, encode(TickMessage(tick)))
        ours: list[dict[str, Any]] = []
        with suppress(TimeoutError):
            while True:  # everything quoted from these ticks, until the gateway falls silent
                data = (await _next(ws, "prices", timeout_s=1.0))["data"]
                if data["asset"] == "DOGE" and data["ts"] >= now:
                    ours.append(data)
    await client.aclose()

    assert len(ours) == 1  # the held tick, then the confirmed one; the far one stays held
    seen = ours[0]
    doge = {s.symbol: s for s in DEFAULT_ASSETS}["DOGE"]
    half_spread = -(-20_010 * doge.spread_markup_bps // 20_000)  # rounded toward the house
    assert seen["mark"] == "0.20020"  # the confirming tick's mid, 5 decimals
    assert Decimal(seen["bid"]) == Decimal(20_010 - half_spread) / 10**doge.price_decimals


async def test_ws_when_a_tick_reaches_only_the_engine_shows_it_from_the_engines_log(
    platform: Platform, redis_url: str
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    async with connect(_ws_url(platform)) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channels": ["prices"]}))
        await _next(ws, "subscribed")
        now = int(time.time() * 1000)
        for n in range(2):  # confirmed past the band, as above
            tick = Tick("BNB", PriceTicks(50_000 + n), PriceTicks(50_100 + n), now + n)
            await client.xadd(Streams(platform.prefix).prices, {FIELD: encode(TickMessage(tick))})
        seen = (await _next(ws, "prices"))["data"]
        while seen["asset"] != "BNB" or seen["mark"] != "500.51":
            seen = (await _next(ws, "prices"))["data"]
    await client.aclose()

    assert seen["ts"] == now + 1


async def test_ws_when_the_user_signs_out_stops_their_orders_and_says_so(
    platform: Platform, database_url: str
) -> None:
    token = await _token(platform, database_url)
    async with connect(_ws_url(platform)) as ws:
        await ws.send(json.dumps({"op": "auth", "access_token": token}))
        await _next(ws, "authenticated")
        await ws.send(json.dumps({"op": "subscribe", "channels": ["orders", "prices"]}))
        assert (await _next(ws, "subscribed"))["channels"] == ["orders", "prices"]
        async with httpx.AsyncClient(base_url=platform.base_url) as http:
            out = await http.post(
                "/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
            )
        signed_out = await _next(ws, "error", timeout_s=5)
        await ws.send(json.dumps({"op": "subscribe", "channels": ["prices"]}))
        still = await _next(ws, "subscribed")
        await ws.send(json.dumps({"op": "subscribe", "channels": ["orders"]}))
        refused = await _next(ws, "error")

    assert out.status_code in (200, 204), out.text
    assert signed_out["error"]["code"] == "UNAUTHENTICATED"
    assert still["channels"] == ["prices"]  # public data goes on
    assert refused["error"]["code"] == "UNAUTHENTICATED"


def _error_frame(code: str, message: str) -> str:
    return '{"type":"error","error":{"code":"' + code + '","message":"' + message + '"}}'


async def test_ws_replies_when_read_as_sent_are_exactly_these_frames(
    platform: Platform, database_url: str
) -> None:
    token = await _token(platform, database_url)
    async with httpx.AsyncClient(base_url=platform.base_url) as http:
        me = await http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    user_id = me.json()["id"]
    sent: list[str | bytes] = [
        '{"op": "ping"}',
        "not json",
        '{"op": "dance"}',
        '{"op": "ping", "x": 1}',
        '{"op": "subscribe", "channels": "prices"}',
        '{"op": "subscribe", "channels": ["x", "candles:BTC:2m"]}',
        '{"op": "subscribe", "channels": ["orders"]}',
        '{"op": "auth", "access_token": "v1.forged.token"}',
        '{"op": "auth"}',
        "[" * 5000,
        b'{"op": "ping"}',
        '{"op": "subscribe", "channels": ["candles:BTC:1m", "candles:ETH:1h"]}',
        '{"op": "unsubscribe", "channels": ["candles:BTC:1m"]}',
        json.dumps({"op": "auth", "access_token": token}),
        '{"op": "subscribe", "channels": ["orders"]}',
    ]
    async with connect(_ws_url(platform)) as socket:
        answers = []
        for message in sent:
            await socket.send(message)
            answers.append(await _next_reply(socket))

    assert answers == [
        '{"type":"pong"}',
        _error_frame("INVALID_MESSAGE", "JSON is malformed: invalid character (byte 4)"),
        _error_frame("INVALID_MESSAGE", "Invalid enum value 'dance' - at `$.op`"),
        _error_frame("INVALID_MESSAGE", "Object contains unknown field `x`"),
        _error_frame("INVALID_MESSAGE", "Expected `array`, got `str` - at `$.channels`"),
        _error_frame("UNKNOWN_CHANNEL", "no such channel: x, candles:BTC:2m"),
        _error_frame("UNAUTHENTICATED", "sign in (session cookie or auth op) for orders"),
        _error_frame("UNAUTHENTICATED", "access token invalid, expired or revoked"),
        _error_frame("UNAUTHENTICATED", "access token invalid, expired or revoked"),
        _error_frame("MESSAGE_TOO_LARGE", "messages are at most 4096 bytes"),
        _error_frame("INVALID_MESSAGE", "send JSON text frames"),
        '{"type":"subscribed","channels":["candles:BTC:1m","candles:ETH:1h"]}',
        '{"type":"subscribed","channels":["candles:ETH:1h"]}',
        f'{{"type":"authenticated","user_id":{user_id}}}',
        '{"type":"subscribed","channels":["candles:ETH:1h","orders"],"seq":0}',
    ]
