"""A gateway app against real Redis, real PostgreSQL and an engine served in-process."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import asyncpg
import httpx
from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import PriceTicks
from cryptocfd.core.tick import Tick
from cryptocfd.gateway.app import create_app
from cryptocfd.services.engine.service import EngineService
from cryptocfd.settings import Settings
from cryptocfd.store.database import asyncpg_dsn
from cryptocfd.store.keyfiles import server_key
from cryptocfd.store.outbox import open_body
from tests.integration.engine_harness import publish_tick, running_engine, store_in
from tests.waiting import until

T = TypeVar("T")
PUBLIC_URL = "http://127.0.0.1:8000"
METRICS_TOKEN = secrets.token_urlsafe(16)
VERIFY = "/api/v1/auth/verify"
Client = httpx.AsyncClient
# What a browser sends with a form posted from a page of the same origin.
SAME_ORIGIN = {"Origin": PUBLIC_URL, "Sec-Fetch-Site": "same-origin"}
_FIELD = re.compile(r"<input type='hidden' name='(\w+)' value='([^']*)'>")


@dataclass
class Gateway:
    """A running gateway and what a test needs beside it."""

    client: Client
    engine: EngineService
    settings: Settings
    redis: Redis
    database_url: str
    streams: Streams
    app: object

    def client_from(self, ip: str) -> Client:
        """Another client of the same app, calling from ``ip`` (close it after use)."""
        transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))  # type: ignore[arg-type]
        return httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL)

    async def tick(self, asset: str, bid: int, ask: int) -> None:
        """Publish a fresh feed tick and wait until the engine quotes it."""
        ts = time.time_ns() // 1_000_000
        await publish_tick(
            self.redis, self.streams, Tick(asset, PriceTicks(bid), PriceTicks(ask), ts)
        )
        state = self.engine.engine.state.assets[asset]
        await until(lambda: state.quote is not None and state.quote.ts == ts)

    async def sql(self, query: str, *args: object) -> list[asyncpg.Record]:
        """Run ``query`` on the test database."""
        connection = await asyncpg.connect(asyncpg_dsn(self.database_url))
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()

    async def link_for(self, email: str) -> str:
        """The path of the newest sign-in link emailed to ``email`` (from the outbox, opened
        with this gateway's server key, as the worker opens it: no worker runs here)."""
        return await newest_link(self.database_url, email, server_key(self.settings))

    async def verify_json(self, link: str, client: Client | None = None) -> httpx.Response:
        """Spend ``link``'s token as an API client: ``POST /auth/verify`` with JSON."""
        return await spend_link(client or self.client, link)

    async def confirm(self, link: str, client: Client | None = None) -> httpx.Response:
        """Open ``link``'s confirmation page and press its button, as a browser does."""
        return await confirm_link(client or self.client, link)

    async def sign_in(self, email: str) -> dict[str, str]:
        """Sign ``email`` in through the link, as an API client; return bearer headers."""
        answer = await self.client.post("/api/v1/auth/login", json={"email": email})
        assert answer.status_code == 202, answer.text
        tokens = await self.verify_json(await self.link_for(email))
        assert tokens.status_code == 200, tokens.text
        return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


def token_of(link: str) -> str:
    """The token a sign-in link carries."""
    return link.split("token=", 1)[1]


async def spend_link(client: Client, link: str) -> httpx.Response:
    """``POST /auth/verify {token}`` as an API client (``client`` has the base URL)."""
    return await client.post(
        VERIFY, json={"token": token_of(link)}, headers={"Accept": "application/json"}
    )


def confirmation_fields(page: httpx.Response) -> dict[str, str]:
    """The hidden fields of a confirmation page's form."""
    assert page.status_code == 200, page.text
    return {name: html.unescape(value) for name, value in _FIELD.findall(page.text)}


async def confirm_link(client: Client, link: str) -> httpx.Response:
    """GET the confirmation page of ``link``, then POST its form from the same origin."""
    fields = confirmation_fields(await client.get(link.removeprefix(PUBLIC_URL)))
    origin = {**SAME_ORIGIN, "Origin": str(client.base_url).rstrip("/")}
    return await client.post(VERIFY, data=fields, headers=origin)


async def newest_link(database_url: str, email: str, key: bytes) -> str:
    """The path of the newest sign-in link queued for ``email`` in the email outbox, opened
    with the server key ``key``."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        sealed = await connection.fetchval(
            "SELECT sealed_body FROM email_outbox WHERE recipient = $1 ORDER BY id DESC LIMIT 1",
            email,
        )
    finally:
        await connection.close()
    assert sealed is not None, f"no unsent email to {email}"
    match = re.search(r"https?://\S+", open_body(key, email, sealed))
    assert match is not None
    return match.group(0).removeprefix(PUBLIC_URL)


def gateway_settings(
    redis_url: str, database_url: str, streams: Streams, state_dir: Path, **overrides: object
) -> Settings:
    """Settings for a test gateway: dev, its own key prefix and state directory."""
    values: dict[str, object] = {
        "env": "dev",
        "redis_url": redis_url,
        "redis_prefix": streams.prefix,
        "database_url": database_url,
        "state_dir": str(state_dir),
        "public_url": PUBLIC_URL,
        "rate_per_ip_per_min": 100_000,
        "rate_per_user_per_min": 100_000,
        "engine_timeout_s": 5.0,
        "metrics_token": METRICS_TOKEN,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running_gateway(
    redis: Redis,
    redis_url: str,
    database_url: str,
    streams: Streams,
    tmp_path: Path,
    **overrides: object,
) -> AsyncIterator[Gateway]:
    """An engine and a gateway app with a client; both stop when the block ends.

    The app runs on the test's own event loop (httpx's ASGI transport), beside the engine.
    """
    settings = gateway_settings(redis_url, database_url, streams, tmp_path / "state", **overrides)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))  # type: ignore[arg-type]
    async with (
        running_engine(redis, streams, store_in(tmp_path)) as engine,
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client,
    ):
        yield Gateway(client, engine, settings, redis, database_url, streams, app)


@contextlib.asynccontextmanager
async def held(context: contextlib.AbstractAsyncContextManager[T]) -> AsyncIterator[T]:
    """Enter and exit ``context`` in one task of its own.

    pytest-asyncio runs a fixture's setup and teardown in different tasks, and the app's
    lifespan (anyio) must be left in the task that entered it.
    """
    entered: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    leave = asyncio.Event()

    async def hold() -> None:
        async with context as value:
            entered.set_result(value)
            await leave.wait()

    task = asyncio.create_task(hold())
    waiting: list[asyncio.Future[object]] = [task, entered]  # type: ignore[list-item]
    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    if task.done() and not entered.done():
        task.result()  # raises why it could not start
    try:
        yield entered.result()
    finally:
        leave.set()
        await task
