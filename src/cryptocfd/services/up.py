"""``cryptocfd up``: the embedded default, migrations, then every process under one supervisor.

The processes come from ``PROCESSES``, in start order. A name that this build's ``cryptocfd``
command does not know (the caller passes the subcommands it has) is skipped with a note, and so
are migrations when there is no ``cryptocfd migrate``: the list is written once for the whole
platform and each process joins as its subcommand lands.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Collection, Coroutine
from typing import Any, TextIO

from cryptocfd.services.backfill import backfill_with_progress
from cryptocfd.services.embedded import Services, embedded_default
from cryptocfd.services.supervisor import Child, Supervisor, cli_child, stop_on_signals
from cryptocfd.settings import Settings
from cryptocfd.store.supervision import view_path

PROCESSES = ("engine", "gateway", "worker", "feed")
MIGRATE = "migrate"


def child_environment(services: Services) -> dict[str, str]:
    """This process's environment, pointed at the resolved servers."""
    return {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "PYTHONUNBUFFERED": "1",  # so their lines reach our prefixed output as they happen
    }


def _describe(services: Services, out: TextIO) -> None:
    postgres = "private (embedded)" if services.private_postgres else "configured"
    redis = "private (embedded, AOF on)" if services.private_redis else "configured"
    out.write(f"up: PostgreSQL {postgres}: {_hide_password(services.database_url)}\n")
    out.write(f"up: Redis {redis}: {_hide_password(services.redis_url)}\n")


def _hide_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{host}"


def seeds_history(settings: Settings) -> bool:
    """Whether ``up`` seeds an empty candle store: in dev, for the simulated feed it matches."""
    return settings.env == "dev" and settings.feed == "simulated" and settings.seed_days > 0


async def seed_history(settings: Settings, services: Services, out: TextIO) -> int | None:
    """Backfill ``seed_days`` of history when no candle is stored; rows written, None if not.

    It runs before the processes start, so the first chart has its history and the live feed's
    first minute follows the seeded last one (see docs/feeds.md, "A first start").
    """
    out.flush()  # the progress bar writes to ``out`` through a console of its own
    started = time.monotonic()
    rows = await backfill_with_progress(
        services.database_url,
        settings.seed_days,
        only_when_empty=True,
        out=out,
        title=f"up: seeding {settings.seed_days} days of history",
        announce=f"up: the candle store is empty: seeding {settings.seed_days} days of history",
    )
    if rows is None:
        out.write("up: candles are stored already; not seeding\n")
    else:
        seconds = time.monotonic() - started
        out.write(f"up: seeded {rows:,} one-minute candles in {seconds:.1f} s; rollups current\n")
    return rows


async def unless_stopped(work: Coroutine[Any, Any, object], stopping: asyncio.Event) -> bool:
    """Run ``work`` to its end, or cancel it once ``stopping`` is set; whether it ended."""
    task = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(stopping.wait())
    await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False
    task.result()
    return True


def children(names: Collection[str], engines: int) -> list[Child]:
    """The supervised processes: ``engines`` engines (the first to start leads, the others are
    its hot standbys), then the rest; each engine is its own child, restarted on its own."""
    out = []
    for name in names:
        out.append(cli_child(name))
        if name == "engine":  # "engine2", ...: as wide as "gateway", so the prefixes line up
            out.extend(Child(f"engine{n}", cli_child(name).argv) for n in range(2, engines + 1))
    return out


async def run_up(
    settings: Settings, known: Collection[str], out: TextIO | None = None, engines: int = 2
) -> int:
    """Run the platform until SIGINT or SIGTERM; the exit code."""
    out = out or sys.stdout
    async with embedded_default(settings) as services:
        _describe(services, out)
        names = [name for name in PROCESSES if name in known]
        for name in PROCESSES:
            if name not in known:
                out.write(f"up: skipping {name}: this build has no `cryptocfd {name}`\n")
        supervisor = Supervisor(
            children(names, engines),
            env=child_environment(services),
            out=out,
            view=view_path(settings.state_path),
        )
        stop_on_signals(supervisor)
        if MIGRATE in known:
            code = await supervisor.run_once(cli_child(MIGRATE))
            if code is None:
                return 0
            if code != 0:
                out.write(f"up: migrations failed (exit code {code}); not starting\n")
                return 1
        else:
            out.write(f"up: skipping migrations: this build has no `cryptocfd {MIGRATE}`\n")
        if MIGRATE in known and seeds_history(settings):
            seeding = seed_history(settings, services, out)
            if not await unless_stopped(seeding, supervisor.stopping):
                out.write("up: stopped while seeding; the next start keeps what was written\n")
                return 0
        running = asyncio.create_task(supervisor.run())
        base = settings.public_url.rstrip("/")
        out.write(f"up: dashboard    {base}/\nup: API explorer {base}/docs\n")
        out.flush()
        return await running
