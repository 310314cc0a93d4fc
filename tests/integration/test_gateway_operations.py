"""Operations and docs: health, readiness, metrics, the offline API explorer, OpenAPI."""

from __future__ import annotations

import contextlib
import re
import uuid
from pathlib import Path

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from cryptocfd.bus.streams import Streams
from cryptocfd.gateway.app import create_app
from cryptocfd.gateway.web import dist_dir
from cryptocfd.store.keyfiles import server_key
from tests.integration.engine_harness import running_engine, store_in
from tests.integration.gateway_harness import (
    METRICS_TOKEN,
    PUBLIC_URL,
    Gateway,
    gateway_settings,
    newest_link,
    running_gateway,
    spend_link,
)
from tests.integration.servers import private_redis

ROUTES = {
    ("post", "/api/v1/auth/login"),
    ("get", "/api/v1/auth/verify"),
    ("post", "/api/v1/auth/verify"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/me"),
    ("post", "/api/v1/auth/mobile/pin"),
    ("delete", "/api/v1/auth/mobile/pin"),
    ("post", "/api/v1/auth/mobile/pin/login"),
    ("get", "/api/v1/balance"),
    ("post", "/api/v1/account/demo/reset"),
    ("post", "/api/v1/trade/create"),
    ("get", "/api/v1/trade/open"),
    ("post", "/api/v1/trade/close"),
    ("post", "/api/v1/trade/modify"),
    ("post", "/api/v1/trade/cancel"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
}


def sample(path: str) -> str:
    """A documented path with a sample value for each parameter (``{key_id}`` -> ``1``)."""
    return re.sub(r"\{\w+\}", "1", path)


async def test_openapi_when_fetched_documents_every_route_body_error_and_auth_scheme(
    gateway: Gateway,
) -> None:
    document = (await gateway.client.get("/openapi.json")).json()

    operations = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "delete"}
    }
    create = document["paths"]["/api/v1/trade/create"]["post"]
    schemas = document["components"]["schemas"]

    assert document["openapi"].startswith("3.1")
    assert operations >= ROUTES
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateOrderRequest"
    }
    sizes = schemas["CreateOrderRequest"]["properties"]
    # Either sizes an order (exactly one): each a decimal string or number, null for absent.
    assert sizes["margin"]["type"] == sizes["quantity"]["type"] == ["string", "number", "null"]
    assert "margin" not in schemas["CreateOrderRequest"].get("required", [])
    assert "ErrorBody" in schemas
    assert {"400", "401", "404", "422", "429", "503"} <= set(create["responses"])
    schemes = {"bearer", "session", "metrics", "apiKey"}
    assert set(document["components"]["securitySchemes"]) == schemes
    assert create["security"] == [{"apiKey": []}, {"bearer": []}, {"session": []}]
    keys = document["paths"]["/api/v1/account/api-keys"]["post"]
    assert keys["security"] == [{"bearer": []}, {"session": []}]  # a key cannot make keys
    assert "security" not in document["paths"]["/api/v1/auth/login"]["post"]


async def test_openapi_when_fetched_groups_every_operation_and_secures_exactly_the_private_ones(
    gateway: Gateway,
) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    operations = [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
    ]
    unauthenticated = {
        (method, path): (await gateway.client.request(method.upper(), sample(path))).status_code
        for method, path, _operation in operations
    }

    groups = [tag["name"] for tag in document["tags"]]
    assert {"auth", "trade", "account", "market", "operations"} <= set(groups)
    assert all(len(op["tags"]) == 1 and op["tags"][0] in groups for _m, _p, op in operations)
    assert "security" not in document["paths"]["/api/v1/supportedAssets"]["get"]
    for method, path, operation in operations:  # documented as private exactly when it is
        assert ("security" in operation) == (unauthenticated[(method, path)] == 401), path


async def test_docs_when_loaded_serves_the_explorer_from_the_build_under_a_same_origin_policy(
    gateway: Gateway,
) -> None:
    page = await gateway.client.get("/docs")
    policy = page.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    fetched = {source: await gateway.client.get(source) for source in sources}
    scripts = "".join(f.text for s, f in fetched.items() if s.endswith(".js"))
    built = {f"/assets/{path.name}" for path in (dist_dir() / "assets").iterdir()}

    assert page.status_code == 200
    assert page.text == (dist_dir() / "docs.html").read_text()  # the build's page, not a copy
    assert not re.findall(r"https?://", page.text)  # nothing named from the internet
    assert {s for s in sources if s != "/favicon.svg"} <= built
    assert [f.status_code for f in fetched.values()] == [200] * len(sources)
    assert '"/openapi.json"' in scripts  # the explorer reads this gateway's own document
    assert "swagger-ui" in scripts  # Swagger UI 5, bundled, not fetched
    assert "default-src 'self'; script-src 'self'; style-src 'self';" in policy
    assert "img-src 'self' data:;" in policy  # the stylesheet's icons; still no other origin
    assert "frame-ancestors 'none'" in policy
    assert "unsafe" not in policy
    assert not re.findall(r"https?://", policy)
    assert (await gateway.client.get("/docs/assets/swagger-ui-bundle.js")).status_code == 404


async def test_readyz_when_everything_answers_is_ok(gateway: Gateway) -> None:
    answer = await gateway.client.get("/readyz")

    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "checks": {"redis": "ok", "postgres": "ok", "engine": "ok"},
    }


async def test_metrics_when_requests_were_served_counts_them_by_route(gateway: Gateway) -> None:
    await gateway.client.get("/healthz")
    await gateway.client.get("/api/v1/balance")  # 401

    scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    text = (await gateway.client.get("/metrics", headers=scrape)).text

    healthz = r'cryptocfd_http_requests_total\{method="GET",route="/healthz",status="200"\} [1-9]'
    assert re.search(healthz, text)
    assert 'route="/api/v1/balance",status="401"' in text
    assert "cryptocfd_engine_round_trip_seconds_bucket" in text
    assert 'cryptocfd_stream_lag{group="engine"' in text


async def test_metrics_when_asked_without_the_token_are_401(gateway: Gateway) -> None:
    anonymous = await gateway.client.get("/metrics")
    wrong = await gateway.client.get("/metrics", headers={"Authorization": "Bearer wrong"})

    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "UNAUTHENTICATED"
    assert wrong.status_code == 401


async def test_metrics_when_no_token_is_set_are_not_found_off_this_machine(
    redis_client: Redis, redis_url: str, database_url: str, streams: Streams, tmp_path: Path
) -> None:
    async with running_gateway(
        redis_client, redis_url, database_url, streams, tmp_path, metrics_token=None
    ) as gateway:  # its client is 203.0.113.7, not loopback
        answer = await gateway.client.get("/metrics")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "NOT_FOUND"


async def test_verify_when_the_engine_is_down_is_503_and_the_link_still_works_after(
    redis_client: Redis, redis_url: str, database_url: str, tmp_path: Path
) -> None:
    streams = Streams(f"test:{uuid.uuid4().hex[:12]}:")  # no engine serves this prefix yet
    settings = gateway_settings(
        redis_url, database_url, streams, tmp_path / "state", engine_timeout_s=0.3
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    email = f"early-{uuid.uuid4().hex[:8]}@example.com"
    try:
        async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as c:
            alive = await c.get("/healthz")
            ready = await c.get("/readyz")
            await c.post("/api/v1/auth/login", json={"email": email})
            link = await newest_link(database_url, email, server_key(settings))
            down = await spend_link(c, link)
            async with running_engine(redis_client, streams, store_in(tmp_path)):
                up = await spend_link(c, link)
                ready_after = await c.get("/readyz")
    finally:
        keys = [k async for k in redis_client.scan_iter(match=f"{streams.prefix}*")]
        if keys:
            await redis_client.delete(*keys)

    assert alive.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"]["engine"].startswith("unavailable")
    assert ready.json()["checks"]["redis"] == "ok"
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "ENGINE_UNAVAILABLE"
    assert down.headers["Retry-After"] == "1"
    assert up.status_code == 200, up.text
    assert up.json()["user"]["email"] == email
    assert ready_after.status_code == 200


async def test_private_route_when_redis_goes_away_answers_503_not_500(
    database_url: str, tmp_path: Path
) -> None:
    with private_redis(tmp_path / "redis", aof=False) as url:
        redis = Redis.from_url(url)
        streams = Streams("outage:")
        platform = running_gateway(redis, url, database_url, streams, tmp_path)
        gateway = await platform.__aenter__()
        try:
            headers = await gateway.sign_in(f"outage-{uuid.uuid4().hex[:8]}@example.com")
            before = await gateway.client.get("/api/v1/balance", headers=headers)
            await redis.shutdown(nosave=True)
            during = await gateway.client.get("/api/v1/balance", headers=headers)
        finally:
            # The engine stops with the Redis it serves (a supervisor restarts it).
            with contextlib.suppress(RedisError):
                await platform.__aexit__(None, None, None)
            await redis.aclose()

    assert before.status_code == 200
    assert during.status_code == 503
    assert during.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert during.headers["Retry-After"] == "1"


async def test_options_when_a_path_serves_several_methods_allows_every_documented_one(
    gateway: Gateway,
) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    allowed = {}
    for path in document["paths"]:
        answer = await gateway.client.options(sample(path))
        allowed[path] = set(answer.headers["allow"].split(", "))
    refused = await gateway.client.put("/api/v1/trade/close")

    assert allowed["/api/v1/trade/close"] == {"GET", "POST", "OPTIONS"}
    for path, item in document["paths"].items():
        documented = {method.upper() for method in item} | {"OPTIONS"}
        # HEAD is GET without the body (RFC 9110), served undocumented beside a GET.
        assert allowed[path] - {"HEAD"} == documented, path
        assert "HEAD" not in allowed[path] or "GET" in documented, path
    assert set(refused.headers["allow"].split(", ")) == allowed["/api/v1/trade/close"]


async def test_openapi_when_create_names_neither_side_nor_type_says_so_and_the_server_refuses(
    gateway: Gateway,
) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    rule = document["components"]["schemas"]["CreateOrderRequest"]["anyOf"]
    headers = await gateway.sign_in(f"sides-{uuid.uuid4().hex[:8]}@example.com")
    body = {"asset": "BTC", "margin": "10", "leverage": 2}
    answers = [
        await gateway.client.post("/api/v1/trade/create", headers=headers, json=body | extra)
        for extra in ({}, {"side": None, "type": None})
    ]

    assert sorted(tuple(option["required"]) for option in rule) == [("side",), ("type",)]
    assert all(option["properties"] for option in rule)  # null does not count as given
    assert [a.status_code for a in answers] == [400, 400]
    assert {a.json()["error"]["code"] for a in answers} == {"INVALID_REQUEST"}
