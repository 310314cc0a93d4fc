"""Waiting for what a test can observe, instead of sleeping and hoping it has happened.

A probe is called until it returns something truthy, which the wait returns; after
``timeout_s`` the wait raises ``TimeoutError`` saying what did not happen. A probe may raise to
give up early (a child process that died will never become ready).
"""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar, overload

T = TypeVar("T")

Why = str | Callable[[], str]


def _timed_out(why: Why, timeout_s: float) -> TimeoutError:
    said = why() if callable(why) else why
    return TimeoutError(f"not within {timeout_s:g} s: {said or 'the condition'}")


def eventually(
    probe: Callable[[], T | None], timeout_s: float = 10.0, *, poll_s: float = 0.02, why: Why = ""
) -> T:
    """Call ``probe`` until it returns something truthy, and return that (blocking callers)."""
    deadline = time.monotonic() + timeout_s
    while not (result := probe()):
        if time.monotonic() > deadline:
            raise _timed_out(why, timeout_s)
        time.sleep(poll_s)
    return result


@overload
async def until(
    probe: Callable[[], Awaitable[T | None]],
    timeout_s: float = ...,
    *,
    poll_s: float = ...,
    why: Why = ...,
) -> T: ...


@overload
async def until(
    probe: Callable[[], T | None], timeout_s: float = ..., *, poll_s: float = ..., why: Why = ...
) -> T: ...


async def until(
    probe: Callable[[], object],
    timeout_s: float = 10.0,
    *,
    poll_s: float = 0.01,
    why: Why = "",
) -> object:
    """Call ``probe`` (plain or async) until it returns something truthy, and return that."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = probe()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise _timed_out(why, timeout_s)
        await asyncio.sleep(poll_s)


def says(log: Path, text: str, process: subprocess.Popen[bytes], count: int = 1) -> bool:
    """A probe: whether a child's ``log`` holds ``text`` (``count`` times); it raises once the
    child has exited without, as it never will then."""
    if log.read_bytes().count(text.encode()) >= count:
        return True
    if process.poll() is not None:
        raise RuntimeError(f"exited with code {process.returncode} before {text!r}:\n{tail(log)}")
    return False


def tail(log: Path) -> str:
    """The end of a child's log, for a failure message."""
    return log.read_text(errors="replace")[-3000:]


def room_in_window(window_s: int, needed_s: float) -> float:
    """Seconds to wait until ``needed_s`` fit inside one wall-clock window of ``window_s`` (0 when
    they fit now): the gateway's rate counters key on the wall clock, in its own process too, so
    a test that must not straddle two windows starts just after the next one begins."""
    left = window_s - time.time() % window_s
    return 0.0 if left >= needed_s else left + 0.05
