"""Builds and runs the worker process from settings (``cryptocfd worker``): the journaling
consumer (which also queues the margin-call emails), the outbox sender and the candle writer,
side by side, until SIGTERM or SIGINT.

Each consumer waits out PostgreSQL and Redis being away on its own. A consumer that ends any
other way (a bug, a record it cannot read) takes the whole process down, with a non-zero exit:
a worker quietly missing one of its consumers would look alive to its supervisor while the
journal, the ledger or the emails stood still.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Coroutine
from typing import Any

import asyncpg
from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.services.candle_writer import CandleWriter
from cryptocfd.services.journaling import Journaler
from cryptocfd.services.outbox_sender import OutboxSender, build_mailer
from cryptocfd.services.retrying import TRANSIENT, Retry
from cryptocfd.settings import Settings
from cryptocfd.store.database import create_pool
from cryptocfd.store.keyfiles import server_key
from cryptocfd.store.margin_call_mail import MarginCallMail

log = logging.getLogger(__name__)

STOP_S = 10.0  # how long the other consumers get to finish once one has died


class ConsumerDied(Exception):  # noqa: N818 - a death, not an error in its code
    """A consumer of the worker ended while nobody asked it to."""


async def run_worker(settings: Settings, stopping: asyncio.Event | None = None) -> None:
    """Journal, write candles and send emails until ``stopping`` is set (by a signal when not
    given); raise ``ConsumerDied`` when one of them ends on its own."""
    if stopping is None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
    redis = Redis.from_url(settings.redis_url)
    pool = await _connect(settings.database_url, stopping)
    if pool is None:
        await redis.aclose()
        return
    try:
        streams = Streams(settings.redis_prefix)
        key = server_key(settings)
        mail = MarginCallMail(key, settings.public_url)
        journaler = Journaler(redis, streams, pool, mail=mail)
        sender = OutboxSender(pool, build_mailer(settings), key)
        print("worker ready: journaling and sending email", flush=True)
        await run_consumers(
            {
                "journal": journaler.run(stopping),
                "outbox": sender.run(stopping),
                "candles": CandleWriter(redis, streams, pool).run(stopping),
            },
            stopping,
        )
        log.info("worker stopped: %d records booked, %d emails sent", journaler.booked, sender.sent)
    finally:
        await pool.close()
        await redis.aclose()


async def _connect(database_url: str, stopping: asyncio.Event) -> asyncpg.Pool | None:
    """The pool, once PostgreSQL lets us in; None when stopped first."""
    retry = Retry("connecting to PostgreSQL")
    while not stopping.is_set():
        try:
            return await create_pool(database_url)
        except TRANSIENT as exc:
            if await retry.failed(exc, stopping):
                break
    return None


async def run_consumers(
    consumers: dict[str, Coroutine[Any, Any, None]], stopping: asyncio.Event
) -> None:
    """Run ``consumers`` until ``stopping`` is set and they have all returned.

    One that returns or raises before then is a death: ``stopping`` is set, so the others
    finish their current step and return; any still running after ``STOP_S`` are cancelled,
    and ``ConsumerDied`` names the one that died.
    """
    tasks = {asyncio.create_task(work, name=name): name for name, work in consumers.items()}
    try:
        done, running = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # our caller gave up on us: take the consumers along
        for task in tasks:
            task.cancel()
        raise
    died = None if stopping.is_set() else next(iter(done))
    stopping.set()
    if running:
        _, late = await asyncio.wait(running, timeout=STOP_S)
        for task in late:
            log.error("consumer %s did not stop within %.0f s; cancelling it", tasks[task], STOP_S)
            task.cancel()
        if late and (await asyncio.wait(late, timeout=STOP_S))[1]:
            # One that ignores cancellation would hold the process up for ever, alive to its
            # supervisor and doing nothing: leave at once instead.
            log.critical("a consumer ignored its cancellation; exiting")
            os._exit(1)
    errors = {task: task.exception() for task in tasks if not task.cancelled()}
    if died is not None:
        error = errors.get(died)
        how = "died" if error is not None else "stopped on its own"
        raise ConsumerDied(f"the {tasks[died]} consumer {how}") from error
    for task, error in errors.items():
        if error is not None:  # failed while the others were stopping: still a failure
            raise ConsumerDied(f"the {tasks[task]} consumer died while stopping") from error
