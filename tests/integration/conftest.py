"""Fixtures for the integration tests: a key prefix of the test's own on the shared Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from tests.integration.engine_process import kill_leftovers
from tests.integration.gateway_harness import Gateway, held, running_gateway
from tests.integration.postgres import fresh_database
from tests.integration.servers import free_port
from tests.integration.smtp_inbox import Inbox


@pytest.fixture(autouse=True, scope="module")
def no_engine_outlives_its_module() -> Iterator[None]:
    """Kill the engine processes a module's tests started and could not stop
    (``kill_leftovers``); per module, since some modules share one platform among tests."""
    yield
    kill_leftovers()


@pytest.fixture
def streams(redis_url: str) -> Iterator[Streams]:
    """Stream names under a fresh prefix; the test's keys are deleted afterwards."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    yield Streams(prefix)
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    """An asyncio Redis client for the test."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated PostgreSQL database of this run's own, dropped at the end."""
    with fresh_database() as url:
        yield url


@pytest.fixture
async def gateway(
    redis_client: Redis, redis_url: str, database_url: str, streams: Streams, tmp_path: Path
) -> AsyncIterator[Gateway]:
    """A gateway with an engine behind it, on the run's database and the test's key prefix."""
    async with held(
        running_gateway(redis_client, redis_url, database_url, streams, tmp_path)
    ) as gw:
        yield gw


@pytest.fixture
def own_database_url() -> Iterator[str]:
    """A migrated database of the test's own, for tests that count every row in a table."""
    with fresh_database() as url:
        yield url


@pytest.fixture
async def own_gateway(
    redis_client: Redis, redis_url: str, own_database_url: str, streams: Streams, tmp_path: Path
) -> AsyncIterator[Gateway]:
    """A gateway on a database of the test's own: its journal and outbox hold only the
    test's own records and emails."""
    async with held(
        running_gateway(redis_client, redis_url, own_database_url, streams, tmp_path)
    ) as gw:
        yield gw


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a free port, and what it received."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
