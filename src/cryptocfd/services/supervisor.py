"""Child processes kept running: output prefixed by name, restarts with backoff, graceful stop.

Each child runs in a process group of its own, so a Ctrl-C in the terminal reaches only the
supervisor, which then stops every child in order: SIGTERM to the group, SIGKILL after a timeout.
A child that exits while nobody asked it to is started again after a pause that doubles with each
quick failure, up to a cap, and falls back to the shortest once a run has lasted. It never gives
up: what made a process fail (Redis down, a database restarting) usually comes back, and the
other processes keep serving meanwhile (trading answers 503 while the engine is down; market
data, history and sign-in do not need it). What is up and what is waiting for its next try is
written to the view file (``store.supervision``) that ``/readyz`` reports from.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import msgspec

from cryptocfd.core.clock import WALL, Clock
from cryptocfd.store.supervision import ProcessView, SupervisorView, remove_view, write_view

LINE_LIMIT = 1 << 20
PUMP_DRAIN_S = 5.0


@dataclass(frozen=True)
class Child:
    """A process to run: its name (the output prefix) and its command line."""

    name: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class RestartPolicy:
    """How to keep trying: backoff between restarts, what counts as a run that lasted, stop
    timeout."""

    first_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    fast_run_s: float = 10.0  # a run this long resets the backoff to ``first_backoff_s``
    stop_timeout_s: float = 10.0  # between SIGTERM and SIGKILL


class Supervisor:
    """Runs children until ``stopping`` is set, restarting each one whenever it exits."""

    def __init__(
        self,
        children: Sequence[Child],
        *,
        env: Mapping[str, str],
        policy: RestartPolicy | None = None,
        out: TextIO | None = None,
        view: Path | None = None,
        clock: Clock = WALL,
    ) -> None:
        self.children = tuple(children)
        self.env = dict(env)
        self.policy = policy or RestartPolicy()
        self.out = out or sys.stdout
        self.stopping = asyncio.Event()
        self.view = view
        self.clock = clock
        self.states = {c.name: ProcessView(c.name, running=False) for c in self.children}
        self._width = max((len(c.name) for c in self.children), default=0)

    def say(self, name: str, line: str) -> None:
        """Write one line of output under ``name``'s prefix."""
        self.out.write(f"{name:<{self._width}} | {line.rstrip()}\n")
        self.out.flush()

    async def run(self) -> int:
        """Keep every child running until stopped; 0 then."""
        try:
            async with asyncio.TaskGroup() as group:
                for child in self.children:
                    group.create_task(self._keep_running(child))
        finally:
            if self.view is not None:
                remove_view(self.view)
        return 0

    async def run_once(self, child: Child) -> int | None:
        """Run ``child`` to completion; its exit code, or None when stopped before it finished."""
        self._width = max(self._width, len(child.name))
        return await self._run(child)

    async def _keep_running(self, child: Child) -> None:
        backoff = self.policy.first_backoff_s
        while not self.stopping.is_set():
            started = self.clock.monotonic_ns()
            code = await self._run(child)
            if code is None:
                return
            if self.clock.monotonic_ns() - started >= round(self.policy.fast_run_s * 1e9):
                backoff = self.policy.first_backoff_s
            self.say(child.name, f"exited with code {code}; restarting in {backoff:.3g} s")
            state = self.states[child.name]
            next_start_ms = self.clock.now_ms() + int(backoff * 1000)
            self._publish(
                msgspec.structs.replace(state, last_exit_code=code, next_start_ms=next_start_ms)
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), backoff)
            backoff = min(backoff * 2, self.policy.max_backoff_s)

    def _publish(self, state: ProcessView) -> None:
        """Note ``state`` and write the view for ``/readyz``."""
        self.states[state.name] = state
        if self.view is None:
            return
        view = SupervisorView(self.clock.now_ms(), list(self.states.values()), os.getpid())
        try:
            write_view(self.view, view)
        except OSError as exc:  # a full disk must not stop the supervising
            self.say(state.name, f"could not write {self.view}: {exc}")

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
        if child.name in self.states:  # ``run_once`` children are not in the view
            state = self.states[child.name]
            restarts = state.restarts + (state.last_exit_code is not None)
            self._publish(
                msgspec.structs.replace(state, running=True, restarts=restarts, next_start_ms=None)
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
        if child.name in self.states:
            self._publish(msgspec.structs.replace(self.states[child.name], running=False))
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
