"""``cryptocfd worker`` and ``cryptocfd reconcile`` as real processes: the worker journals and
sends (to the log, with no SMTP host), and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from redis.asyncio import Redis

from cryptocfd.bus.messages import FIELD
from cryptocfd.bus.streams import Streams
from cryptocfd.core.money import Cents
from cryptocfd.store.outbox import enqueue_email
from cryptocfd.trading.commands import Deposit, OpenAccount
from tests.integration.engine_harness import engine_and_client, store_in
from tests.integration.journal_world import T0, caught_up, own_pool
from tests.integration.postgres import private_postgres
from tests.waiting import says, tail, until

KEY = b"the worker test's server key"


def _worker_env(redis_url: str, streams: Streams, database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "CRYPTOCFD_REDIS_PREFIX": streams.prefix,
        "DATABASE_URL": database_url,
        "CRYPTOCFD_ENV": "dev",
        "CRYPTOCFD_SECRET_KEY": KEY.decode(),
    }
    env.pop("SMTP_HOST", None)
    return env


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cryptocfd.cli", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _reconcile(env: dict[str, str], wait_s: int) -> subprocess.CompletedProcess[bytes]:
    argv = [sys.executable, "-m", "cryptocfd.cli", "reconcile", "--wait", str(wait_s)]
    return await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, check=False)


async def _wait_for_text(
    log: Path, text: str, process: subprocess.Popen[bytes], timeout_s: float = 10.0
) -> None:
    await until(
        lambda: says(log, text, process), timeout_s, why=lambda: f"{text!r} in:\n{tail(log)}"
    )


async def test_worker_process_when_running_journals_sends_and_stops_cleanly_on_sigterm(
    redis_client: Redis, streams: Streams, redis_url: str, own_database_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "CRYPTOCFD_REDIS_PREFIX": streams.prefix,
        "DATABASE_URL": own_database_url,
        "CRYPTOCFD_ENV": "dev",
        "CRYPTOCFD_SECRET_KEY": KEY.decode(),
    }
    env.pop("SMTP_HOST", None)
    log = tmp_path / "worker.log"
    async with (
        engine_and_client(redis_client, streams, store_in(tmp_path)) as (_service, client),
        own_pool(own_database_url) as pool,
    ):
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "cryptocfd.cli", "worker"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            await _wait_for_text(log, "worker ready", worker)
            await client.send(OpenAccount("open", T0, 42, Cents(123_456)))
            async with pool.acquire() as conn, conn.transaction():
                await enqueue_email(
                    conn, KEY, "t@example.com", "Sign in", "https://x/verify?token=abc"
                )
            await caught_up(pool, redis_client, streams)
            await _wait_for_text(log, "https://x/verify?token=abc", worker)
            reconcile = await _reconcile(env, 5)
        finally:
            worker.send_signal(signal.SIGTERM)
            status = await asyncio.to_thread(worker.wait, 20)
        sent = await pool.fetchval("SELECT count(*) FROM email_outbox WHERE sent_at IS NOT NULL")

    assert status == 0, log.read_text()
    assert sent == 1
    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
    assert b"no differences (1 accounts" in reconcile.stdout


async def test_worker_log_when_an_email_holds_control_characters_prints_them_escaped(
    streams: Streams, redis_url: str, own_database_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "CRYPTOCFD_REDIS_PREFIX": streams.prefix,
        "DATABASE_URL": own_database_url,
        "CRYPTOCFD_ENV": "dev",
        "CRYPTOCFD_SECRET_KEY": KEY.decode(),
    }
    env.pop("SMTP_HOST", None)
    log = tmp_path / "worker.log"
    async with own_pool(own_database_url) as pool:
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "cryptocfd.cli", "worker"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            await _wait_for_text(log, "worker ready", worker)
            async with pool.acquire() as conn, conn.transaction():
                await enqueue_email(conn, KEY, "t@example.com", "Hi \x1b[2J\x07", "line\r\nforged")
            await _wait_for_text(log, "Hi \\x1b[2J\\x07", worker)
        finally:
            worker.send_signal(signal.SIGTERM)
            await asyncio.to_thread(worker.wait, 20)

    text = log.read_bytes()
    assert b"\x1b" not in text
    assert b"\x07" not in text
    assert b"\r" not in text
    assert b"line\\x0d\\x0aforged" in text


async def test_worker_when_postgres_crashes_and_restarts_catches_up_and_reconciles(
    redis_client: Redis, streams: Streams, redis_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    async with (
        private_postgres() as postgres,
        engine_and_client(redis_client, streams, store_in(tmp_path)) as (_service, client),
    ):
        env = _worker_env(redis_url, streams, postgres.url)
        worker = _start_worker(env, log)
        try:
            await _wait_for_text(log, "worker ready", worker)
            async with own_pool(postgres.url) as pool:
                await client.send(OpenAccount("open", T0, 42, Cents(123_456)))
                await caught_up(pool, redis_client, streams)
            await postgres.crash()
            for n in range(50):  # trading goes on while the database is down
                await client.send(Deposit(f"dep-{n}", T0 + n, 42, Cents(100)))
            await asyncio.sleep(2)  # long enough for every consumer to have failed
            await postgres.start_refusing()  # as it does while it recovers
            await asyncio.sleep(3)
            await postgres.stop()
            await postgres.start()
            async with own_pool(postgres.url) as pool:
                for n in range(50, 60):
                    await client.send(Deposit(f"dep-{n}", T0 + n, 42, Cents(100)))
                async with pool.acquire() as conn, conn.transaction():
                    await enqueue_email(conn, KEY, "t@example.com", "After", "https://x/after")
                await _wait_for_text(log, "https://x/after", worker, timeout_s=40)
                await caught_up(pool, redis_client, streams)
                reconcile = await _reconcile(env, 20)
                booked = await pool.fetchval("SELECT count(*) FROM journal_records")
        finally:
            worker.send_signal(signal.SIGTERM)
            status = await asyncio.to_thread(worker.wait, 20)

    assert status == 0, log.read_text()[-5000:]
    assert booked == 61
    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
    assert b"no differences (1 accounts" in reconcile.stdout


async def test_worker_when_a_task_dies_exits_non_zero_for_the_supervisor_to_restart(
    redis_client: Redis, streams: Streams, redis_url: str, own_database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    worker = _start_worker(_worker_env(redis_url, streams, own_database_url), log)
    try:
        await _wait_for_text(log, "worker ready", worker)
        # A record nothing can read: the journal cannot book past it, so its task dies.
        await redis_client.xadd(streams.records, {FIELD: b"not a record"})
        status = await asyncio.to_thread(worker.wait, 30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    assert status != 0, log.read_text()[-5000:]
    assert "journal" in log.read_text()


DRIVER = """
import asyncio, sys
from cryptocfd.services import worker

worker.STOP_S = 0.5

async def dies() -> None:
    await asyncio.sleep(0.2)
    raise RuntimeError("a bug")

async def deaf(stopping: asyncio.Event, hears_stop: bool) -> None:
    # Swallows its cancellation, as a consumer caught in a connect can; a loop that checks
    # the stop (every consumer's does) still ends, and one that does not is left behind.
    while not (hears_stop and stopping.is_set()):
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            pass

async def main() -> None:
    stopping = asyncio.Event()
    await worker.run_consumers(
        {"dies": dies(), "deaf": deaf(stopping, sys.argv[1] == "hears")}, stopping
    )

asyncio.run(main())
"""


async def test_worker_when_a_consumer_dies_exits_even_if_another_swallows_its_cancellation() -> (
    None
):
    runs = [
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", DRIVER, hears],
            capture_output=True,
            check=False,
            timeout=20,
        )
        for hears in ("hears", "deaf")
    ]

    assert runs[0].returncode == 1, runs[0].stderr
    assert b"ConsumerDied: the dies consumer died" in runs[0].stderr
    assert runs[1].returncode == 1, runs[1].stderr
    assert b"a consumer ignored its cancellation; exiting" in runs[1].stderr
