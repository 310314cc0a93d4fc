"""Child processes kept running: output prefixed by name, restarts with backoff, graceful stop.

Each child runs in a process group of its own, so a Ctrl-C in the terminal reaches only the
supervisor, which then stops every child in order: SIGTERM to the group, SIGKILL after a timeout.
A child that exits while nobody asked it to is started again after a pause that doubles with each
quick failure; after too many quick failures in a row the supervisor gives up on it loudly and
stops everything, since a platform missing one of its processes would only look like it works.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

LINE_LIMIT = 1 << 20
PUMP_DRAIN_S = 5.0


@dataclass(frozen=True)
class Child:
    """A process to run: its name (the output prefix) and its command line."""

    name: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class RestartPolicy:
    """How hard to try: backoff between restarts, what counts as failing fast, stop timeout."""

    first_backoff_s: float = 0.5
    max_backoff_s: float = 15.0
    fast_run_s: float = 10.0  # a child that dies sooner than this has failed fast
    max_fast_failures: int = 5  # in a row, then give up
    stop_timeout_s: float = 10.0  # between SIGTERM and SIGKILL


class Supervisor:
    """Runs children until ``stopping`` is set or one of them keeps failing."""

    def __init__(
        self,
        children: Sequence[Child],
        *,
        env: Mapping[str, str],
        policy: RestartPolicy | None = None,
        out: TextIO | None = None,
    ) -> None:
        self.children = tuple(children)
        self.env = dict(env)
        self.policy = policy or RestartPolicy()
        self.out = out or sys.stdout
        self.stopping = asyncio.Event()
        self.gave_up: list[str] = []
        self._width = max((len(c.name) for c in self.children), default=0)

    def say(self, name: str, line: str) -> None:
        """Write one line of output under ``name``'s prefix."""
        self.out.write(f"{name:<{self._width}} | {line.rstrip()}\n")
        self.out.flush()

    async def run(self) -> int:
        """Keep every child running until stopped; 0 after a requested stop, 1 after giving up."""
        async with asyncio.TaskGroup() as group:
            for child in self.children:
                group.create_task(self._keep_running(child))
        return 1 if self.gave_up else 0

    async def run_once(self, child: Child) -> int | None:
        """Run ``child`` to completion; its exit code, or None when stopped before it finished."""
        self._width = max(self._width, len(child.name))
        return await self._run(child)

    async def _keep_running(self, child: Child) -> None:
        backoff = self.policy.first_backoff_s
        fast_failures = 0
        while not self.stopping.is_set():
            started = time.monotonic()
            code = await self._run(child)
            if code is None:
                return
            if time.monotonic() - started < self.policy.fast_run_s:
                fast_failures += 1
            else:
                fast_failures, backoff = 0, self.policy.first_backoff_s
            if fast_failures >= self.policy.max_fast_failures:
                self._give_up(child, code, fast_failures)
                return
            self.say(child.name, f"exited with code {code}; restarting in {backoff:.3g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), backoff)
            backoff = min(backoff * 2, self.policy.max_backoff_s)

    def _give_up(self, child: Child, code: int, failures: int) -> None:
        self.say(
            child.name,
            f"GIVING UP: exited with code {code}, {failures} times in a row within "
            f"{self.policy.fast_run_s:.0f} s of starting; stopping everything",
        )
        self.gave_up.append(child.name)
        self.stopping.set()

    async def _run(self, child: Child) -> int | None:
        """Run one incarnation of ``child``: its exit code, or None when we stopped it."""
        process = await asyncio.create_subprocess_exec(
            *child.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
            process_group=0,
            limit=LINE_LIMIT,
        )
        pump = asyncio.create_task(self._pump(child.name, process))
        exited = asyncio.create_task(process.wait())
        stop = asyncio.create_task(self.stopping.wait())
        await asyncio.wait({exited, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        stopped = not exited.done()
        if stopped:
            await self._stop(child.name, process)
        code = await exited
        with contextlib.suppress(TimeoutError):  # a grandchild may still hold the pipe open
            await asyncio.wait_for(pump, PUMP_DRAIN_S)
        return None if stopped else code

    async def _pump(self, name: str, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while True:
            try:
                raw = await process.stdout.readline()
            except ValueError:
                self.say(name, "[a line too long to show was dropped]")
                continue
            if not raw:
                return
            self.say(name, raw.decode(errors="replace"))

    async def _stop(self, name: str, process: asyncio.subprocess.Process) -> None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self.policy.stop_timeout_s)
        except TimeoutError:
            self.say(
                name, f"still running {self.policy.stop_timeout_s:.0f} s after SIGTERM: SIGKILL"
            )
            _signal_group(process.pid, signal.SIGKILL)
            await process.wait()
        self.say(name, f"stopped (exit code {process.returncode})")


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def stop_on_signals(supervisor: Supervisor) -> None:
    """Make SIGINT and SIGTERM stop ``supervisor`` gracefully rather than kill this process."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, supervisor.stopping.set)


def cli_child(name: str) -> Child:
    """The child that runs ``cryptocfd NAME`` with this interpreter."""
    return Child(name, (sys.executable, "-m", "cryptocfd.cli", name))
