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

from cryptocfd.bus.streams import Streams
from cryptocfd.store.outbox import enqueue_email
from cryptocfd.trading.commands import OpenAccount
from tests.integration.engine_harness import engine_and_client, store_in
from tests.integration.journal_world import T0, caught_up, own_pool
from tests.waiting import says, tail, until

KEY = b"the worker test's server key"


async def _wait_for_text(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    await until(lambda: says(log, text, process), why=lambda: f"{text!r} in:\n{tail(log)}")


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
            await client.send(OpenAccount("open", T0, 42, 123_456))
            async with pool.acquire() as conn, conn.transaction():
                await enqueue_email(
                    conn, KEY, "t@example.com", "Sign in", "https://x/verify?token=abc"
                )
            await caught_up(pool, redis_client, streams)
            await _wait_for_text(log, "https://x/verify?token=abc", worker)
            reconcile = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "cryptocfd.cli", "reconcile", "--wait", "5"],
                env=env,
                capture_output=True,
                check=False,
            )
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
