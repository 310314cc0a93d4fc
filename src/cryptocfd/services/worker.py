"""Builds and runs the worker process from settings (``cryptocfd worker``): the journaling
consumer and the outbox sender, side by side, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal

from redis.asyncio import Redis

from cryptocfd.bus.streams import Streams
from cryptocfd.services.candle_writer import CandleWriter
from cryptocfd.services.journaling import Journaler
from cryptocfd.services.outbox_sender import OutboxSender, build_mailer
from cryptocfd.settings import Settings
from cryptocfd.store.database import create_pool
from cryptocfd.store.keyfiles import server_key

log = logging.getLogger(__name__)


async def run_worker(settings: Settings, stopping: asyncio.Event | None = None) -> None:
    """Journal and send emails until ``stopping`` is set (by a signal when not given)."""
    if stopping is None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
    redis = Redis.from_url(settings.redis_url)
    pool = await create_pool(settings.database_url)
    try:
        streams = Streams(settings.redis_prefix)
        journaler = Journaler(redis, streams, pool)
        sender = OutboxSender(pool, build_mailer(settings), server_key(settings))
        print("worker ready: journaling and sending email", flush=True)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(journaler.run(stopping), name="journal")
            tasks.create_task(sender.run(stopping), name="outbox")
            tasks.create_task(CandleWriter(redis, streams, pool).run(stopping), name="candles")
        log.info("worker stopped: %d records booked, %d emails sent", journaler.booked, sender.sent)
    finally:
        await pool.close()
        await redis.aclose()
