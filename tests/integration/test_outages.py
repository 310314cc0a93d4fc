"""What the gateway says while what it depends on is away or behind: ``/readyz`` degrades with
the reason, reads that need an absent server are 503 with ``Retry-After``, never a 500."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.messages import FIELD, Record, encode
from cryptocfd.bus.streams import JOURNAL_GROUP, Streams
from cryptocfd.core.clock import WALL
from cryptocfd.gateway.routes.ops import JOURNAL_BEHIND_READY
from cryptocfd.store.supervision import ProcessView, SupervisorView, view_path, write_view
from cryptocfd.trading.rejections import RejectCode, Rejection
from tests.integration.gateway_harness import (
    METRICS_TOKEN,
    Gateway,
    running_gateway,
)
from tests.integration.postgres import private_postgres
from tests.integration.private_redis import engine_on_own_redis, until_ready

SCRAPE = {"Authorization": f"Bearer {METRICS_TOKEN}"}


async def test_readyz_when_the_journal_falls_behind_the_log_is_503_saying_by_how_much(
    gateway: Gateway,
) -> None:
    records = gateway.streams.records
    await gateway.redis.xgroup_create(records, JOURNAL_GROUP, id="$", mkstream=True)
    keeping_up = await gateway.client.get("/readyz")
    refused = Rejection(RejectCode.UNKNOWN_ACCOUNT, "no such account")
    async with gateway.redis.pipeline(transaction=False) as pipe:
        for n in range(JOURNAL_BEHIND_READY + 1):  # what a stopped worker leaves unbooked
            pipe.xadd(
                records, {FIELD: encode(Record("command", f"r{n}", 0, refused, applied=False))}
            )
        await pipe.execute()

    behind = await gateway.client.get("/readyz")
    metrics = (await gateway.client.get("/metrics", headers=SCRAPE)).text

    assert keeping_up.status_code == 200
    assert "journal" not in keeping_up.json()["checks"]
    assert behind.status_code == 503
    assert behind.json()["checks"]["journal"] == (
        f"behind: {JOURNAL_BEHIND_READY + 1} records not yet booked"
    )
    assert behind.json()["checks"]["engine"] == "ok"
    pattern = rf'cryptocfd_consumer_behind{{group="journal",stream="{records}"}} (\S+)'
    found = re.search(pattern, metrics)
    assert found is not None, metrics
    assert float(found.group(1)) == JOURNAL_BEHIND_READY + 1


async def test_reads_when_postgres_is_down_are_503_with_retry_after_and_work_again_after(
    redis_client: Redis, redis_url: str, streams: Streams, tmp_path: Path
) -> None:
    async with (
        private_postgres() as postgres,
        running_gateway(redis_client, redis_url, postgres.url, streams, tmp_path) as gateway,
    ):
        headers = await gateway.sign_in("history@example.com")
        before = await gateway.client.get("/api/v1/trade/closed", headers=headers)
        await postgres.crash()
        down = [
            await gateway.client.get(path, headers=headers)
            for path in ("/api/v1/trade/closed", "/api/v1/trade/closed", "/api/v1/auth/me")
        ]
        ready_down = await gateway.client.get("/readyz")
        await postgres.start()
        after = await gateway.client.get("/api/v1/trade/closed", headers=headers)

    assert before.status_code == 200, before.text
    for answer in down:
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert answer.headers["Retry-After"] == "1"
    assert ready_down.status_code == 503
    assert ready_down.json()["checks"]["postgres"].startswith("unavailable")
    assert after.status_code == 200, after.text


async def test_readyz_when_the_supervisor_has_a_process_down_is_503_naming_it(
    gateway: Gateway,
) -> None:
    path = view_path(gateway.settings.state_path)
    all_up = [ProcessView("engine", running=True), ProcessView("worker", running=True)]
    write_view(path, SupervisorView(WALL.now_ms(), all_up, os.getpid()))
    up = await gateway.client.get("/readyz")
    engine_down = ProcessView(
        "engine", running=False, restarts=4, last_exit_code=3, next_start_ms=WALL.now_ms() + 8_000
    )
    write_view(path, SupervisorView(WALL.now_ms(), [engine_down, all_up[1]], os.getpid()))
    down = await gateway.client.get("/readyz")
    write_view(path, SupervisorView(WALL.now_ms(), [engine_down], pid=2**22 + 1))  # no such
    left_by_the_dead = await gateway.client.get("/readyz")

    assert up.status_code == 200
    assert "processes" not in up.json()["checks"]
    assert down.status_code == 503
    said = down.json()["checks"]["processes"]
    assert re.fullmatch(r"engine down \(exit code 3, 4 restarts, next try in [78]\.\d s\)", said)
    assert left_by_the_dead.status_code == 200  # a killed supervisor's file says nothing


async def test_gateway_after_a_redis_restart_answers_every_request_without_5xx(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        engine_on_own_redis(database_url, tmp_path, "redis-restart") as own,
        own.gateway() as c,
    ):
        headers = await own.sign_in(c, "restart")
        # Concurrent requests fill the gateway's pool with connections, all of which the
        # restart cuts; SIGKILL, as a crash does (AOF keeps what was acknowledged).
        before = await asyncio.gather(
            *(c.get("/api/v1/balance", headers=headers) for _ in range(40))
        )
        own.server.kill()
        own.server.start()
        await until_ready(c)  # the outage itself may answer 503s; after it, none
        after = []
        for _ in range(10):
            after += await asyncio.gather(
                *(
                    c.get(path, headers=headers)
                    for _ in range(10)
                    for path in ("/api/v1/balance", "/api/v1/trade/open", "/api/v1/auth/me")
                )
            )

    assert [a.status_code for a in before] == [200] * 40
    failures = [(a.request.url.path, a.status_code, a.text) for a in after if a.status_code >= 500]
    assert failures == []
