"""The gateway as a real process: schemathesis against its own OpenAPI document, signed in
(every answer documented, none a 5xx), and its JSON logs."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cryptocfd.bus.messages import FIELD, TickMessage, encode
from cryptocfd.bus.streams import Streams
from cryptocfd.trading.assets import DEFAULT_ASSETS
from cryptocfd.trading.commands import Tick
from tests.integration.platform_process import Platform, running_platform

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Signing out would revoke the token every other call uses; its rules have their own tests.
EXAMPLES = int(os.environ.get("CRYPTOCFD_FUZZ_EXAMPLES", "30"))
SKIPPED = {("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/auth/mobile/pin")}


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
            redis_url, database_url, prefix, state, CRYPTOCFD_RATE_PER_IP_PER_MIN="100000"
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
    import asyncio  # noqa: PLC0415

    from tests.integration.gateway_harness import newest_link  # noqa: PLC0415

    email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
    httpx.post(f"{platform.base_url}/api/v1/auth/login", json={"email": email}).raise_for_status()
    link = asyncio.run(newest_link(database_url, email)).removeprefix(platform.base_url)
    answer = httpx.get(f"{platform.base_url}{link}", headers={"Accept": "application/json"})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_api_when_fuzzed_signed_in_answers_as_documented_and_never_5xx(
    platform: Platform, bearer: dict[str, str]
) -> None:
    schema = schemathesis.openapi.from_url(f"{platform.base_url}/openapi.json")
    checked = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # a part of the document schemathesis cannot read
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def call(case: Any) -> None:
            case.call_and_validate(headers=bearer, checks=CHECKS)

        call()
        checked.append(operation.label)

    assert len(checked) >= 15, checked


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
    time.sleep(0.2)  # let the gateway flush its log line

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
